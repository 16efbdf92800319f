"""keras' own applications_test.py, run on keras_resnet's builders.

keras-team/keras at commit 250b42181ce9f37df68319d8f4753ec89a349a43 (keras v3.15.1),
keras/src/applications/applications_test.py, with only the imports and `MODEL_LIST` changed:
keras.applications' six ResNets became ours (ResNet50/101/152 as variant "v1" and "v2"), each
with a module-like namespace whose `preprocess_input` has the mode its weights take ("caffe"
for v1, "tf" for v2) and our `decode_predictions`. keras' text between `fmt: off` and
`fmt: on` is kept byte for byte, its private test base (`keras.src.testing.TestCase` with
absl's parameterized) included. After it, not upstream: `test_application_base` is marked
skipped (it downloads the ImageNet weights and a test image by URL), and
`test_the_port_passes_on_every_backend` runs this file and test_imagenet_utils_port.py under
each other installed backend, since Keras fixes its backend per process.
"""

# keras' text uses str.format:
# ruff: noqa: UP032

import functools
import os
import re
import subprocess
import sys
import types
from importlib import util

import numpy as np
import pytest
from absl.testing import parameterized
from keras.src import backend, testing
from keras.src.applications import nasnet  # the bodies compare `app` with NASNetMobile
from keras.src.layers import Conv2D, Input
from keras.src.saving import serialization_lib
from keras.src.utils import file_utils, image_utils

import keras_resnet

try:
    import PIL
except ImportError:
    PIL = None


def _application(name, builder, **kwargs):
    app = functools.partial(builder, **kwargs)
    app.__name__ = name  # the bodies name test cases and skips after it
    return app


def _module(mode):
    return types.SimpleNamespace(
        preprocess_input=functools.partial(keras_resnet.preprocess_input, mode=mode),
        decode_predictions=keras_resnet.decode_predictions,
    )


resnet = _module("caffe")
resnet_v2 = _module("tf")

MODEL_LIST = [
    # resnet
    (_application("ResNet50", keras_resnet.ResNet50, variant="v1"), 2048, resnet),
    (_application("ResNet101", keras_resnet.ResNet101, variant="v1"), 2048, resnet),
    (_application("ResNet152", keras_resnet.ResNet152, variant="v1"), 2048, resnet),
    (_application("ResNet50V2", keras_resnet.ResNet50, variant="v2"), 2048, resnet_v2),
    (_application("ResNet101V2", keras_resnet.ResNet101, variant="v2"), 2048, resnet_v2),
    (_application("ResNet152V2", keras_resnet.ResNet152, variant="v2"), 2048, resnet_v2),
]
# fmt: off
MODELS_UNSUPPORTED_CHANNELS_FIRST = ["ConvNeXt", "DenseNet", "NASNet"]

# Add names for `named_parameters`, and add each data format for each model
test_parameters = [
    (
        "{}_{}".format(model[0].__name__, image_data_format),
        *model,
        image_data_format,
    )
    for image_data_format in ["channels_first", "channels_last"]
    for model in MODEL_LIST
]


def _get_elephant(target_size):
    # For models that don't include a Flatten step,
    # the default is to accept variable-size inputs
    # even when loading ImageNet weights (since it is possible).
    # In this case, default to 299x299.
    TEST_IMAGE_PATH = (
        "https://storage.googleapis.com/tensorflow/"
        "keras-applications/tests/elephant.jpg"
    )

    if target_size[0] is None:
        target_size = (299, 299)
    test_image = file_utils.get_file("elephant.jpg", TEST_IMAGE_PATH)
    img = image_utils.load_img(test_image, target_size=tuple(target_size))
    x = image_utils.img_to_array(img)
    return np.expand_dims(x, axis=0)


