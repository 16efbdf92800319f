"""The ResNet family: one table from depth to blocks per stage, one builder for all of it, one table
of the options every model takes, and an explicit, registered builder per named model with
keras.applications' signature."""

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

import contextlib
import dataclasses
import inspect
import os
import re
import sys
import textwrap
from collections.abc import Callable, Sequence

import keras
from keras import layers

from keras_resnet import (
    blocks,
    optimizers,  # noqa: F401  (registers SGD and AdamW, which checkpoints hold, for load_model)
)
from keras_resnet import weights as weights_lib
from keras_resnet._checks import is_int, is_number
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
    "v1": blocks.BlockConfig(
        use_bias=True, bn_epsilon=1.001e-5, bn_momentum=0.99, stride_in_1x1=True
    ),
    # He et al. 2019 (Bag of Tricks) ResNet-D, timm's resnet*d: v1.5 with a deep stem and
    # average-pool downsampling in projection shortcuts.
    "v1d": blocks.BlockConfig(avg_down=True),
    # keras.applications' ResNet50V2/101V2/152V2: pre-activation blocks (He et al. 2016).
    "v2": blocks.BlockConfig(use_bias=True, bn_epsilon=1.001e-5, bn_momentum=0.99),
}

# The preprocessing each variant's usual weights were trained with (see `preprocess_input`).
VARIANT_PREPROCESSING = {"v1.5": "torch", "v1d": "torch", "v1": "caffe", "v2": "tf"}

BLOCKS = {
    ("basic", False): blocks.basic_block,
    ("bottleneck", False): blocks.bottleneck_block,
    ("basic", True): blocks.preact_basic_block,
    ("bottleneck", True): blocks.preact_bottleneck_block,
}

# What a stem's nets default to: ImageNet's 224x224 crops and 1,000 classes; CIFAR's 32x32
# images and 10 classes, with 16 filters in the stem and first stage (He et al. 2015, sec. 4.2).
STEM_DEFAULTS = {
    "imagenet": {"size": 224, "classes": 1000, "filters": 64},
    "cifar": {"size": 32, "classes": 10, "filters": 16},
}
STEMS = tuple(STEM_DEFAULTS)
POOLINGS = (None, "avg", "max")
DATA_FORMATS = ("channels_last", "channels_first")


def _fail(argument, value, accepted):
    raise ValueError(f"`{argument}` must be {accepted}; received {argument}={value!r}.")


@contextlib.contextmanager
def recursion_limit(limit: int = 20_000):
    """Raises Python's recursion limit to at least `limit` inside the block, then restores it.

    Keras maps a Functional graph recursively, about three frames per layer: ResNet-1202's
    4,212 layers overflow Python's default limit of 1,000 when Keras builds, loads or clones
    it. The builders and `load_model` use this themselves.

    Example:
        >>> with recursion_limit():
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
        >>> model = keras_resnet.load_model("runs/resnet20-digits/last.keras")
    """
    with recursion_limit():
        return keras.saving.load_model(path, **kwargs)


# --- the options every model takes ------------------------------------------------------------


def _option(default, doc: str):
    """A `ModelOptions` field: its default and the line that documents it in every docstring."""
    return dataclasses.field(default=default, metadata={"doc": doc})


