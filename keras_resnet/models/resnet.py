"""The network: one table from depth to blocks per stage and `ResNet`, the one builder of every
depth and variant (its input, stem, stages and head), with `load_model` and `feature_extractor`,
which take what it builds."""

import contextlib
import os
import re
import sys
from collections.abc import Sequence

import keras
from keras import layers

from keras_resnet import (
    blocks,
    optimizers,  # noqa: F401  (registers SGD and AdamW, which checkpoints hold, for load_model)
)
from keras_resnet import weights as weights_lib
from keras_resnet._checks import is_int
from keras_resnet.models.options import (
    STEM_DEFAULTS,
    VARIANT_PREPROCESSING,
    ModelOptions,
    _fail,
    _with_options_doc,
    head_policy,
)
from keras_resnet.preprocessing import ImagePreprocessing

# ImageNet ResNets: depth -> (block, blocks per stage). He et al. 2015, Table 1;
# ResNet-200 from He et al. 2016.
IMAGENET_DEPTHS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
    200: ("bottleneck", (3, 24, 36, 3)),
}

# CIFAR ResNets: depth 6n + 2 -> n basic blocks in each of three stages of 16/32/64
# filters, after a 3x3 stem (He et al. 2015, sec. 4.2).
CIFAR_DEPTHS = {20: 3, 32: 5, 44: 7, 56: 9, 110: 18, 1202: 200}

BLOCKS = {
    ("basic", False): blocks.basic_block,
    ("bottleneck", False): blocks.bottleneck_block,
    ("basic", True): blocks.preact_basic_block,
    ("bottleneck", True): blocks.preact_bottleneck_block,
}

POOLINGS = (None, "avg", "max")


@contextlib.contextmanager
def recursion_limit(limit: int = 20_000):
    """Raises Python's recursion limit to at least `limit` inside the block, then restores it.

    Keras maps a Functional graph recursively, about three frames per layer: ResNet-1202's
    4,212 layers overflow Python's default limit of 1,000 when Keras builds, loads or clones
    it. The builders and `load_model` use this themselves.

    Example:
        >>> with recursion_limit():  # doctest: +SKIP
        ...     model = keras.models.clone_model(keras_resnet.ResNet1202())
    """
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def load_model(path: "str | os.PathLike", **kwargs) -> keras.Model:
    """`keras.saving.load_model` for keras_resnet's files: our layers and optimizers are
    registered (this module imports them), and the deepest nets fit the recursion limit.

    Example:
        >>> keras_resnet.ResNet20().save("resnet20.keras")
        >>> keras_resnet.load_model("resnet20.keras").output_shape
        (None, 10)
    """
    with recursion_limit():
        return keras.saving.load_model(path, **kwargs)


def _check_arguments(block, stage_sizes, include_top, classes, pooling):
    """keras.applications' arguments and the architecture `ResNet` is given."""
    if block not in ("basic", "bottleneck"):
        _fail("block", block, "'basic' or 'bottleneck'")
    if not stage_sizes or not all(is_int(n) and n >= 1 for n in stage_sizes):
        _fail("stage_sizes", stage_sizes, "a non-empty sequence of block counts >= 1")
    if not isinstance(include_top, bool):
        _fail("include_top", include_top, "True or False")
    if not is_int(classes) or classes < 1:
        _fail("classes", classes, "an integer >= 1")
    if pooling not in POOLINGS:
        _fail("pooling", pooling, "None, 'avg' or 'max'")


