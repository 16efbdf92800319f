"""The named builders, each with keras.applications' signature: ResNet-18 to -200 for ImageNet,
ResNet-20 to -1202 for CIFAR, ResNeXt and Wide ResNet. Each registers itself in `MODELS`, which
writes its docstring, and builds through `ResNet`."""

import keras

from keras_resnet.models.registry import _named, register_model
from keras_resnet.models.resnet import CIFAR_DEPTHS, IMAGENET_DEPTHS


def _imagenet(depth):
    block, sizes = IMAGENET_DEPTHS[depth]
    return register_model(
        f"resnet{depth}",
        block,
        sizes,
        about=f"ResNet-{depth} for ImageNet-sized inputs ({block} blocks {sizes}; He et al. 2015).",
    )


def _cifar(depth):
    n = CIFAR_DEPTHS[depth]
    return register_model(
        f"resnet{depth}",
        "basic",
        (n, n, n),
        stem="cifar",
        about=f"ResNet-{depth} for 32x32 CIFAR images (He et al. 2015, sec. 4.2: 3 stages of {n} "
        "basic blocks).",
    )


def _wide(model_name, depth, groups, width):
    return register_model(
        model_name,
        *IMAGENET_DEPTHS[depth],
        groups=groups,
        width_per_group=width,
        about=f"torchvision's {model_name}: ResNet-{depth} with groups={groups}, "
        f"width_per_group={width}.",
    )


@_imagenet(18)
def ResNet18(
    include_top: bool = True,
    weights=None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str | None = None,
    *,
    variant: str = "v1.5",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    se_ratio: float | None = None,
    plain: bool = False,
    synchronized_bn: bool = False,
    include_preprocessing: bool = False,
    preprocessing: str | None = None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
    output_stride: int | None = None,
) -> keras.Model:
    return _named("resnet18", locals())


@_imagenet(34)
def ResNet34(
    include_top: bool = True,
    weights=None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str | None = None,
    *,
    variant: str = "v1.5",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    se_ratio: float | None = None,
    plain: bool = False,
    synchronized_bn: bool = False,
    include_preprocessing: bool = False,
    preprocessing: str | None = None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
    output_stride: int | None = None,
) -> keras.Model:
    return _named("resnet34", locals())


@_imagenet(50)
def ResNet50(
    include_top: bool = True,
    weights=None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str | None = None,
    *,
    variant: str = "v1.5",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    se_ratio: float | None = None,
    groups: int = 1,
    width_per_group: int = 64,
    plain: bool = False,
    synchronized_bn: bool = False,
    include_preprocessing: bool = False,
    preprocessing: str | None = None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
    output_stride: int | None = None,
) -> keras.Model:
    return _named("resnet50", locals())


@_imagenet(101)
def ResNet101(
    include_top: bool = True,
    weights=None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str | None = None,
    *,
    variant: str = "v1.5",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    se_ratio: float | None = None,
    groups: int = 1,
    width_per_group: int = 64,
    plain: bool = False,
    synchronized_bn: bool = False,
    include_preprocessing: bool = False,
    preprocessing: str | None = None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
    output_stride: int | None = None,
) -> keras.Model:
    return _named("resnet101", locals())


@_imagenet(152)
def ResNet152(
    include_top: bool = True,
    weights=None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str | None = None,
    *,
    variant: str = "v1.5",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    se_ratio: float | None = None,
    groups: int = 1,
    width_per_group: int = 64,
    plain: bool = False,
    synchronized_bn: bool = False,
    include_preprocessing: bool = False,
    preprocessing: str | None = None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
    output_stride: int | None = None,
) -> keras.Model:
    return _named("resnet152", locals())


@_imagenet(200)
def ResNet200(
    include_top: bool = True,
    weights=None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str | None = None,
    *,
    variant: str = "v1.5",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    se_ratio: float | None = None,
    groups: int = 1,
    width_per_group: int = 64,
    plain: bool = False,
    synchronized_bn: bool = False,
    include_preprocessing: bool = False,
    preprocessing: str | None = None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
    output_stride: int | None = None,
) -> keras.Model:
    return _named("resnet200", locals())


@_cifar(20)
def ResNet20(
    include_top: bool = True,
    weights=None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 10,
    classifier_activation="softmax",
    name: str | None = None,
    *,
    variant: str = "v1.5",
    shortcut: str = "A",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    se_ratio: float | None = None,
    plain: bool = False,
    synchronized_bn: bool = False,
    include_preprocessing: bool = False,
    preprocessing: str | None = None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
) -> keras.Model:
    return _named("resnet20", locals())


