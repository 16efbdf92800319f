"""keras_resnet's public names, in one place. `keras_resnet/__init__.py` loads this module on
first use; importing it registers our layers and optimizers with Keras' deserialisation."""

from keras_resnet import optimizers, weights
from keras_resnet.blocks import (
    BlockConfig,
    basic_block,
    bottleneck_block,
    preact_basic_block,
    preact_bottleneck_block,
    residual_add,
)
from keras_resnet.layers import BatchNormalization, ZeroPadChannels
from keras_resnet.models import (
    CIFAR_DEPTHS,
    IMAGENET_DEPTHS,
    MODELS,
    VARIANTS,
    ModelOptions,
    ModelSpec,
    ResNet,
    ResNet18,
    ResNet20,
    ResNet32,
    ResNet34,
    ResNet44,
    ResNet50,
    ResNet56,
    ResNet101,
    ResNet110,
    ResNet152,
    ResNet200,
    ResNet1202,
    ResNeXt50_32x4d,
    ResNeXt101_32x8d,
    ResNeXt101_64x4d,
    WideResNet50_2,
    WideResNet101_2,
    build,
    feature_extractor,
    load_model,
    recursion_limit,
    register_model,
)
from keras_resnet.preprocessing import ImagePreprocessing, decode_predictions, preprocess_input
from keras_resnet.weights import save_torchvision
