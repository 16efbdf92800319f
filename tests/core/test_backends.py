"""The core on every Keras backend installed (JAX, PyTorch), each in a fresh process with
TensorFlow blocked from import, against the TensorFlow backend on the same weights: the variants
and options, channels_first, `weights=` files, `.keras` files, and `fit` with our optimizers."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import backend_worker
import keras
import numpy as np
import pytest
from helpers import assert_naming, images, randomise_vectors

import keras_resnet
from keras_resnet.layers import BatchNormalization

BACKENDS = [name for name in ("jax", "torch") if importlib.util.find_spec(name)]
TINY = dict(
    stage_sizes=(1, 1, 1, 1),
    filters=8,
    classes=5,
    input_shape=(32, 32, 3),
    classifier_activation=None,
)
CASES = [
    *[
        dict(id=f"{block}-{variant}", kwargs=dict(block=block, variant=variant, **TINY))
        for block in ("basic", "bottleneck")
        for variant in ("v1.5", "v1", "v1d", "v2")
    ],
    dict(
        id="options",
        kwargs=dict(
            block="bottleneck",
            se_ratio=0.25,
            drop_path_rate=0.1,
            groups=2,
            width_per_group=16,
            zero_init_residual=True,
            include_preprocessing=True,
            **TINY,
        ),
    ),
    dict(id="plain", kwargs=dict(block="basic", plain=True, **TINY)),
    dict(
        id="resnet20",
        builder="ResNet20",
        kwargs=dict(input_shape=(32, 32, 3), classifier_activation=None),
    ),
    dict(
        id="resnet18",
        builder="ResNet18",
        kwargs=dict(input_shape=(32, 32, 3), classes=5, classifier_activation=None),
    ),
]
WORKER = Path(backend_worker.__file__)
# count_params() of every named model at 32x32 with 3 classes, on TensorFlow.
REFERENCE_PARAMS = {
    "resnet18": 11187651,
    "resnet34": 21303235,
    "resnet50": 23567299,
    "resnet101": 42611651,
    "resnet152": 58301379,
    "resnet200": 62806979,
    "resnet20": 270643,
    "resnet32": 465971,
    "resnet44": 661299,
    "resnet56": 856627,
    "resnet110": 1735603,
    "resnet1202": 19510451,
    "resnext50_32x4d": 23054275,
    "resnext101_32x8d": 86951363,
    "resnext101_64x4d": 81615299,
    "wide_resnet50_2": 66908611,
    "wide_resnet101_2": 124981699,
}


def relative_difference(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def run_worker(folder, backend, what):
    env = {**os.environ, "KERAS_BACKEND": backend}
    result = subprocess.run(
        [sys.executable, str(WORKER), str(folder), what],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(np.load(folder / f"{backend}-{what}.npz")), json.load(
        open(folder / f"{backend}-{what}.json")
    )


@pytest.fixture(scope="module")
def tensorflow_results(tmp_path_factory, fixtures_dir):
    """The weights, data and files the workers read, and TensorFlow's own results on them:
    (folder, the models' own outputs, the results, the report); `reference` adds `fit`'s."""
    assert keras.backend.backend() == "tensorflow"
    folder = tmp_path_factory.mktemp("backends")
    x = images(batch=2, size=32)
    np.save(folder / "x.npy", x)
    direct = {}
    for index, case in enumerate(CASES):
        model = randomise_vectors(backend_worker.build(case), seed=index)
        case["weights"] = f"{case['id']}.weights.h5"
        model.save_weights(folder / case["weights"])
        direct[case["id"]] = model(x, training=False).numpy()
    (folder / "cases.json").write_text(json.dumps(CASES))
    (folder / "fixtures.json").write_text(
        json.dumps(
            {
                name: {
                    "weights": str(fixtures_dir / f"{name}.safetensors"),
                    "npz": str(fixtures_dir / f"{name}.npz"),
                }
                for name in ("resnet18", "resnet50")
            }
        )
    )
    resnet20 = randomise_vectors(
        keras_resnet.ResNet20(input_shape=(32, 32, 3), classifier_activation=None)
    )
    resnet20.save(folder / "tensorflow.keras")
    keras_resnet.save_torchvision(
        randomise_vectors(keras_resnet.ResNet18(classes=5, input_shape=(32, 32, 3))),
        folder / "resnet18.safetensors",
    )
    results, report = {}, {}
    backend_worker.run_cases(folder, results, report)
    results["tensorflow.keras/logits"] = resnet20(x, training=False).numpy()
    backend_worker.fixtures(folder, results, ["resnet50"])  # run_cases did resnet18
    for name in ("resnet18", "resnet50"):
        results[f"fixture-{name}/torchvision"] = np.load(fixtures_dir / f"{name}.npz")["logits"]
    return folder, direct, results, report


@pytest.fixture(scope="module")
def reference(tensorflow_results):
    """`tensorflow_results` with TensorFlow's `fit` steps, for the workers to compare theirs."""
    folder, _, results, report = tensorflow_results
    rng = np.random.default_rng(0)
    np.savez(
        folder / "fit.npz",
        x=rng.uniform(0, 1, (16, 16, 16, 3)).astype("float32"),
        y=rng.integers(0, 3, 16),
    )
    keras.utils.set_random_seed(0)
    keras_resnet.ResNet(
        "basic", (1, 1, 1), stem="cifar", filters=8, classes=3, input_shape=(16, 16, 3)
    ).save_weights(folder / "fit.weights.h5")
    # The other backends train with Keras' BatchNormalization computation; TensorFlow's fused
    # kernel rounds differently, and AdamW's per-element steps (g / sqrt(v)) turn that into
    # full-size steps where a gradient element is near 0: four steps of this tiny net ended
    # 1.3e-3 apart in loss. Like is compared with like here; test_models' fused test compares
    # the fused kernel with Keras' computation.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BatchNormalization, "_fusable", lambda self, inputs, mask: False)
        backend_worker.fit(folder, results, report)
    return tensorflow_results


# The reference half of the backend comparisons (35 s of TensorFlow work), run with them.
@pytest.mark.process
def test_tensorflow_reference_loads_what_it_saved(tensorflow_results):
    _, direct, results, _ = tensorflow_results
    for case in CASES:  # weights= of a .weights.h5 file reproduces the model that wrote it
        np.testing.assert_array_equal(results[f"{case['id']}/logits"], direct[case["id"]])


# A worker process per backend (JAX compiles every op of eager calls: 80 s for its 24 models).
@pytest.mark.process
@pytest.mark.parametrize("backend", BACKENDS)
def test_core_on_backend_matches_tensorflow(reference, backend):
    folder, _, expected, expected_report = reference
    results, report = run_worker(folder, backend, "cases")
    assert report["backend"] == backend and report["tensorflow_imported"] is False
    assert 'pip install "keras-resnet-family[train]"' in report["tools_error"]
    assert_naming(
        report["synchronized_bn_error"],
        "`synchronized_bn` must be False",
        f"on the '{backend}' backend",
        "only under tf.distribute",
        "synchronized_bn=True",
    )
    # Every variant and option, channels last and first, to 1e-5 of the logits' scale.
    for case in CASES:
        for layout in ("logits", "channels_first"):
            key = f"{case['id']}/{layout}"
            assert relative_difference(results[key], expected[key]) < 1e-5, key
    for layout in (
        "channels_last",
        "channels_first",
    ):  # torchvision's logits, to the fixtures' 1e-4
        assert (
            np.abs(
                results[f"fixture-resnet18/{layout}"] - expected["fixture-resnet18/torchvision"]
            ).max()
            < 1e-4
        )
    assert (
        relative_difference(results["tensorflow.keras/logits"], expected["tensorflow.keras/logits"])
        < 1e-5
    )
    assert (
        relative_difference(
            results["resnet18.safetensors/logits"], expected["resnet18.safetensors/logits"]
        )
        < 1e-5
    )
    # Four SGD / AdamW steps from the same weights and data: the same losses and kernels.
    for name in ("SGD", "AdamW"):
        np.testing.assert_allclose(
            report[f"fit_{name}_loss"], expected_report[f"fit_{name}_loss"], rtol=1e-4
        )
        assert (
            relative_difference(results[f"fit_{name}/kernel"], expected[f"fit_{name}/kernel"])
            < 1e-4
        )
    assert report["round_trip_max_abs_diff"] < 1e-6 and report["round_trip_optimizer"] == "SGD"


@pytest.mark.process  # the backend harness's 15 s TensorFlow reference, which the workers share
def test_channels_first_on_tensorflow_matches_channels_last(tensorflow_results):
    """TensorFlow's CPU kernels run NCHW too (Keras 3.15 transposes where TF has no kernel)."""
    _, _, results, _ = tensorflow_results
    for case in CASES:
        key = case["id"]
        assert (
            relative_difference(results[f"{key}/channels_first"], results[f"{key}/logits"]) < 1e-5
        ), key
    for name in ("resnet18", "resnet50"):
        for layout in ("channels_last", "channels_first"):
            assert (
                np.abs(
                    results[f"fixture-{name}/{layout}"] - results[f"fixture-{name}/torchvision"]
                ).max()
                < 1e-4
            )


@pytest.mark.process
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_named_model_on_backend(tensorflow_results, backend):
    folder, _, expected, _ = tensorflow_results
    results, report = run_worker(folder, backend, "all-models")
    assert report["params"] == REFERENCE_PARAMS and report["shapes"] == {
        name: [1, 3] for name in keras_resnet.MODELS
    }
    for layout in ("channels_last", "channels_first"):
        assert (
            np.abs(
                results[f"fixture-resnet50/{layout}"] - expected["fixture-resnet50/torchvision"]
            ).max()
            < 1e-4
        )


@pytest.mark.slow
def test_reference_params_are_tensorflows(tensorflow_results):
    report = {}
    backend_worker.all_models(tensorflow_results[0], {}, report)
    assert report["params"] == REFERENCE_PARAMS
