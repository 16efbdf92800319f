"""Every Keras dtype policy, global or per model (`dtype=`, `head_dtype=`), on every backend:
build, predict, fit two steps, `.keras` round trip; logits agree with float32 to the policy's
precision. The process test runs this file on JAX and PyTorch, each in its own process."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_resnet

# Max |logits - float32 logits| / max |float32 logits|, measured on this tiny net: bfloat16
# keeps 8 significant bits (2^-8 = 3.9e-3 a rounding), float16 11 (4.9e-4), over a dozen layers.
POLICIES = {
    "float32": 1e-6,
    "bfloat16": 5e-2,
    "float16": 5e-3,
    "mixed_bfloat16": 5e-2,
    "mixed_float16": 5e-3,
}
BACKENDS = [backend for backend in ("jax", "torch") if backend != keras.backend.backend()]


def tiny(**options):
    """A 3-stage basic ResNet at 16x16 with a softmax-free head and BatchNorm statistics that
    matter (shifted away from their initial zeros and ones)."""
    model = keras_resnet.ResNet(
        "basic",
        (1, 1, 1),
        stem="cifar",
        filters=8,
        classes=3,
        input_shape=(16, 16, 3),
        classifier_activation=None,
        **options,
    )
    return model


@pytest.fixture(scope="module")
def reference():
    keras.utils.set_random_seed(0)
    model = tiny()
    rng = np.random.default_rng(1)
    weights = [
        w + rng.uniform(0.05, 0.2, w.shape).astype(w.dtype) if w.ndim == 1 else w
        for w in model.get_weights()
    ]
    model.set_weights(weights)
    x = np.random.default_rng(2).uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
    return weights, x, keras.ops.convert_to_numpy(model(x, training=False))


@pytest.fixture
def global_policy():
    """Sets Keras' global dtype policy for one test and puts the previous one back."""
    previous = keras.config.dtype_policy()
    yield keras.config.set_dtype_policy
    keras.config.set_dtype_policy(previous)


def check(model, policy, reference, tmp_path):
    weights, x, expected = reference
    compute = keras.dtype_policies.get(policy).compute_dtype
    mixed = policy.startswith("mixed_")
    assert model.get_layer("conv1_conv").compute_dtype == compute
    assert model.get_layer("conv2_block1_1_bn").compute_dtype == compute
    head = model.get_layer("predictions")
    assert head.compute_dtype == ("float32" if mixed else compute)  # float32 under mixed ones
    model.set_weights(weights)
    logits = np.asarray(keras.ops.convert_to_numpy(model(x, training=False)), "float32")
    difference = np.abs(logits - expected).max() / np.abs(expected).max()
    assert difference <= POLICIES[policy], difference
    model.compile(keras.optimizers.SGD(1e-3), "sparse_categorical_crossentropy")
    history = model.fit(x, np.arange(4) % 3, batch_size=2, epochs=1, verbose=0)  # two steps
    assert np.isfinite(history.history["loss"]).all()
    model.save(tmp_path / "model.keras")
    loaded = keras_resnet.load_model(tmp_path / "model.keras")
    assert (
        loaded.get_layer("conv1_conv").dtype_policy.name
        == model.get_layer("conv1_conv").dtype_policy.name
    )
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded(x, training=False)),
        keras.ops.convert_to_numpy(model(x, training=False)),
    )


@pytest.mark.parametrize("policy", POLICIES)
def test_every_global_policy(policy, reference, global_policy, tmp_path):
    global_policy(policy)
    check(tiny(), policy, reference, tmp_path)


@pytest.mark.parametrize("policy", POLICIES)
def test_every_policy_as_the_models_own_dtype(policy, reference, tmp_path):
    model = tiny(dtype=policy)  # keras-hub's dtype=: the global policy stays float32
    assert keras.config.dtype_policy().name == "float32"
    check(model, policy, reference, tmp_path)


def test_head_dtype_and_policy_objects():
    model = tiny(dtype=keras.DTypePolicy("mixed_bfloat16"), head_dtype="bfloat16")
    assert model.get_layer("conv1_conv").dtype_policy.name == "mixed_bfloat16"
    assert model.get_layer("predictions").compute_dtype == "bfloat16"
    assert tiny(dtype="float16").get_layer("predictions").compute_dtype == "float16"
    assert (
        keras_resnet.ResNet18(dtype="mixed_float16", include_top=False, pooling="avg")
        .get_layer("avg_pool")
        .compute_dtype
        == "float16"
    )  # no head: the features keep the model's policy


@pytest.mark.parametrize("argument, value", [("dtype", "float8"), ("head_dtype", 16)])
def test_unknown_policies_are_named(argument, value):
    with pytest.raises(ValueError) as error:
        tiny(**{argument: value})
    message = str(error.value)
    assert f"`{argument}`" in message and f"{argument}={value!r}" in message
    assert "mixed_bfloat16" in message  # what is accepted


@pytest.mark.process
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_policy_on_another_backend(backend):
    pytest.importorskip(backend)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            __file__,
            "-m",
            "not process",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "KERAS_BACKEND": backend},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "13 passed" in result.stdout, result.stdout[-500:]
