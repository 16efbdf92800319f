"""keras' own imagenet_utils_test.py, run on keras_resnet's `preprocess_input`.

keras-team/keras at commit 250b42181ce9f37df68319d8f4753ec89a349a43 (keras v3.15.1),
keras/src/applications/imagenet_utils_test.py, with only the imports changed: `utils` is a
namespace holding our `preprocess_input` in place of keras.applications' imagenet_utils. keras'
text between `fmt: off` and `fmt: on` is kept byte for byte, its private test base
(`keras.src.testing.TestCase` with absl's parameterized) included. After it, not upstream:
`test_obtain_input_shape` is marked skipped (it tests keras.applications' private
`obtain_input_shape`, which has no counterpart here), and tests that pin our numbers to
keras.applications' own `preprocess_input`.
"""

import itertools
import types

import keras
import numpy as np
import pytest
from absl.testing import parameterized
from keras.src import backend, testing
from keras.src.applications import imagenet_utils as keras_imagenet_utils
from keras.src.dtype_policies.dtype_policy import set_dtype_policy

import keras_resnet

utils = types.SimpleNamespace(preprocess_input=keras_resnet.preprocess_input)


# fmt: off
class TestImageNetUtils(testing.TestCase):
    def test_preprocess_input(self):
        # Test invalid mode check
        x = np.random.uniform(0, 255, (10, 10, 3))
        with self.assertRaises(ValueError):
            utils.preprocess_input(x, mode="some_unknown_mode")

        # Test image batch with float and int image input
        x = np.random.uniform(0, 255, (2, 10, 10, 3))
        xint = x.astype("int32")
        self.assertEqual(utils.preprocess_input(x).shape, x.shape)
        self.assertEqual(utils.preprocess_input(xint).shape, xint.shape)

        out1 = utils.preprocess_input(x, "channels_last")
        out1int = utils.preprocess_input(xint, "channels_last")
        out2 = utils.preprocess_input(
            np.transpose(x, (0, 3, 1, 2)), "channels_first"
        )
        out2int = utils.preprocess_input(
            np.transpose(xint, (0, 3, 1, 2)), "channels_first"
        )
        self.assertAllClose(out1, out2.transpose(0, 2, 3, 1))
        self.assertAllClose(out1int, out2int.transpose(0, 2, 3, 1))

        # Test single image
        x = np.random.uniform(0, 255, (10, 10, 3))
        xint = x.astype("int32")
        self.assertEqual(utils.preprocess_input(x).shape, x.shape)
        self.assertEqual(utils.preprocess_input(xint).shape, xint.shape)

        out1 = utils.preprocess_input(x, "channels_last")
        out1int = utils.preprocess_input(xint, "channels_last")
        out2 = utils.preprocess_input(
            np.transpose(x, (2, 0, 1)), "channels_first"
        )
        out2int = utils.preprocess_input(
            np.transpose(xint, (2, 0, 1)), "channels_first"
        )
        self.assertAllClose(out1, out2.transpose(1, 2, 0))
        self.assertAllClose(out1int, out2int.transpose(1, 2, 0))

        # Test that writing over the input data works predictably
        for mode in ["torch", "tf"]:
            x = np.random.uniform(0, 255, (2, 10, 10, 3))
            xint = x.astype("int")
            x2 = utils.preprocess_input(x, "channels_last", mode=mode)
            xint2 = utils.preprocess_input(xint, "channels_last")
            self.assertAllClose(x, x2)
            self.assertNotEqual(xint.astype("float").max(), xint2.max())

        # Caffe mode works differently from the others
        x = np.random.uniform(0, 255, (2, 10, 10, 3))
        xint = x.astype("int")
        x2 = utils.preprocess_input(
            x, data_format="channels_last", mode="caffe"
        )
        xint2 = utils.preprocess_input(xint, data_format="channels_last")
        self.assertAllClose(x, x2[..., ::-1])
        self.assertNotEqual(xint.astype("float").max(), xint2.max())

    @parameterized.named_parameters(
        [
            {"testcase_name": "mode_torch", "mode": "torch"},
            {"testcase_name": "mode_tf", "mode": "tf"},
            {"testcase_name": "mode_caffe", "mode": "caffe"},
        ]
    )
    @pytest.mark.requires_trainable_backend
    def test_preprocess_input_symbolic(self, mode):
        backend_data_format = backend.image_data_format()
        # Test image batch
        if backend_data_format == "channels_last":
            x = np.random.uniform(0, 255, (2, 10, 10, 3))
        elif backend_data_format == "channels_first":
            x = np.random.uniform(0, 255, (2, 3, 10, 10))
        inputs = keras.layers.Input(shape=x.shape[1:])
        outputs = keras.layers.Lambda(
            lambda x: utils.preprocess_input(x, mode=mode),
            output_shape=x.shape[1:],
        )(inputs)
        model = keras.Model(inputs, outputs)
        self.assertEqual(model.predict(x).shape, x.shape)

        x = np.random.uniform(0, 255, (2, 10, 10, 3))
        inputs = keras.layers.Input(shape=x.shape[1:])
        outputs1 = keras.layers.Lambda(
            lambda x: utils.preprocess_input(x, "channels_last", mode=mode),
            output_shape=x.shape[1:],
        )(inputs)
        model1 = keras.Model(inputs, outputs1)
        out1 = model1.predict(x)
        x2 = np.transpose(x, (0, 3, 1, 2))
        inputs2 = keras.layers.Input(shape=x2.shape[1:])
        outputs2 = keras.layers.Lambda(
            lambda x: utils.preprocess_input(x, "channels_first", mode=mode),
            output_shape=x2.shape[1:],
        )(inputs2)
        model2 = keras.Model(inputs2, outputs2)
        out2 = model2.predict(x2)
        self.assertAllClose(out1, out2.transpose(0, 2, 3, 1))

        # Test single image
        if backend_data_format == "channels_last":
            x = np.random.uniform(0, 255, (10, 10, 3))
        elif backend_data_format == "channels_first":
            x = np.random.uniform(0, 255, (3, 10, 10))
        inputs = keras.layers.Input(shape=x.shape)
        outputs = keras.layers.Lambda(
            lambda x: utils.preprocess_input(x, mode=mode), output_shape=x.shape
        )(inputs)
        model = keras.Model(inputs, outputs)
        self.assertEqual(model.predict(x[np.newaxis])[0].shape, x.shape)

        x = np.random.uniform(0, 255, (10, 10, 3))
        inputs = keras.layers.Input(shape=x.shape)
        outputs1 = keras.layers.Lambda(
            lambda x: utils.preprocess_input(x, "channels_last", mode=mode),
            output_shape=x.shape,
        )(inputs)
        model1 = keras.Model(inputs, outputs1)
        out1 = model1.predict(x[np.newaxis])[0]
        x2 = np.transpose(x, (2, 0, 1))
        inputs2 = keras.layers.Input(shape=x2.shape)
        outputs2 = keras.layers.Lambda(
            lambda x: utils.preprocess_input(x, "channels_first", mode=mode),
            output_shape=x2.shape,
        )(inputs2)
        model2 = keras.Model(inputs2, outputs2)
        out2 = model2.predict(x2[np.newaxis])[0]
        self.assertAllClose(out1, out2.transpose(1, 2, 0))

    @parameterized.named_parameters(
        [
            {"testcase_name": "mode_torch", "mode": "torch"},
            {"testcase_name": "mode_tf", "mode": "tf"},
            {"testcase_name": "mode_caffe", "mode": "caffe"},
        ]
    )
    def test_preprocess_input_symbolic_mixed_precision(self, mode):
        set_dtype_policy("mixed_float16")
        shape = (20, 20, 3)
        inputs = keras.layers.Input(shape=shape)
        try:
            keras.layers.Lambda(
                lambda x: utils.preprocess_input(x, mode=mode),
                output_shape=shape,
            )(inputs)
        finally:
            set_dtype_policy("float32")

    @parameterized.named_parameters(
        [
            {
                "testcase_name": "channels_last_format",
                "data_format": "channels_last",
            },
            {
                "testcase_name": "channels_first_format",
                "data_format": "channels_first",
            },
        ]
    )
    def test_obtain_input_shape(self, data_format):
        # input_shape and default_size are not identical.
        with self.assertRaises(ValueError):
            utils.obtain_input_shape(
                input_shape=(224, 224, 3),
                default_size=299,
                min_size=139,
                data_format="channels_last",
                require_flatten=True,
                weights="imagenet",
            )

        # Test invalid use cases

        shape = (139, 139)
        if data_format == "channels_last":
            input_shape = shape + (99,)
        else:
            input_shape = (99,) + shape

        # input_shape is smaller than min_size.
        shape = (100, 100)
        if data_format == "channels_last":
            input_shape = shape + (3,)
        else:
            input_shape = (3,) + shape
        with self.assertRaises(ValueError):
            utils.obtain_input_shape(
                input_shape=input_shape,
                default_size=None,
                min_size=139,
                data_format=data_format,
                require_flatten=False,
            )

        # shape is 1D.
        shape = (100,)
        if data_format == "channels_last":
            input_shape = shape + (3,)
        else:
            input_shape = (3,) + shape
        with self.assertRaises(ValueError):
            utils.obtain_input_shape(
                input_shape=input_shape,
                default_size=None,
                min_size=139,
                data_format=data_format,
                require_flatten=False,
            )

        # the number of channels is 5 not 3.
        shape = (100, 100)
        if data_format == "channels_last":
            input_shape = shape + (5,)
        else:
            input_shape = (5,) + shape
        with self.assertRaises(ValueError):
            utils.obtain_input_shape(
                input_shape=input_shape,
                default_size=None,
                min_size=139,
                data_format=data_format,
                require_flatten=False,
            )

        # require_flatten=True with dynamic input shape.
        with self.assertRaises(ValueError):
            utils.obtain_input_shape(
                input_shape=None,
                default_size=None,
                min_size=139,
                data_format="channels_first",
                require_flatten=True,
            )

        # test include top
        self.assertEqual(
            utils.obtain_input_shape(
                input_shape=(3, 200, 200),
                default_size=None,
                min_size=139,
                data_format="channels_first",
                require_flatten=True,
            ),
            (3, 200, 200),
        )

        self.assertEqual(
            utils.obtain_input_shape(
                input_shape=None,
                default_size=None,
                min_size=139,
                data_format="channels_last",
                require_flatten=False,
            ),
            (None, None, 3),
        )

        self.assertEqual(
            utils.obtain_input_shape(
                input_shape=None,
                default_size=None,
                min_size=139,
                data_format="channels_first",
                require_flatten=False,
            ),
            (3, None, None),
        )

        self.assertEqual(
            utils.obtain_input_shape(
                input_shape=None,
                default_size=None,
                min_size=139,
                data_format="channels_last",
                require_flatten=False,
            ),
            (None, None, 3),
        )

        self.assertEqual(
            utils.obtain_input_shape(
                input_shape=(150, 150, 3),
                default_size=None,
                min_size=139,
                data_format="channels_last",
                require_flatten=False,
            ),
            (150, 150, 3),
        )

        self.assertEqual(
            utils.obtain_input_shape(
                input_shape=(3, None, None),
                default_size=None,
                min_size=139,
                data_format="channels_first",
                require_flatten=False,
            ),
            (3, None, None),
        )

