"""The ResNet family: one table from depth to blocks per stage, one builder for all of it."""

import dataclasses
import re
import sys
from collections.abc import Sequence

import keras
from keras import layers

from keras_resnet import blocks
from keras_resnet import weights as weights_lib
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

VARIANTS = {
    # torchvision's ResNet, the default: stride on the bottleneck's 3x3 conv, no conv bias.
    "v1.5": blocks.BlockConfig(),
    # keras.applications' ResNet50/101/152 (the original Caffe model): biased convs,
    # stride on the bottleneck's first 1x1 conv, Keras' default BatchNorm momentum.
    "v1": blocks.BlockConfig(use_bias=True, bn_epsilon=1.001e-5, bn_momentum=0.99, stride_in_1x1=True),
    # He et al. 2019 (Bag of Tricks) ResNet-D, timm's resnet*d: v1.5 with a deep stem and
    # average-pool downsampling in projection shortcuts.
    "v1d": blocks.BlockConfig(avg_down=True),
    # keras.applications' ResNet50V2/101V2/152V2: pre-activation blocks (He et al. 2016).
    "v2": blocks.BlockConfig(use_bias=True, bn_epsilon=1.001e-5, bn_momentum=0.99),
}

BLOCKS = {
    ("basic", False): blocks.basic_block,
    ("bottleneck", False): blocks.bottleneck_block,
    ("basic", True): blocks.preact_basic_block,
    ("bottleneck", True): blocks.preact_bottleneck_block,
}
STEMS = ("imagenet", "cifar")
POOLINGS = (None, "avg", "max")


def _fail(argument, value, accepted):
    raise ValueError(f"`{argument}` must be {accepted}; received {argument}={value!r}.")


def _check_options(block, stage_sizes, variant, stem, classes, pooling, shortcut, options):
    if block not in ("basic", "bottleneck"):
        _fail("block", block, "'basic' or 'bottleneck'")
    if not stage_sizes or not all(isinstance(n, int) and n >= 1 for n in stage_sizes):
        _fail("stage_sizes", stage_sizes, "a non-empty sequence of block counts >= 1")
    if variant not in VARIANTS:
        _fail("variant", variant, f"one of {sorted(VARIANTS)}")
    if stem not in STEMS:
        _fail("stem", stem, f"one of {STEMS}")
    if not isinstance(classes, int) or classes < 1:
        _fail("classes", classes, "an integer >= 1")
    if pooling not in POOLINGS:
        _fail("pooling", pooling, "None, 'avg' or 'max'")
    if shortcut is not None and stem != "cifar":
        _fail("shortcut", shortcut, "None on ImageNet ResNets (shortcut options A/B are the CIFAR nets')")
    if shortcut not in (None, "A", "B"):
        _fail("shortcut", shortcut, "'A' (zero-padded identity) or 'B' (1x1 projection)")
    if variant == "v1d" and stem == "cifar":
        _fail("variant", variant, "'v1.5', 'v1' or 'v2' for CIFAR nets, which have no ImageNet stem to deepen")
    se_ratio = options["se_ratio"]
    if se_ratio is not None and not (isinstance(se_ratio, (int, float)) and 0 < se_ratio <= 1):
        _fail("se_ratio", se_ratio, "None or a number in (0, 1]")
    rate = options["drop_path_rate"]
    if not (isinstance(rate, (int, float)) and 0 <= rate < 1):
        _fail("drop_path_rate", rate, "a number in [0, 1)")
    groups, width = options["groups"], options["width_per_group"]
    if not isinstance(groups, int) or groups < 1:
        _fail("groups", groups, "an integer >= 1")
    if not isinstance(width, int) or width < 1:
        _fail("width_per_group", width, "an integer >= 1")
    if block == "basic" and (groups, width) != (1, 64):
        _fail("groups", (groups, width), "groups=1 and width_per_group=64 with basic blocks (grouped and wide convs are bottleneck options)")
    if options["plain"] and rate:
        _fail("drop_path_rate", rate, "0 with plain=True (stochastic depth drops residual branches, and a plain net has no shortcut to keep)")
    if options["zero_init_residual"] and (options["plain"] or variant == "v2"):
        _fail("zero_init_residual", True, "False with plain=True or variant='v2' (there is no last BatchNorm of a residual branch to zero)")


