"""ResNets for Keras 3: every depth and variant as a Functional model, on any Keras backend.

The public names (`keras_resnet.ResNet50`, ...) live in `keras_resnet._api` and load on first
use: `import keras_resnet` alone does not import Keras, which on the TensorFlow backend imports
TensorFlow (6.8 s on a 2-core CPU), so `keras-resnet --help` answers at once. When Keras is
already imported, they load at once, so that `keras.saving.load_model` finds our layers.
"""

import importlib
import importlib.util
import sys
from typing import TYPE_CHECKING

from keras_resnet.version import __version__  # noqa: F401

if TYPE_CHECKING or "keras" in sys.modules:
    from keras_resnet._api import *  # noqa: F403


def __getattr__(name: str):
    if (
        name.startswith("_") and name != "__all__"
    ):  # dunder probes (copy, inspect, importlib) load nothing
        raise AttributeError(f"module 'keras_resnet' has no attribute {name!r}")
    if (
        importlib.util.find_spec(f"keras_resnet.{name}") is not None
    ):  # a submodule: `keras_resnet.weights`
        return importlib.import_module(f"keras_resnet.{name}")
    api = importlib.import_module("keras_resnet._api")
    public = [key for key in vars(api) if not key.startswith("_")]
    if name == "__all__":
        return public
    if name not in public:
        raise AttributeError(f"module 'keras_resnet' has no attribute {name!r}")
    globals().update({key: getattr(api, key) for key in public})  # load once
    return globals()[name]


def __dir__():
    return sorted({*globals(), *__getattr__("__all__")})