# fmt: on
# Not upstream. keras.applications' `obtain_input_shape` is a private helper of its builders;
# ours check `input_shape` in the builder (tests/test_models.py) and accept on purpose two
# shapes it refuses with the top: another size than the default, and None sizes (global
# pooling takes any size).
TestImageNetUtils.test_obtain_input_shape_channels_last_format = pytest.mark.skip(
    reason="keras.applications' private obtain_input_shape: no counterpart in keras_resnet"
)(TestImageNetUtils.test_obtain_input_shape_channels_last_format)
TestImageNetUtils.test_obtain_input_shape_channels_first_format = pytest.mark.skip(
    reason="keras.applications' private obtain_input_shape: no counterpart in keras_resnet"
)(TestImageNetUtils.test_obtain_input_shape_channels_first_format)

CASES = list(
    itertools.product(
        ["caffe", "tf", "torch"],
        ["channels_last", "channels_first"],
        ["float32", "float64", "int32", "uint8"],
        [3, 4],  # one image, a batch
    )
)


def _pixels(data_format, dtype, ndim, seed=0):
    x = np.random.default_rng(seed).uniform(0, 255, (2, 7, 9, 3)[4 - ndim :])
    return (np.moveaxis(x, -1, -3) if data_format == "channels_first" else x).astype(dtype)