def _model_input(input_tensor, input_shape, *, include_top, default_size, min_size, data_format):
    """The Input layer and its shape checks, following keras.applications' conventions.

    Any channel count goes with `weights`, unlike keras.applications: the weights' RGB stem is
    adapted to it by timm's rule (`keras_resnet.weights.assign.adapt_input_conv`)."""
    channels_first = data_format == "channels_first"
    if input_shape is None:
        if input_tensor is not None:
            input_shape = tuple(input_tensor.shape[1:])
        else:
            size = (default_size, default_size) if include_top else (None, None)
            input_shape = (3, *size) if channels_first else (*size, 3)
    input_shape = tuple(input_shape)
    layout = (
        "(channels, height, width), channels first"
        if channels_first
        else "(height, width, channels), channels last"
    )
    if len(input_shape) != 3:
        _fail("input_shape", input_shape, layout)
    channels, spatial = (
        (input_shape[0], input_shape[1:]) if channels_first else (input_shape[2], input_shape[:2])
    )
    if channels is None or channels < 1:
        _fail("input_shape", input_shape, "a shape with a known channel count")
    for size in spatial:
        if size is not None and size < min_size:
            _fail(
                "input_shape",
                input_shape,
                f"at least {min_size}x{min_size} pixels (the net's total stride) or None",
            )
    if input_tensor is None:
        return layers.Input(shape=input_shape, name="images")
    if not keras.backend.is_keras_tensor(input_tensor):
        return layers.Input(tensor=input_tensor, shape=input_shape, name="images")
    return input_tensor


