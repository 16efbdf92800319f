"""Runs keras_resnet's core on one Keras backend and writes what it computed, for
tests/core/test_backends.py to compare with TensorFlow's.

    KERAS_BACKEND=jax python tests/core/backend_worker.py <folder> [cases|all-models]

Run as a script, it blocks TensorFlow from import first, as if it were not installed. The test
runs the same functions in its own (TensorFlow) process for the reference figures. <folder>
holds cases.json and the weights the test wrote; this writes <folder>/<backend>-<what>.npz/.json.
"""

import importlib
import importlib.abc
import importlib.machinery
import json
import os
import sys


class BlockTensorFlow(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes `import tensorflow` fail as if it were not installed. `find_spec` answers with a spec
    of no origin (what PyTorch's dynamo probes for), whose loading raises ModuleNotFoundError."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tf_keras"):
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec):
        raise ModuleNotFoundError(
            f"No module named {spec.name!r} (blocked: the core must run without TensorFlow)",
            name=spec.name,
        )

    def exec_module(self, module):
        pass


if __name__ == "__main__":
    sys.meta_path.insert(0, BlockTensorFlow())

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_resnet  # noqa: E402


def build(case, **overrides):
    kwargs = {**case["kwargs"], **overrides}
    if "builder" in case:
        return getattr(keras_resnet, case["builder"])(**kwargs)
    return keras_resnet.ResNet(**kwargs)


def channels_first(x):
    return np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)))


def run_cases(folder, results, report):
    x = np.load(os.path.join(folder, "x.npy"))
    for case in json.load(open(os.path.join(folder, "cases.json"))):
        weights = os.path.join(folder, case["weights"])
        model = build(case, weights=weights)
        results[f"{case['id']}/logits"] = keras.ops.convert_to_numpy(model(x, training=False))
        first = build(
            case,
            weights=weights,
            data_format="channels_first",
            input_shape=(3, *case["kwargs"]["input_shape"][:2]),
        )
        results[f"{case['id']}/channels_first"] = keras.ops.convert_to_numpy(
            first(channels_first(x), training=False)
        )
    fixtures(folder, results, ["resnet18"])
    # A .keras file saved by TensorFlow loads here and gives its logits.
    loaded = keras_resnet.load_model(os.path.join(folder, "tensorflow.keras"))
    results["tensorflow.keras/logits"] = keras.ops.convert_to_numpy(loaded(x, training=False))
    # torchvision-named safetensors (written by save_torchvision on TensorFlow) through `weights=`.
    torchvision = keras_resnet.ResNet18(
        weights=os.path.join(folder, "resnet18.safetensors"),
        classes=5,
        input_shape=(32, 32, 3),
        classifier_activation=None,
    )
    results["resnet18.safetensors/logits"] = keras.ops.convert_to_numpy(
        torchvision(x, training=False)
    )
    report["backend"] = keras.backend.backend()
    report["tensorflow_imported"] = "tensorflow" in sys.modules
    try:
        importlib.import_module("keras_resnet.tools.train")
    except (ImportError, RuntimeError) as error:
        report["tools_error"] = str(error)
    try:
        keras_resnet.ResNet20(synchronized_bn=True)
    except ValueError as error:
        report["synchronized_bn_error"] = str(error)


def fixtures(folder, results, names):
    """torchvision's own ResNets (../shared/fixtures) through `weights=`, in both layouts."""
    for name in names:
        paths = json.load(open(os.path.join(folder, "fixtures.json")))[name]
        fixture = np.load(paths["npz"])
        for layout, inputs in (
            ("channels_last", fixture["x"]),
            ("channels_first", channels_first(fixture["x"])),
        ):
            shape = (3, 64, 64) if layout == "channels_first" else (64, 64, 3)
            model = keras_resnet.build(
                name,
                weights=paths["weights"],
                classes=10,
                input_shape=shape,
                classifier_activation=None,
                data_format=layout,
            )
            results[f"fixture-{name}/{layout}"] = keras.ops.convert_to_numpy(
                model(inputs, training=False)
            )


def round_trip(folder, report):
    """A .keras file saved and loaded on this backend gives the same outputs."""
    model = keras_resnet.ResNet20(
        input_shape=(32, 32, 3), se_ratio=0.25, drop_path_rate=0.1, classifier_activation=None
    )
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    model(x, training=True)
    path = os.path.join(folder, f"{keras.backend.backend()}.keras")
    model.save(path)
    loaded = keras_resnet.load_model(path)
    difference = np.abs(
        keras.ops.convert_to_numpy(loaded(x, training=False) - model(x, training=False))
    )
    report["round_trip_max_abs_diff"] = float(difference.max())
    report["round_trip_optimizer"] = type(
        keras_resnet.load_model(os.path.join(folder, "fitted.keras")).optimizer
    ).__name__


def fit(folder, results, report):
    """Two `fit` steps with each of our optimizers, from the weights and data TensorFlow used."""
    data = np.load(os.path.join(folder, "fit.npz"))
    for name in ("SGD", "AdamW"):
        keras.utils.set_random_seed(0)
        model = keras_resnet.ResNet(
            "basic",
            (1, 1, 1),
            stem="cifar",
            filters=8,
            classes=3,
            input_shape=(16, 16, 3),
            weights=os.path.join(folder, "fit.weights.h5"),
        )
        # Adam's step g / (sqrt(v) + epsilon) does not shrink with g: at Keras' epsilon (1e-7) a
        # gradient element at float32's rounding noise gets a full-size step of random sign, and
        # backends whose kernels round differently (PyTorch on an AMX Xeon against TensorFlow:
        # 1.3e-3 apart in loss after four steps) part ways. An epsilon of 1e-3 leaves the update
        # rule and the decay as they are, for gradients above the noise.
        options = {"momentum": 0.9} if name == "SGD" else {"epsilon": 1e-3}
        optimizer = getattr(keras_resnet.optimizers, name)(0.01, weight_decay=5e-4, **options)
        model.compile(optimizer, "sparse_categorical_crossentropy")
        history = model.fit(data["x"], data["y"], batch_size=8, epochs=2, shuffle=False, verbose=0)
        report[f"fit_{name}_loss"] = history.history["loss"]
        results[f"fit_{name}/kernel"] = keras.ops.convert_to_numpy(
            model.get_layer("conv1_conv").kernel
        )
        if name == "SGD":
            model.save(os.path.join(folder, "fitted.keras"))


def all_models(folder, results, report):
    """Every named model at 32x32, built and run once: parameter counts and output shapes; and
    torchvision's ResNet-50 through `weights=`."""
    fixtures(folder, results, ["resnet50"])
    x = np.zeros((1, 32, 32, 3), "float32")
    for name, builder in keras_resnet.MODELS.items():
        model = builder(input_shape=(32, 32, 3), classes=3, classifier_activation=None)
        report.setdefault("params", {})[name] = model.count_params()
        report.setdefault("shapes", {})[name] = list(model(x, training=False).shape)


def main(folder, what):
    results, report = {}, {}
    if what == "all-models":
        all_models(folder, results, report)
    else:
        run_cases(folder, results, report)
        fit(folder, results, report)
        round_trip(folder, report)
    name = f"{keras.backend.backend()}-{what}"
    np.savez(os.path.join(folder, f"{name}.npz"), **results)
    with open(os.path.join(folder, f"{name}.json"), "w") as file:
        json.dump(report, file)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "cases")