@pytest.mark.parametrize("mode, data_format, dtype, ndim", CASES)
def test_numpy_equals_keras_applications(mode, data_format, dtype, ndim):
    """The same array, dtype and bits out, and the same input written over, as keras'."""
    theirs_in, ours_in = _pixels(data_format, dtype, ndim), _pixels(data_format, dtype, ndim)
    theirs = keras_imagenet_utils.preprocess_input(theirs_in, data_format, mode=mode)
    ours = keras_resnet.preprocess_input(ours_in, data_format, mode=mode)
    assert type(ours) is np.ndarray and ours.dtype == theirs.dtype
    assert ours.dtype == (dtype if dtype.startswith("float") else "float32")
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours_in, theirs_in)


@pytest.mark.parametrize("mode, data_format, dtype, ndim", CASES)
def test_tensor_equals_keras_applications(mode, data_format, dtype, ndim):
    """A backend tensor gives keras' tensor bit for bit, an int one what keras' gives for it
    cast to floatx (keras' keeps the int dtype: "caffe" truncates the means, "tf" and
    "torch" raise on TensorFlow and PyTorch)."""
    x = _pixels(data_format, dtype, ndim)
    ours = keras_resnet.preprocess_input(keras.ops.convert_to_tensor(x), data_format, mode=mode)
    assert keras.ops.is_tensor(ours) and not keras.backend.is_keras_tensor(ours)
    floats = x if dtype.startswith("float") else x.astype("float32")
    theirs = keras_imagenet_utils.preprocess_input(
        keras.ops.convert_to_tensor(floats), data_format, mode=mode
    )
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(theirs)
    )