@_cifar(32)
def ResNet32(
    include_top: bool = True,
    weights=None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 10,
    classifier_activation="softmax",
    name: str | None = None,
    *,
    variant: str = "v1.5",
    shortcut: str = "A",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    se_ratio: float | None = None,
    plain: bool = False,
    synchronized_bn: bool = False,
    include_preprocessing: bool = False,
    preprocessing: str | None = None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
) -> keras.Model:
    return _named("resnet32", locals())


@_cifar(44)
def ResNet44(
    include_top: bool = True,
    weights=None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 10,
    classifier_activation="softmax",
    name: str | None = None,
    *,
    variant: str = "v1.5",
    shortcut: str = "A",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    se_ratio: float | None = None,
    plain: bool = False,
    synchronized_bn: bool = False,
    include_preprocessing: bool = False,
    preprocessing: str | None = None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
) -> keras.Model:
    return _named("resnet44", locals())


@_cifar(56)
def ResNet56(
    include_top: bool = True,
    weights=None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 10,
    classifier_activation="softmax",
    name: str | None = None,
    *,
    variant: str = "v1.5",
    shortcut: str = "A",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    se_ratio: float | None = None,
    plain: bool = False,
    synchronized_bn: bool = False,
    include_preprocessing: bool = False,
    preprocessing: str | None = None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
) -> keras.Model:
    return _named("resnet56", locals())


@_cifar(110)
def ResNet110(
    include_top: bool = True,
    weights=None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 10,
    classifier_activation="softmax",
    name: str | None = None,
    *,
    variant: str = "v1.5",
    shortcut: str = "A",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    se_ratio: float | None = None,
    plain: bool = False,
    synchronized_bn: bool = False,
    include_preprocessing: bool = False,
    preprocessing: str | None = None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
) -> keras.Model:
    return _named("resnet110", locals())


@_cifar(1202)
def ResNet1202(
    include_top: bool = True,
    weights=None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 10,
    classifier_activation="softmax",
    name: str | None = None,
    *,
    variant: str = "v1.5",
    shortcut: str = "A",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    se_ratio: float | None = None,
    plain: bool = False,
    synchronized_bn: bool = False,
    include_preprocessing: bool = False,
    preprocessing: str | None = None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
) -> keras.Model:
    return _named("resnet1202", locals())


@_wide("resnext50_32x4d", 50, 32, 4)
def ResNeXt50_32x4d(
    include_top: bool = True,
    weights=None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str | None = None,
    *,
    variant: str = "v1.5",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    se_ratio: float | None = None,
    plain: bool = False,
    synchronized_bn: bool = False,
    include_preprocessing: bool = False,
    preprocessing: str | None = None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
    output_stride: int | None = None,
) -> keras.Model:
    return _named("resnext50_32x4d", locals())


@_wide("resnext101_32x8d", 101, 32, 8)
def ResNeXt101_32x8d(
    include_top: bool = True,
    weights=None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str | None = None,
    *,
    variant: str = "v1.5",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    se_ratio: float | None = None,
    plain: bool = False,
    synchronized_bn: bool = False,
    include_preprocessing: bool = False,
    preprocessing: str | None = None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
    output_stride: int | None = None,
) -> keras.Model:
    return _named("resnext101_32x8d", locals())


@_wide("resnext101_64x4d", 101, 64, 4)
def ResNeXt101_64x4d(
    include_top: bool = True,
    weights=None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str | None = None,
    *,
    variant: str = "v1.5",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    se_ratio: float | None = None,
    plain: bool = False,
    synchronized_bn: bool = False,
    include_preprocessing: bool = False,
    preprocessing: str | None = None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
    output_stride: int | None = None,
) -> keras.Model:
    return _named("resnext101_64x4d", locals())


@_wide("wide_resnet50_2", 50, 1, 128)
def WideResNet50_2(
    include_top: bool = True,
    weights=None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str | None = None,
    *,
    variant: str = "v1.5",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    se_ratio: float | None = None,
    plain: bool = False,
    synchronized_bn: bool = False,
    include_preprocessing: bool = False,
    preprocessing: str | None = None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
    output_stride: int | None = None,
) -> keras.Model:
    return _named("wide_resnet50_2", locals())


@_wide("wide_resnet101_2", 101, 1, 128)
def WideResNet101_2(
    include_top: bool = True,
    weights=None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str | None = None,
    *,
    variant: str = "v1.5",
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
    se_ratio: float | None = None,
    plain: bool = False,
    synchronized_bn: bool = False,
    include_preprocessing: bool = False,
    preprocessing: str | None = None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
    output_stride: int | None = None,
) -> keras.Model:
    return _named("wide_resnet101_2", locals())