def _stem(x, *, stem, variant, filters, config):
    """conv1 (and pool1 on ImageNet nets). Pre-activation nets leave conv1 un-normalised."""
    preact = variant == "v2"
    if stem == "cifar":
        x = blocks.conv(x, filters, 3, use_bias=config.use_bias, name="conv1", config=config)
    elif variant == "v1d":
        # Three 3x3 convs replace the 7x7 (He et al. 2019; timm's conv1.0/.3/.6).
        x = blocks.conv_bn(x, filters // 2, 3, strides=2, name="conv1_1", config=config)
        x = blocks.conv_bn(x, filters // 2, 3, name="conv1_2", config=config)
        x = blocks.conv(x, filters, 3, name="conv1_3", config=config)
    else:
        x = blocks.conv(
            x, filters, 7, strides=2, use_bias=config.use_bias, name="conv1", config=config
        )
    if not preact:
        x = blocks.batch_norm(x, name="conv1_bn", config=config)
        x = blocks.relu_layer(x, name="conv1_relu", config=config)
    if stem == "imagenet":
        # Zero padding equals PyTorch's -inf padding here: inputs are >= 0 after the ReLU.
        pool = dict(data_format=config.data_format, dtype=config.dtype)
        x = layers.ZeroPadding2D(1, name="pool1_pad", **pool)(x)
        x = layers.MaxPooling2D(3, strides=2, name="pool1_pool", **pool)(x)
    return x


def _stages(x, block, stage_sizes, options, config):
    """The residual stages, `conv2` to `conv{len(stage_sizes) + 1}`.

    Every stage after the first halves the resolution, where its first block strides
    (keras.applications' ResNetV2: where the previous stage's last block does). Past
    `output_stride`, a stride becomes a dilation instead (torchvision's
    `replace_stride_with_dilation`, timm's `output_stride`): that block keeps the dilation it
    had for its strided conv, and every later 3x3 conv dilates by the stride more.
    """
    preact = options.variant == "v2"
    block_fn = BLOCKS[block, preact]
    output_stride = options.output_stride or 32
    stride = 4 if options.stem == "imagenet" else 1  # the stem's
    dilation = 1
    total = sum(stage_sizes)
    index = 0
    for stage, num_blocks in enumerate(stage_sizes):
        for i in range(num_blocks):
            if preact:
                # keras.applications' ResNetV2 strides in the last block of every stage
                # but the last, where the stride-1 identity shortcut is a subsample.
                strides = 2 if i == num_blocks - 1 and stage < len(stage_sizes) - 1 else 1
            else:
                strides = 2 if i == 0 and stage > 0 else 1
            first_dilation = dilation
            if strides > 1 and stride * strides > output_stride:
                dilation, strides = dilation * strides, 1
            stride *= strides
            x = block_fn(
                x,
                options.filters * 2**stage,
                strides=strides,
                dilation=dilation,
                first_dilation=first_dilation,
                drop_rate=options.drop_path_rate * index / max(total - 1, 1),
                name=f"conv{stage + 2}_block{i + 1}",
                config=config,
            )
            index += 1
    if preact:
        x = blocks.batch_norm(x, name="post_bn", config=config)
        x = blocks.relu_layer(x, name="post_relu", config=config)
    return x


def _head(x, *, include_top, pooling, classes, classifier_activation, options):
    """keras.applications' top: average pooling and the classifier, or a pooling alone."""
    data_format = options.data_format
    if include_top:
        head = head_policy(options.dtype, options.head_dtype)
        x = layers.GlobalAveragePooling2D(data_format=data_format, dtype=head, name="avg_pool")(x)
        return layers.Dense(
            classes, activation=classifier_activation, dtype=head, name="predictions"
        )(x)
    pool = dict(data_format=data_format, dtype=options.dtype)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool", **pool)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool", **pool)(x)
    return x


@_with_options_doc
def ResNet(
    block: str,
    stage_sizes: Sequence[int],
    include_top: bool = True,
    weights: "str | os.PathLike | weights_lib.PublishedWeights | None" = None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str = "resnet",
    *,
    variant: str = "v1.5",
    stem: str = "imagenet",
    filters: int = 64,
    shortcut: str | None = None,
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
    """Builds any ResNet as a Keras Functional model; every named depth is one call of this.

    keras.applications' arguments, then the keyword-only options (`ModelOptions`).

    Args:
        block: "basic" (two 3x3 convs) or "bottleneck" (1x1, 3x3, 1x1 with 4x expansion).
        stage_sizes: blocks per stage, e.g. (3, 4, 6, 3) for ResNet-50. Stage i has
            `filters * 2**i` filters (times 4 at a bottleneck's output); every stage after
            the first halves the resolution. Its layers are named `conv{i + 2}_block{n}_*`.
        include_top: end with global average pooling and a `classes`-way Dense classifier.
        weights: None (random initialisation), a file (`.safetensors` in torchvision's
            naming, `.weights.h5`/`.keras`, keras.applications' `.h5`), or a
            `keras_resnet.weights.PublishedWeights`; the named builders also take published
            names ("imagenet", "torchvision:IMAGENET1K_V2", "timm:a1_in1k", ...). When the
            file's classifier does not fit `classes` (or `include_top=False`), the backbone
            is loaded and the classifier starts fresh, with a warning.
        input_tensor: optional tensor to build the model on.
        input_shape: (height, width, channels), or (channels, height, width) channels first;
            defaults to 224x224x3 (32x32x3 for CIFAR nets) with the top, any size without.
        pooling: without the top: None (the 4D feature map), "avg" or "max".
        classes: number of classes of the top.
        classifier_activation: activation of the top, e.g. "softmax" or None for logits.
        name: the model's name.
        {options}

    Returns:
        A `keras.Model`.

    Example:
        >>> tiny = ResNet("basic", (1, 1, 1, 1), filters=8, classes=10, input_shape=(32, 32, 3))
        >>> tiny.output_shape
        (None, 10)
    """
    options = ModelOptions.of(locals())
    data_format = options.data_format
    _check_arguments(block, stage_sizes, include_top, classes, pooling)
    options.check(block)
    config = options.block_config()
    # The smallest input every stage can stride over (dilated stages do not stride).
    total_stride = (4 if stem == "imagenet" else 1) * 2 ** (len(stage_sizes) - 1)
    min_size = min(total_stride, options.output_stride or total_stride)
    with recursion_limit(20 * sum(stage_sizes) + 1000):  # ResNet-1202: 4,212 layers
        inputs = _model_input(
            input_tensor,
            input_shape,
            include_top=include_top,
            default_size=STEM_DEFAULTS[stem]["size"],
            min_size=min_size,
            data_format=data_format,
        )
        x = inputs
        if include_preprocessing:
            mode = (
                preprocessing
                or getattr(weights, "preprocessing", None)
                or VARIANT_PREPROCESSING[variant]
            )
            x = ImagePreprocessing(
                mode, data_format=data_format, dtype=options.dtype, name="preprocessing"
            )(x)
        x = _stem(x, stem=stem, variant=variant, filters=filters, config=config)
        x = _stages(x, block, stage_sizes, options, config)
        x = _head(
            x,
            include_top=include_top,
            pooling=pooling,
            classes=classes,
            classifier_activation=classifier_activation,
            options=options,
        )

        if input_tensor is not None:
            sources = keras.utils.get_source_inputs(input_tensor)
            inputs = sources[0] if len(sources) == 1 else sources
        model = keras.Model(inputs, x, name=name)
    if weights is not None:
        weights_lib.load_weights(model, weights)
    return model


# What stage outputs are called: ours ("C2".."C5", the FPN paper's), keras-hub's ("P2".."P5",
# its backbones' `pyramid_outputs`).
FEATURE_NAMES = ("C", "P")


def feature_extractor(model: keras.Model, *, names: str = "C") -> keras.Model:
    """A model that returns the stage outputs of a ResNet, for detection and segmentation.

    The outputs are a dict {"C2": ..., "C5": ...} keyed by stage (`conv2` -> "C2"), or with
    `names="P"` {"P2": ..., "P5": ...}, as keras-hub's backbones key `pyramid_outputs`. The
    returned model's `strides` maps each key to its output's stride: 4, 8, 16, 32 on ImageNet
    nets, 8 or 16 at most with `output_stride`. For pre-activation (v2) nets, whose blocks
    stride at the end of a stage, C_k is the normalised input of stage k's last block and the
    last one is `post_relu`. Works on keras.applications' ResNets too.

    Example:
        >>> backbone = feature_extractor(ResNet50(include_top=False, input_shape=(64, 64, 3)))
        >>> {k: v.shape for k, v in backbone.output.items()}["C5"]
        (None, 2, 2, 2048)
        >>> feature_extractor(ResNet50(include_top=False, output_stride=8), names="P").strides
        {'P2': 4, 'P3': 8, 'P4': 8, 'P5': 8}
    """
    if names not in FEATURE_NAMES:
        _fail("names", names, "'C' (ours) or 'P' (keras-hub's pyramid_outputs)")
    last_block = {}
    for layer in model.layers:
        match = re.fullmatch(r"conv(\d+)_block(\d+)_out", layer.name)
        if match:
            stage, index = map(int, match.groups())
            last_block[stage] = max(index, last_block.get(stage, 0))
    if not last_block:
        _fail("model", model.name, "a ResNet with `conv{stage}_block{n}_out` layers")
    preact = any(layer.name == "post_relu" for layer in model.layers)
    outputs = {}
    for stage, index in sorted(last_block.items()):
        layer_name = f"conv{stage}_block{index}_out"
        if preact:
            is_last = stage == max(last_block)
            layer_name = "post_relu" if is_last else f"conv{stage}_block{index}_preact_relu"
        outputs[f"{names}{stage}"] = model.get_layer(layer_name).output
    backbone = keras.Model(model.input, outputs, name=f"{model.name}_features")
    backbone.strides = _strides(backbone)
    return backbone


def _strides(backbone):
    """Each output's stride over the input, from the strides of the convolutions and poolings
    on its way (every layer of a ResNet is called once, so each has one input and output)."""
    strides = {id(tensor): 1 for tensor in backbone.inputs}
    for layer in backbone.layers:
        inputs = layer.input if isinstance(layer.input, list | tuple) else [layer.input]
        stride = max((strides.get(id(tensor), 1) for tensor in inputs), default=1)
        strides[id(layer.output)] = stride * (getattr(layer, "strides", None) or (1,))[0]
    return {key: strides[id(tensor)] for key, tensor in backbone.output.items()}