@dataclasses.dataclass(frozen=True)
class ModelOptions:
    """The keyword-only options of `ResNet` and of the named builders, in one table: each
    field's default and documentation line, and in `check` what it accepts.

    The builders' and `ResNet`'s docstrings document their options from these fields, and the
    fields that `blocks.BlockConfig` shares by name reach every block. So an option is added
    here (a field and its check), in the signatures of `ResNet` and of the builders that take
    it (explicit, for IDEs and the docs), and where blocks.py uses it.

    Example:
        >>> ModelOptions(se_ratio=2.0).check("basic")
        Traceback (most recent call last):
        ValueError: `se_ratio` must be None or a number in (0, 1]; received se_ratio=2.0.
    """

    variant: str = _option(
        "v1.5",
        '"v1.5" (torchvision, the default), "v1" (keras.applications ResNet50), "v1d" '
        "(ResNet-D: deep stem, average-pool shortcuts; ImageNet stems only), "
        '"v2" (pre-activation, keras.applications ResNet50V2).',
    )
    stem: str = _option(
        "imagenet",
        '"imagenet" (7x7 stride-2 conv and 3x3 stride-2 max-pool) or "cifar" (3x3 conv, no pool).',
    )
    filters: int = _option(64, "filters of the stem and of the first stage.")
    shortcut: str | None = _option(
        None,
        'CIFAR nets only: "A" (parameter-free zero-padded identity; the named CIFAR nets\' '
        'default, as in the paper) or "B" (1x1 projection; what None means) where shapes change.',
    )
    zero_init_residual: bool = _option(
        False, "start each residual branch's last BatchNorm gamma at 0."
    )
    drop_path_rate: float = _option(
        0.0,
        "stochastic depth: the drop rate of the last block; it rises linearly from 0 at the "
        "first (Huang et al. 2016). Identity at inference.",
    )
    se_ratio: float | None = _option(
        None, "add squeeze-and-excitation with this reduction ratio (e.g. 1/16); None for none."
    )
    groups: int = _option(
        1, "groups of the bottleneck's 3x3 conv (ResNeXt: 32 with width_per_group=4 is 32x4d)."
    )
    width_per_group: int = _option(
        64,
        "bottleneck width per group (64: ResNet; 4 with groups=32: ResNeXt-50 32x4d; "
        "128: Wide ResNet-50-2).",
    )
    plain: bool = _option(False, "remove every shortcut (the paper's plain baseline).")
    synchronized_bn: bool = _option(
        False,
        "synchronise BatchNorm statistics across the replicas of a tf.distribute strategy "
        "(TensorFlow backend only).",
    )
    include_preprocessing: bool = _option(
        False,
        "the model takes raw RGB pixels in [0, 255] and applies `preprocess_input` itself (a "
        "layer named `preprocessing`), so exports take images as they come.",
    )
    preprocessing: str | None = _option(
        None,
        "the `preprocess_input` mode; defaults to the one the weights were trained with "
        '("torch" for v1.5/v1d, "caffe" for v1, "tf" for v2).',
    )
    data_format: str | None = _option(
        None,
        '"channels_last" (NHWC) or "channels_first" (NCHW); None follows '
        "`keras.config.image_data_format()`. The weights are the same in both.",
    )

    def __post_init__(self):
        if not self.data_format:  # None: Keras' global setting, as every Keras layer reads it
            object.__setattr__(self, "data_format", keras.config.image_data_format())

    @classmethod
    def of(cls, arguments: dict) -> "ModelOptions":
        """The options among a builder's arguments (its `locals()`)."""
        return cls(**{field.name: arguments[field.name] for field in dataclasses.fields(cls)})

    def check(self, block: str) -> None:
        """Raises a ValueError naming the first option that is not accepted with `block`."""
        if self.variant not in VARIANTS:
            _fail("variant", self.variant, f"one of {sorted(VARIANTS)}")
        if self.stem not in STEMS:
            _fail("stem", self.stem, f"one of {STEMS}")
        if self.data_format not in DATA_FORMATS:
            _fail("data_format", self.data_format, "None, 'channels_last' or 'channels_first'")
        if self.shortcut is not None and self.stem != "cifar":
            _fail(
                "shortcut",
                self.shortcut,
                "None on ImageNet ResNets (shortcut options A/B are the CIFAR nets')",
            )
        if self.shortcut not in (None, "A", "B"):
            _fail("shortcut", self.shortcut, "'A' (zero-padded identity) or 'B' (1x1 projection)")
        if self.variant == "v1d" and self.stem == "cifar":
            _fail(
                "variant",
                self.variant,
                "'v1.5', 'v1' or 'v2' for CIFAR nets, which have no ImageNet stem to deepen",
            )
        for field in dataclasses.fields(self):
            if field.type is bool and not isinstance(getattr(self, field.name), bool):
                _fail(field.name, getattr(self, field.name), "True or False")
        if self.synchronized_bn and keras.backend.backend() != "tensorflow":
            _fail(
                "synchronized_bn",
                True,
                f"False on the {keras.backend.backend()!r} backend (Keras synchronises "
                "BatchNorm statistics across replicas only under tf.distribute, on the "
                "'tensorflow' backend)",
            )
        se_ratio, rate = self.se_ratio, self.drop_path_rate
        if se_ratio is not None and not (is_number(se_ratio) and 0 < se_ratio <= 1):
            _fail("se_ratio", se_ratio, "None or a number in (0, 1]")
        if not (is_number(rate) and 0 <= rate < 1):
            _fail("drop_path_rate", rate, "a number in [0, 1)")
        for field in ("groups", "width_per_group"):
            if not is_int(getattr(self, field)) or getattr(self, field) < 1:
                _fail(field, getattr(self, field), "an integer >= 1")
        if block == "basic" and (self.groups, self.width_per_group) != (1, 64):
            _fail(
                "groups",
                (self.groups, self.width_per_group),
                "groups=1 and width_per_group=64 with basic blocks (grouped and wide convs are "
                "bottleneck options)",
            )
        if self.plain and rate:
            _fail(
                "drop_path_rate",
                rate,
                "0 with plain=True (stochastic depth drops residual branches, and a plain net "
                "has no shortcut to keep)",
            )
        if self.zero_init_residual and (self.plain or self.variant == "v2"):
            _fail(
                "zero_init_residual",
                True,
                "False with plain=True or variant='v2' (there is no last BatchNorm of a residual "
                "branch to zero)",
            )

    def block_config(self) -> blocks.BlockConfig:
        """The variant's `BlockConfig`, with every option whose name it shares."""
        shared = {field.name for field in dataclasses.fields(self)} & {
            field.name for field in dataclasses.fields(blocks.BlockConfig)
        }
        values = {name: getattr(self, name) for name in shared}
        # ImageNet nets take no shortcut option: they project ("B") where shapes change.
        values["shortcut"] = self.shortcut or "B"
        return dataclasses.replace(VARIANTS[self.variant], **values)


