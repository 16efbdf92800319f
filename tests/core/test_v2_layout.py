"""keras.applications' ResNetV2 layout: a `_2_pad` in every block, and the weight files saved
before it still load."""

from pathlib import Path

import numpy as np

import keras_resnet

LEGACY = Path(__file__).resolve().parents[1] / "data" / "before_v2_pads"


def test_v2_weight_files_saved_before_every_block_had_its_pad_still_load():
    """tests/data/before_v2_pads: a tiny v2 net saved by keras_resnet at commit 7087bf6, when
    only strided v2 blocks had a `_2_pad` layer (keras.applications has one in every block)."""
    reference = np.load(LEGACY / "tiny_v2.npz")
    model = keras_resnet.ResNet(
        "bottleneck",
        (2, 2),
        filters=8,
        variant="v2",
        classes=3,
        input_shape=(32, 32, 3),
        classifier_activation=None,
        name="tiny_v2",
    )
    assert {"conv2_block1_2_pad", "conv2_block2_2_pad", "conv3_block1_2_pad"} <= {
        layer.name for layer in model.layers
    }
    for path in ("tiny_v2.weights.h5", "tiny_v2.keras"):
        model.set_weights([np.zeros_like(w) for w in model.get_weights()])
        keras_resnet.weights.load_weights(model, LEGACY / path)
        np.testing.assert_allclose(
            model(reference["x"], training=False).numpy(), reference["logits"], rtol=0, atol=1e-6
        )
    saved = keras_resnet.load_model(LEGACY / "tiny_v2.keras")  # the old architecture, as saved
    np.testing.assert_allclose(
        saved(reference["x"], training=False).numpy(), reference["logits"], rtol=0, atol=1e-6
    )
