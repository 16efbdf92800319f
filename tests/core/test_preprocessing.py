"""Preprocessing: `preprocess_input`'s modes, the ImagePreprocessing layer inside a model
(`include_preprocessing`), and `decode_predictions`."""

import keras
import numpy as np
import pytest
from helpers import naming

import keras_resnet


def test_preprocess_input_modes():
    pixels = np.array([[[0.0, 127.5, 255.0]]], "float32")
    np.testing.assert_allclose(
        keras_resnet.preprocess_input(pixels.copy(), mode="tf"), [[[-1, 0, 1]]]
    )
    np.testing.assert_allclose(
        keras_resnet.preprocess_input(pixels.copy(), mode="caffe"),
        [[[255 - 103.939, 127.5 - 116.779, -123.68]]],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        keras_resnet.preprocess_input(pixels.copy(), mode="torch"),
        [[[(0 - 0.485) / 0.229, (0.5 - 0.456) / 0.224, (1 - 0.406) / 0.225]]],
        rtol=1e-6,
    )
    with pytest.raises(
        ValueError, match=naming("`mode`", "['torch', 'caffe', 'tf']", "mode='rgb'")
    ):
        keras_resnet.preprocess_input(pixels, mode="rgb")


@pytest.mark.parametrize("variant, mode", [("v1.5", "torch"), ("v1", "caffe"), ("v2", "tf")])
def test_include_preprocessing_takes_raw_pixels(tmp_path, variant, mode):
    kwargs = dict(variant=variant, input_shape=(32, 32, 3), classes=3)
    plain = keras_resnet.ResNet18(**kwargs)
    raw = keras_resnet.ResNet18(include_preprocessing=True, **kwargs)
    raw.set_weights(plain.get_weights())
    assert raw.get_layer("preprocessing").mode == mode
    pixels = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3)).astype("uint8")
    expected = plain(keras_resnet.preprocess_input(pixels, mode=mode), training=False).numpy()
    np.testing.assert_allclose(
        raw(pixels.astype("float32"), training=False).numpy(), expected, atol=1e-6
    )
    raw.save(tmp_path / "raw.keras")
    assert keras.saving.load_model(tmp_path / "raw.keras").get_layer("preprocessing").mode == mode


def test_decode_predictions():
    preds = np.zeros((2, 1000), "float32")
    preds[0, [1, 207]] = [0.7, 0.2]
    preds[1, 999] = 1.0
    decoded = keras_resnet.decode_predictions(preds, top=2)
    assert decoded[0] == [
        ("n01443537", "goldfish", pytest.approx(0.7)),
        ("n02099601", "golden retriever", pytest.approx(0.2)),
    ]
    assert decoded[1][0] == ("n15075141", "toilet tissue", 1.0)
    with pytest.raises(
        ValueError, match=naming("`preds`", "(batch, 1000)", "received shape (2, 10)")
    ):
        keras_resnet.decode_predictions(np.zeros((2, 10)))