@pytest.mark.skipif(
    os.environ.get("SKIP_APPLICATIONS_TESTS"),
    reason="Env variable set to skip.",
)
@pytest.mark.requires_trainable_backend
class ApplicationsTest(testing.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.original_image_data_format = backend.image_data_format()

    @classmethod
    def tearDownClass(cls):
        backend.set_image_data_format(cls.original_image_data_format)

    def skip_if_invalid_image_data_format_for_model(
        self, app, image_data_format
    ):
        does_not_support_channels_first = any(
            [
                unsupported_name.lower() in app.__name__.lower()
                for unsupported_name in MODELS_UNSUPPORTED_CHANNELS_FIRST
            ]
        )
        if (
            image_data_format == "channels_first"
            and does_not_support_channels_first
        ):
            self.skipTest(
                "{} does not support channels first".format(app.__name__)
            )

    @parameterized.named_parameters(test_parameters)
    def test_application_notop_variable_input_channels(
        self, app, last_dim, _, image_data_format
    ):
        if app == nasnet.NASNetMobile and backend.backend() == "torch":
            self.skipTest(
                "NASNetMobile pretrained incorrect with torch backend."
            )
        self.skip_if_invalid_image_data_format_for_model(app, image_data_format)
        backend.set_image_data_format(image_data_format)

        # Test compatibility with 1 channel
        if image_data_format == "channels_first":
            input_shape = (1, None, None)
            correct_output_shape = [None, last_dim, None, None]
        else:
            input_shape = (None, None, 1)
            correct_output_shape = [None, None, None, last_dim]

        model = app(weights=None, include_top=False, input_shape=input_shape)
        output_shape = list(model.outputs[0].shape)
        self.assertEqual(output_shape, correct_output_shape)

        # Test compatibility with 4 channels
        if image_data_format == "channels_first":
            input_shape = (4, None, None)
        else:
            input_shape = (None, None, 4)
        model = app(weights=None, include_top=False, input_shape=input_shape)
        output_shape = list(model.outputs[0].shape)
        self.assertEqual(output_shape, correct_output_shape)

    @parameterized.named_parameters(test_parameters)
    @pytest.mark.skipif(PIL is None, reason="Requires PIL.")
    def test_application_base(self, app, _, app_module, image_data_format):
        import tensorflow as tf

        if app == nasnet.NASNetMobile and backend.backend() == "torch":
            self.skipTest(
                "NASNetMobile pretrained incorrect with torch backend."
            )
        if (
            image_data_format == "channels_first"
            and len(tf.config.list_physical_devices("GPU")) == 0
            and backend.backend() == "tensorflow"
        ):
            self.skipTest(
                "Conv2D doesn't support channels_first using CPU with "
                "tensorflow backend"
            )
        self.skip_if_invalid_image_data_format_for_model(app, image_data_format)
        backend.set_image_data_format(image_data_format)

        # Can be instantiated with default arguments
        model = app(weights="imagenet")

        # Can run a correct inference on a test image
        if image_data_format == "channels_first":
            shape = model.input_shape[2:4]
        else:
            shape = model.input_shape[1:3]
        x = _get_elephant(shape)

        x = app_module.preprocess_input(x)
        preds = model.predict(x)
        names = [p[1] for p in app_module.decode_predictions(preds)[0]]
        # Test correct label is in top 3 (weak correctness test).
        self.assertIn("African_elephant", names[:3])

        # Can be serialized and deserialized
        config = serialization_lib.serialize_keras_object(model)
        reconstructed_model = serialization_lib.deserialize_keras_object(config)
        self.assertEqual(len(model.weights), len(reconstructed_model.weights))

    @parameterized.named_parameters(test_parameters)
    def test_application_notop_custom_input_shape(
        self, app, last_dim, _, image_data_format
    ):
        if app == nasnet.NASNetMobile and backend.backend() == "torch":
            self.skipTest(
                "NASNetMobile pretrained incorrect with torch backend."
            )
        self.skip_if_invalid_image_data_format_for_model(app, image_data_format)
        backend.set_image_data_format(image_data_format)

        if image_data_format == "channels_first":
            input_shape = (3, 123, 123)
            last_dim_axis = 1
        else:
            input_shape = (123, 123, 3)
            last_dim_axis = -1
        model = app(weights=None, include_top=False, input_shape=input_shape)
        output_shape = list(model.outputs[0].shape)
        self.assertEqual(output_shape[last_dim_axis], last_dim)

    @parameterized.named_parameters(test_parameters)
    def test_application_notop_custom_input_tensor(
        self, app, last_dim, _, image_data_format
    ):
        if app == nasnet.NASNetMobile and backend.backend() == "torch":
            self.skipTest(
                "NASNetMobile pretrained incorrect with torch backend."
            )
        self.skip_if_invalid_image_data_format_for_model(app, image_data_format)
        backend.set_image_data_format(image_data_format)

        if image_data_format == "channels_first":
            input_shape = (4, 200, 200)
            last_dim_axis = 1
        else:
            input_shape = (200, 200, 4)
            last_dim_axis = -1

        inputs_custom = Input(shape=input_shape, name="custom_input")
        inputs_custom = Conv2D(3, (2, 2), padding="valid", strides=(2, 2))(
            inputs_custom
        )
        model = app(weights=None, include_top=False, input_tensor=inputs_custom)
        output_shape = list(model.outputs[0].shape)
        self.assertEqual(output_shape[last_dim_axis], last_dim)

    @parameterized.named_parameters(test_parameters)
    def test_application_pooling(self, app, last_dim, _, image_data_format):
        if app == nasnet.NASNetMobile and backend.backend() == "torch":
            self.skipTest(
                "NASNetMobile pretrained incorrect with torch backend."
            )
        self.skip_if_invalid_image_data_format_for_model(app, image_data_format)
        backend.set_image_data_format(image_data_format)

        model = app(weights=None, include_top=False, pooling="max")
        output_shape = list(model.outputs[0].shape)
        self.assertEqual(output_shape, [None, last_dim])

    @parameterized.named_parameters(test_parameters)
    def test_application_classifier_activation(self, app, *_):
        if app == nasnet.NASNetMobile and backend.backend() == "torch":
            self.skipTest(
                "NASNetMobile pretrained incorrect with torch backend."
            )

        model = app(
            weights=None, include_top=True, classifier_activation="softmax"
        )
        last_layer_act = model.layers[-1].activation.__name__
        self.assertEqual(last_layer_act, "softmax")

# fmt: on
# Not upstream. `test_application_base` downloads the ImageNet weights and a test image by
# URL. ResNet101 and ResNet152 build in 2 and 3.3 s (ResNet50 in 1 s) on a 2-core CPU, 12
# times each: their 48 cases take two minutes, so they run with -m slow.
for _name, _test in list(vars(ApplicationsTest).items()):
    if _name.startswith("test_application_base"):
        _test = pytest.mark.skip(reason="needs downloads: weights='imagenet' and a test image")(
            _test
        )
    if re.search(r"_ResNet(101|152)", _name):
        _test = pytest.mark.slow(_test)
    setattr(ApplicationsTest, _name, _test)

PORTS = ["tests/core/test_keras_applications_port.py", "tests/core/test_imagenet_utils_port.py"]
# Both files on any backend, without -m slow: 20 + 104 passed; skipped, the 4 cases of
# `test_application_base` at depth 50 (downloads) and the 2 of `test_obtain_input_shape`.
EXPECTED = {"passed": 124, "skipped": 6, "failed": 0, "errors": 0}


@pytest.mark.process
@pytest.mark.parametrize("backend_name", ["tensorflow", "jax", "torch"])
def test_the_port_passes_on_every_backend(backend_name):
    if backend_name == backend.backend():
        pytest.skip(f"{backend_name} is this process' backend: the tests above ran on it")
    if util.find_spec(backend_name) is None:
        pytest.skip(f"{backend_name} is not installed")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [*command, "-m", "not process and not slow", *PORTS],
        cwd=root,
        env={**os.environ, "KERAS_BACKEND": backend_name},
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = result.stdout.strip().splitlines()[-1]
    counts = dict.fromkeys(EXPECTED, 0)
    for number, outcome in re.findall(r"(\d+) (passed|skipped|failed|errors?)\b", summary):
        counts["errors" if outcome.startswith("error") else outcome] = int(number)
    assert counts == EXPECTED, summary + "\n" + result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, summary