def _model_input(input_tensor, input_shape, *, include_top, weights, default_size, min_size):
    """The Input layer and its shape checks, following keras.applications' conventions."""
    if input_shape is None:
        if input_tensor is not None:
            input_shape = tuple(input_tensor.shape[1:])
        else:
            input_shape = (default_size, default_size, 3) if include_top else (None, None, 3)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        _fail("input_shape", input_shape, "(height, width, channels), channels last")
    if input_shape[2] is None or input_shape[2] < 1:
        _fail("input_shape", input_shape, "a shape with a known channel count")
    if weights is not None and input_shape[2] != 3:
        _fail("input_shape", input_shape, "a shape with 3 channels when `weights` is given (the weights take RGB)")
    for size in input_shape[:2]:
        if size is not None and size < min_size:
            _fail("input_shape", input_shape, f"at least {min_size}x{min_size} pixels (the net's total stride) or None")
    if input_tensor is None:
        return layers.Input(shape=input_shape, name="images")
    if not keras.backend.is_keras_tensor(input_tensor):
        return layers.Input(tensor=input_tensor, shape=input_shape, name="images")
    return input_tensor


def _stem(x, *, stem, variant, filters, config):
    """conv1 (and pool1 on ImageNet nets). Pre-activation nets leave conv1 un-normalised."""
    preact = variant == "v2"
    if stem == "cifar":
        x = blocks.conv(x, filters, 3, use_bias=config.use_bias, name="conv1")
    elif variant == "v1d":
        # Three 3x3 convs replace the 7x7 (He et al. 2019; timm's conv1.0/.3/.6).
        x = blocks.conv_bn(x, filters // 2, 3, strides=2, name="conv1_1", config=config)
        x = blocks.conv_bn(x, filters // 2, 3, name="conv1_2", config=config)
        x = blocks.conv(x, filters, 3, name="conv1_3")
    else:
        x = blocks.conv(x, filters, 7, strides=2, use_bias=config.use_bias, name="conv1")
    if not preact:
        x = blocks.batch_norm(x, name="conv1_bn", config=config)
        x = layers.Activation("relu", name="conv1_relu")(x)
    if stem == "imagenet":
        # Zero padding equals PyTorch's -inf padding here: inputs are >= 0 after the ReLU.
        x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
        x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    return x


def _head_dtype():
    # Under a mixed policy the classifier computes in float32, so softmax and the loss
    # keep their precision (Keras' mixed precision guide).
    policy = keras.config.dtype_policy()
    return "float32" if policy.compute_dtype != policy.variable_dtype else None


# The preprocessing each variant's usual weights were trained with (see `preprocess_input`).
VARIANT_PREPROCESSING = {"v1.5": "torch", "v1d": "torch", "v1": "caffe", "v2": "tf"}


def ResNet(
    block: str,
    stage_sizes: Sequence[int],
    include_top: bool = True,
    weights: str | None = None,
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
) -> keras.Model:
    """Builds any ResNet as a Keras Functional model; every named depth is one call of this.

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
        input_shape: (height, width, channels); defaults to 224x224x3 (32x32x3 for CIFAR
            nets) with the top, (None, None, 3) without.
        pooling: without the top: None (the 4D feature map), "avg" or "max".
        classes: number of classes of the top.
        classifier_activation: activation of the top, e.g. "softmax" or None for logits.
        name: the model's name.
        variant: "v1.5" (torchvision, default), "v1" (keras.applications ResNet50),
            "v1d" (ResNet-D: deep stem, average-pool shortcuts), "v2" (pre-activation,
            keras.applications ResNet50V2).
        stem: "imagenet" (7x7 stride-2 conv and 3x3 stride-2 max-pool) or "cifar" (3x3
            conv, no pool).
        filters: filters of the stem and of the first stage.
        shortcut: CIFAR nets only: "A" (parameter-free zero-padded identity) or "B"
            (1x1 projection, the default) where shapes change.
        zero_init_residual: start each residual branch's last BatchNorm gamma at 0.
        drop_path_rate: stochastic depth: the drop rate of the last block; it rises
            linearly from 0 at the first (Huang et al. 2016). Identity at inference.
        se_ratio: add squeeze-and-excitation with this reduction ratio (e.g. 1/16).
        groups: groups of the bottleneck's 3x3 conv (ResNeXt).
        width_per_group: bottleneck width per group (64: ResNet; 4 with groups=32:
            ResNeXt-50 32x4d; 128: Wide ResNet-50-2).
        plain: remove every shortcut (the paper's plain baseline).
        synchronized_bn: synchronise BatchNorm statistics across replicas.
        include_preprocessing: the model takes raw RGB pixels in [0, 255] and applies
            `preprocess_input` itself (a layer named `preprocessing`), so exports take images
            as they come.
        preprocessing: the `preprocess_input` mode; defaults to the one the weights were
            trained with ("torch" for v1.5/v1d, "caffe" for v1, "tf" for v2).

    Returns:
        A `keras.Model`.

    Example:
        >>> tiny = ResNet("basic", (1, 1, 1, 1), filters=8, classes=10, input_shape=(32, 32, 3))
        >>> tiny.output_shape
        (None, 10)
    """
    options = dict(
        zero_init_residual=zero_init_residual, drop_path_rate=drop_path_rate, se_ratio=se_ratio,
        groups=groups, width_per_group=width_per_group, plain=plain,
    )
    _check_options(block, stage_sizes, variant, stem, classes, pooling, shortcut, options)
    config = dataclasses.replace(
        VARIANTS[variant], shortcut=shortcut or "B", synchronized_bn=synchronized_bn, **{
            key: value for key, value in options.items() if key != "drop_path_rate"
        }
    )
    preact = variant == "v2"
    stem_stride = 4 if stem == "imagenet" else 1
    inputs = _model_input(
        input_tensor, input_shape, include_top=include_top, weights=weights,
        default_size=224 if stem == "imagenet" else 32,
        min_size=stem_stride * 2 ** (len(stage_sizes) - 1),
    )
    x = inputs
    if include_preprocessing:
        mode = preprocessing or getattr(weights, "preprocessing", None) or VARIANT_PREPROCESSING[variant]
        x = ImagePreprocessing(mode, name="preprocessing")(x)
    x = _stem(x, stem=stem, variant=variant, filters=filters, config=config)

    block_fn = BLOCKS[block, preact]
    total_blocks, index = sum(stage_sizes), 0
    # Keras maps a Functional graph recursively, about one frame per layer: ResNet-1202's
    # 4,212 layers overflow Python's default limit of 1,000. Raised, never lowered, so that
    # saving and loading the model in this process work too.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20 * total_blocks + 1000))
    for stage, num_blocks in enumerate(stage_sizes):
        for i in range(num_blocks):
            if preact:
                # keras.applications' ResNetV2 strides in the last block of every stage
                # but the last, where the stride-1 identity shortcut is a subsample.
                strides = 2 if i == num_blocks - 1 and stage < len(stage_sizes) - 1 else 1
            else:
                strides = 2 if i == 0 and stage > 0 else 1
            x = block_fn(
                x, filters * 2**stage, strides=strides,
                drop_rate=drop_path_rate * index / max(total_blocks - 1, 1),
                name=f"conv{stage + 2}_block{i + 1}", config=config,
            )
            index += 1
    if preact:
        x = blocks.batch_norm(x, name="post_bn", config=config)
        x = layers.Activation("relu", name="post_relu")(x)

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, dtype=_head_dtype(), name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)

    if input_tensor is not None:
        sources = keras.utils.get_source_inputs(input_tensor)
        inputs = sources[0] if len(sources) == 1 else sources
    model = keras.Model(inputs, x, name=name)
    if weights is not None:
        weights_lib.load_weights(model, weights)
    return model


def _named_builder(model_name, block, stage_sizes, *, stem="imagenet", classes=1000, about="", **bound):
    """One public builder (ResNet50, ResNet20, ...) with keras.applications' signature."""

    def builder(
        include_top: bool = True,
        weights: str | None = None,
        input_tensor=None,
        input_shape: tuple | None = None,
        pooling: str | None = None,
        classes: int = classes,
        classifier_activation="softmax",
        name: str | None = None,
        **options,
    ) -> keras.Model:
        if stem == "cifar":
            options.setdefault("shortcut", "A")
        for key, value in bound.items():
            if options.get(key, value) != value:
                _fail(key, options[key], f"{value!r} for {model_name} (use ResNet() for other settings)")
        variant = options.get("variant", "v1.5")
        if weights_lib.is_published_name(weights):
            weights = weights_lib.published(model_name, weights, variant)
        return ResNet(
            block, stage_sizes, include_top, weights, input_tensor, input_shape, pooling,
            classes, classifier_activation,
            name or model_name + {"v2": "v2", "v1d": "d"}.get(variant, ""),
            stem=stem, filters=16 if stem == "cifar" else 64, **{**bound, **options},
        )

    builder.__name__ = builder.__qualname__ = _public_name(model_name)
    builder.default_size = 32 if stem == "cifar" else 224
    builder.__doc__ = f"""{about}

    Same arguments as keras.applications' ResNet50, plus keyword-only options of
    `keras_resnet.ResNet` (variant, zero_init_residual, drop_path_rate, se_ratio, groups,
    width_per_group, plain, synchronized_bn{", shortcut" if stem == "cifar" else ""}).

    Example:
        >>> model = keras_resnet.{builder.__name__}(classes=10)
    """
    return builder


def _public_name(model_name):
    name = re.sub(r"^resnet", "ResNet", model_name)
    name = re.sub(r"^resnext", "ResNeXt", name)
    return re.sub(r"^wide_resnet", "WideResNet", name)


MODELS = {}
for _depth, (_block, _sizes) in IMAGENET_DEPTHS.items():
    MODELS[f"resnet{_depth}"] = _named_builder(
        f"resnet{_depth}", _block, _sizes,
        about=f"ResNet-{_depth} for ImageNet-sized inputs ({_block} blocks {_sizes}).",
    )
for _depth, _n in CIFAR_DEPTHS.items():
    MODELS[f"resnet{_depth}"] = _named_builder(
        f"resnet{_depth}", "basic", (_n, _n, _n), stem="cifar", classes=10,
        about=f"ResNet-{_depth} for 32x32 CIFAR images (He et al. 2015, sec. 4.2: 3 stages of {_n} basic blocks).",
    )
for _model_name, _depth, _groups, _width in [
    ("resnext50_32x4d", 50, 32, 4),
    ("resnext101_32x8d", 101, 32, 8),
    ("resnext101_64x4d", 101, 64, 4),
    ("wide_resnet50_2", 50, 1, 128),
    ("wide_resnet101_2", 101, 1, 128),
]:
    MODELS[_model_name] = _named_builder(
        _model_name, *IMAGENET_DEPTHS[_depth], groups=_groups, width_per_group=_width,
        about=f"torchvision's {_model_name}: ResNet-{_depth} with groups={_groups}, width_per_group={_width}.",
    )


def build(model_name: str, **kwargs) -> keras.Model:
    """Builds a named model, e.g. `build("resnet50", classes=10)`; names are `MODELS`' keys.

    Example:
        >>> build("resnet20").count_params() > 0
        True
    """
    if model_name not in MODELS:
        _fail("model_name", model_name, f"one of {list(MODELS)}")
    return MODELS[model_name](**kwargs)


def feature_extractor(model: keras.Model) -> keras.Model:
    """A model that returns the stage outputs of a ResNet, for detection and segmentation.

    The outputs are a dict {"C2": ..., "C5": ...} keyed by stage (`conv2` -> "C2"); on
    ImageNet nets their strides are 4, 8, 16, 32. For pre-activation (v2) nets, whose
    blocks stride at the end of a stage, C_k is the normalised input of stage k's last
    block and the last one is `post_relu`. Works on keras.applications' ResNets too.

    Example:
        >>> backbone = feature_extractor(ResNet50(include_top=False, input_shape=(64, 64, 3)))
        >>> {k: v.shape for k, v in backbone.output.items()}["C5"]
        (None, 2, 2, 2048)
    """
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
        outputs[f"C{stage}"] = model.get_layer(layer_name).output
    return keras.Model(model.input, outputs, name=f"{model.name}_features")

# The public builders, one per named model.
ResNet18 = MODELS["resnet18"]
ResNet34 = MODELS["resnet34"]
ResNet50 = MODELS["resnet50"]
ResNet101 = MODELS["resnet101"]
ResNet152 = MODELS["resnet152"]
ResNet200 = MODELS["resnet200"]
ResNet20 = MODELS["resnet20"]
ResNet32 = MODELS["resnet32"]
ResNet44 = MODELS["resnet44"]
ResNet56 = MODELS["resnet56"]
ResNet110 = MODELS["resnet110"]
ResNet1202 = MODELS["resnet1202"]
ResNeXt50_32x4d = MODELS["resnext50_32x4d"]
ResNeXt101_32x8d = MODELS["resnext101_32x8d"]
ResNeXt101_64x4d = MODELS["resnext101_64x4d"]
WideResNet50_2 = MODELS["wide_resnet50_2"]
WideResNet101_2 = MODELS["wide_resnet101_2"]
