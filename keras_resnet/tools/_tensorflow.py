"""TensorFlow for the tools (`from keras_resnet.tools._tensorflow import tf`), or an error that
says which extra to install, or that Keras runs on another backend."""

from keras_resnet.tools import require

tf = require("tensorflow", "train", backend=True)