def test_arguments_in_keras_order():
    x = np.full((1, 1, 3), 255.0)
    np.testing.assert_array_equal(
        keras_resnet.preprocess_input(x.copy()),
        [[[(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225]]],
    )
    symbolic = keras_resnet.preprocess_input(keras.Input((4, 4, 3), dtype="uint8"), mode="tf")
    assert keras.backend.is_keras_tensor(symbolic) and symbolic.shape == (None, 4, 4, 3)
    assert symbolic.dtype == "float32"
    with pytest.raises(
        ValueError,
        match=r"`data_format` must be 'channels_last', 'channels_first' or None; received "
        r"data_format='caffe' \('caffe' is a mode: pass mode='caffe'; the second positional "
        r"argument is `data_format`, as in keras.applications\)\.",
    ):
        keras_resnet.preprocess_input(x, "caffe")
    with pytest.raises(
        ValueError,
        match=r"`x` must have 3 \(RGB\) channels channels last for mode='torch'; received "
        r"shape \(1, 1, 4\)\.",
    ):
        keras_resnet.preprocess_input(np.zeros((1, 1, 4)), "channels_last", mode="torch")
    np.testing.assert_array_equal(  # "tf" is the same for every channel: any shape
        keras_resnet.preprocess_input(np.full((1, 1, 4), 255.0), mode="tf"), np.ones((1, 1, 4))
    )