def _options_doc(function: Callable) -> str:
    """The Args lines of `function`'s keyword-only parameters, from `ModelOptions`' fields."""
    docs = {field.name: field.metadata["doc"] for field in dataclasses.fields(ModelOptions)}
    lines = [
        textwrap.fill(
            f"{name}: {docs[name]}",
            96,
            initial_indent=" " * 8,
            subsequent_indent=" " * 12,
            break_long_words=False,
            break_on_hyphens=False,
        )
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    return "\n".join(lines).lstrip()


def _with_options_doc(function: Callable) -> Callable:
    """Writes `function`'s options, from `ModelOptions`, where its docstring says {options}."""
    if function.__doc__:  # None under `python -OO`
        function.__doc__ = function.__doc__.replace("{options}", _options_doc(function))
    return function


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


# --- the network ------------------------------------------------------------------------------


def _model_input(
    input_tensor, input_shape, *, include_top, weights, default_size, min_size, data_format
):
    """The Input layer and its shape checks, following keras.applications' conventions."""
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
    if weights is not None and channels != 3:
        _fail(
            "input_shape",
            input_shape,
            "a shape with 3 channels when `weights` is given (the weights take RGB)",
        )
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
        x = layers.Activation("relu", name="conv1_relu")(x)
    if stem == "imagenet":
        # Zero padding equals PyTorch's -inf padding here: inputs are >= 0 after the ReLU.
        x = layers.ZeroPadding2D(1, data_format=config.data_format, name="pool1_pad")(x)
        x = layers.MaxPooling2D(3, strides=2, data_format=config.data_format, name="pool1_pool")(x)
    return x


def _head_dtype():
    # Under a mixed policy the classifier computes in float32, so softmax and the loss
    # keep their precision (Keras' mixed precision guide).
    policy = keras.config.dtype_policy()
    return "float32" if policy.compute_dtype != policy.variable_dtype else None


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
    preact = variant == "v2"
    stem_stride = 4 if stem == "imagenet" else 1
    total_blocks = sum(stage_sizes)
    with recursion_limit(20 * total_blocks + 1000):  # ResNet-1202: 4,212 layers
        inputs = _model_input(
            input_tensor,
            input_shape,
            include_top=include_top,
            weights=weights,
            default_size=STEM_DEFAULTS[stem]["size"],
            min_size=stem_stride * 2 ** (len(stage_sizes) - 1),
            data_format=data_format,
        )
        x = inputs
        if include_preprocessing:
            mode = (
                preprocessing
                or getattr(weights, "preprocessing", None)
                or VARIANT_PREPROCESSING[variant]
            )
            x = ImagePreprocessing(mode, data_format=data_format, name="preprocessing")(x)
        x = _stem(x, stem=stem, variant=variant, filters=filters, config=config)

        block_fn = BLOCKS[block, preact]
        index = 0
        for stage, num_blocks in enumerate(stage_sizes):
            for i in range(num_blocks):
                if preact:
                    # keras.applications' ResNetV2 strides in the last block of every stage
                    # but the last, where the stride-1 identity shortcut is a subsample.
                    strides = 2 if i == num_blocks - 1 and stage < len(stage_sizes) - 1 else 1
                else:
                    strides = 2 if i == 0 and stage > 0 else 1
                x = block_fn(
                    x,
                    filters * 2**stage,
                    strides=strides,
                    drop_rate=drop_path_rate * index / max(total_blocks - 1, 1),
                    name=f"conv{stage + 2}_block{i + 1}",
                    config=config,
                )
                index += 1
        if preact:
            x = blocks.batch_norm(x, name="post_bn", config=config)
            x = layers.Activation("relu", name="post_relu")(x)

        if include_top:
            x = layers.GlobalAveragePooling2D(data_format=data_format, name="avg_pool")(x)
            x = layers.Dense(
                classes, activation=classifier_activation, dtype=_head_dtype(), name="predictions"
            )(x)
        elif pooling == "avg":
            x = layers.GlobalAveragePooling2D(data_format=data_format, name="avg_pool")(x)
        elif pooling == "max":
            x = layers.GlobalMaxPooling2D(data_format=data_format, name="max_pool")(x)

        if input_tensor is not None:
            sources = keras.utils.get_source_inputs(input_tensor)
            inputs = sources[0] if len(sources) == 1 else sources
        model = keras.Model(inputs, x, name=name)
    if weights is not None:
        weights_lib.load_weights(model, weights)
    return model


# --- the named models -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A named model: its builder and what the builder binds, as `MODELS` holds it (timm's
    registry entry; flax's `partial(ResNet, stage_sizes=..., block_cls=...)`).

    A spec calls its builder, and its `__name__`, `__doc__` and `inspect.signature` are the
    builder's, so `MODELS[name](classes=10)` builds the model.

    Example:
        >>> spec = keras_resnet.MODELS["resnext50_32x4d"]
        >>> spec.builder is keras_resnet.ResNeXt50_32x4d, spec.groups, spec.default_size
        (True, 32, 224)
    """

    name: str
    builder: Callable[..., keras.Model]
    block: str
    stage_sizes: tuple[int, ...]
    stem: str = "imagenet"
    groups: int = 1
    width_per_group: int = 64

    def __post_init__(self):
        # `MODELS[name]` is what code took for the builder function: its name, docstring and
        # signature (what `inspect.signature` and IDEs show) are the builder's.
        for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
            object.__setattr__(self, attribute, getattr(self.builder, attribute))
        object.__setattr__(self, "__wrapped__", self.builder)

    def __call__(self, *args, **kwargs) -> keras.Model:
        return self.builder(*args, **kwargs)

    @property
    def is_cifar(self) -> bool:
        """A net for 32x32 CIFAR images, with a 3x3 stem and no max-pool."""
        return self.stem == "cifar"

    @property
    def default_size(self) -> int:
        """The input's height and width with the top: 224, or 32 for CIFAR nets."""
        return STEM_DEFAULTS[self.stem]["size"]

    @property
    def default_classes(self) -> int:
        """The builder's default `classes`: 1000, or 10 for CIFAR nets."""
        return STEM_DEFAULTS[self.stem]["classes"]

    @property
    def bound_options(self) -> dict:
        """The `ResNet` options this model fixes; ResNet-50 to -200 take groups and width."""
        return {
            "stem": self.stem,
            "filters": STEM_DEFAULTS[self.stem]["filters"],
            "groups": self.groups,
            "width_per_group": self.width_per_group,
        }


MODELS: dict[str, ModelSpec] = {}

_DOCSTRING = """{about}

    keras.applications' arguments, then the keyword-only options this model takes
    (`keras_resnet.ModelOptions`).

    Args:
        include_top: end with global average pooling and a `classes`-way classifier.
        weights: None (random), a file (`.safetensors` in torchvision/timm names,
            `.weights.h5`, `.keras`, keras.applications' `.h5`), or published weights:
            {published}.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: (height, width, 3), or (3, height, width) channels first; default
            {size}x{size} with the top, any size without.
        pooling: without the top: None, "avg" or "max".
        classes: number of classes of the top (default {classes}).
        classifier_activation: "softmax" by default; None for logits.
        name: the model's name (default "{model_name}", with "v2" or "d" for those variants).
        {options}

    Returns:
        A Functional `keras.Model`.

    Example:
        >>> model = keras_resnet.{builder}(classes=10)
    """


def register_model(
    name: str,
    block: str,
    stage_sizes: Sequence[int],
    *,
    about: str,
    stem: str = "imagenet",
    groups: int = 1,
    width_per_group: int = 64,
) -> Callable[[Callable], Callable]:
    """Registers a named builder in `MODELS` as a `ModelSpec` (timm's and torchvision's
    `@register_model`) and writes its docstring; a name already registered is refused.

    Example:
        >>> @register_model("resnet26", "bottleneck", (2, 2, 2, 2), about="ResNet-26.")
        ... def ResNet26(classes: int = 1000, *, variant: str = "v1.5") -> keras.Model:
        ...     return ResNet("bottleneck", (2, 2, 2, 2), classes=classes, variant=variant)
        >>> MODELS["resnet26"].stage_sizes
        (2, 2, 2, 2)
    """

    def register(builder):
        if name in MODELS:
            raise ValueError(
                f"`name` must be a name not yet in `MODELS`; received name={name!r}: an entry "
                f"is already registered under the name {name!r} ({MODELS[name].__name__})."
            )
        published = [f'"{tag}"' for tag in weights_lib.published_tags(name)]
        size, classes = STEM_DEFAULTS[stem]["size"], STEM_DEFAULTS[stem]["classes"]
        builder.__doc__ = _DOCSTRING.format(
            about=about,
            published=", ".join(['"imagenet"', *published]) if published else "none yet",
            size=size,
            classes=classes,
            model_name=name,
            options=_options_doc(builder),
            builder=builder.__name__,
        )
        MODELS[name] = ModelSpec(
            name, builder, block, tuple(stage_sizes), stem, groups, width_per_group
        )
        return builder

    return register


def _named(model_name: str, arguments: dict) -> keras.Model:
    """Builds the registered `model_name` from its builder's arguments."""
    spec = MODELS[model_name]
    options = {**spec.bound_options, **arguments}
    if weights_lib.is_published_name(options["weights"]):
        options["weights"] = weights_lib.published(
            model_name, options["weights"], options["variant"]
        )
    options["name"] = options["name"] or model_name + {"v2": "v2", "v1d": "d"}.get(
        options["variant"], ""
    )
    return ResNet(spec.block, spec.stage_sizes, **options)


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
) -> keras.Model:
    return _named("wide_resnet101_2", locals())


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
