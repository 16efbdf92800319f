"""The ResNet family: one table from depth to blocks per stage, one builder for all of it, one table
of the options every model takes, and an explicit, registered builder per named model with
keras.applications' signature.

- `options`: `ModelOptions`, the options every model takes, and the tables it checks them
  against (VARIANTS, STEM_DEFAULTS, ...).
- `resnet`: the depth tables and `ResNet`, the one builder; `load_model`, `feature_extractor`.
- `registry`: `MODELS`, the registry of `ModelSpec`s that `register_model` fills; `build`.
- `builders`: the named builders, `ResNet18` to `WideResNet101_2`, registered as they load.
"""

__all__ = [
    "CIFAR_DEPTHS",
    "IMAGENET_DEPTHS",
    "MODELS",
    "VARIANTS",
    "ModelOptions",
    "ModelSpec",
    "ResNet",
    "build",
    "feature_extractor",
    "load_model",
    "recursion_limit",
    "register_model",
    "ResNet18",
    "ResNet34",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "ResNet200",
    "ResNet20",
    "ResNet32",
    "ResNet44",
    "ResNet56",
    "ResNet110",
    "ResNet1202",
    "ResNeXt50_32x4d",
    "ResNeXt101_32x8d",
    "ResNeXt101_64x4d",
    "WideResNet50_2",
    "WideResNet101_2",
]

from keras_resnet.models.builders import (
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
)
from keras_resnet.models.options import (  # noqa: F401  (tables importable from here, as ever)
    DATA_FORMATS,
    STEM_DEFAULTS,
    STEMS,
    VARIANT_PREPROCESSING,
    VARIANTS,
    ModelOptions,
)
from keras_resnet.models.registry import MODELS, ModelSpec, build, register_model
from keras_resnet.models.resnet import (  # noqa: F401  (BLOCKS, POOLINGS: as above)
    BLOCKS,
    CIFAR_DEPTHS,
    IMAGENET_DEPTHS,
    POOLINGS,
    ResNet,
    feature_extractor,
    load_model,
    recursion_limit,
)
