"""The options every model takes, in one table: `ModelOptions` holds each option's default, the
line that documents it in every builder's docstring and, in `check`, what it accepts, beside the
tables it checks against (the variants, the stems, the data formats)."""

import dataclasses
import inspect
import textwrap
from collections.abc import Callable

import keras

from keras_resnet import blocks
from keras_resnet._checks import is_int, is_number

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
    # keras.applications' ResNet50V2/101V2/152V2: pre-activation blocks (He et al. 2016), each
    # padding its 3x3 conv explicitly, as keras.applications lays them out (`_2_pad`).
    "v2": blocks.BlockConfig(use_bias=True, bn_epsilon=1.001e-5, bn_momentum=0.99, pad_3x3=True),
}

# The preprocessing each variant's usual weights were trained with (see `preprocess_input`).
VARIANT_PREPROCESSING = {"v1.5": "torch", "v1d": "torch", "v1": "caffe", "v2": "tf"}

# What a stem's nets default to: ImageNet's 224x224 crops and 1,000 classes; CIFAR's 32x32
# images and 10 classes, with 16 filters in the stem and first stage (He et al. 2015, sec. 4.2).
STEM_DEFAULTS = {
    "imagenet": {"size": 224, "classes": 1000, "filters": 64},
    "cifar": {"size": 32, "classes": 10, "filters": 16},
}
STEMS = tuple(STEM_DEFAULTS)
DATA_FORMATS = ("channels_last", "channels_first")


def _fail(argument, value, accepted):
    raise ValueError(f"`{argument}` must be {accepted}; received {argument}={value!r}.")


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
        '("torch" for v1.5/v1d, "caffe" for v1, "tf" for v2). Inputs of other than 3 channels '
        'need `{"mean": [...], "std": [...]}` instead, one value per channel, for pixels in '
        "[0, 255].",
    )
    data_format: str | None = _option(
        None,
        '"channels_last" (NHWC) or "channels_first" (NCHW); None follows '
        "`keras.config.image_data_format()`. The weights are the same in both.",
    )

    dtype: object = _option(
        None,
        'the dtype policy of every layer: a name ("float32", "bfloat16", "float16", '
        '"mixed_bfloat16", "mixed_float16") or a `keras.DTypePolicy`; None: Keras\' global '
        "policy (keras-hub's `dtype=`).",
    )
    head_dtype: object = _option(
        None,
        "the classifier's dtype policy; None: float32 under a mixed policy (softmax and the "
        "loss keep their precision, as Keras' mixed precision guide advises), else the model's.",
    )
    output_stride: int | None = _option(
        None,
        "8, 16 or 32 (None: 32): the input's size over the last feature map's. 16 and 8 keep "
        "the last stages at 1/16 or 1/8 with dilated convolutions instead of strides, for "
        "semantic segmentation (DeepLab); torchvision's `replace_stride_with_dilation`, timm's "
        "`output_stride`. ImageNet stems only.",
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
        for field in ("dtype", "head_dtype"):
            if getattr(self, field) is not None:
                _check_policy(field, getattr(self, field))
        if self.output_stride not in (None, 8, 16, 32):
            _fail("output_stride", self.output_stride, "None, 8, 16 or 32")
        if self.output_stride not in (None, 32) and self.stem == "cifar":
            _fail(
                "output_stride",
                self.output_stride,
                "None on CIFAR nets (their last stage is at 1/4 of the input already)",
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


def _check_policy(field, value):
    """A Keras dtype policy: a name Keras knows or a `keras.DTypePolicy`."""
    accepted = (
        "None, a dtype policy name ('float32', 'bfloat16', 'float16', 'mixed_bfloat16', "
        "'mixed_float16') or a keras.DTypePolicy"
    )
    if not isinstance(value, str | keras.DTypePolicy):
        _fail(field, value, accepted)
    try:
        keras.dtype_policies.get(value)
    except (ValueError, TypeError):
        _fail(field, value, accepted)


def head_policy(dtype, head_dtype):
    """The classifier's dtype policy: `head_dtype`, else float32 under a mixed `dtype` (or mixed
    global policy, for None), so that softmax and the loss keep their precision; else `dtype`."""
    if head_dtype is not None:
        return head_dtype
    policy = keras.dtype_policies.get(dtype) if dtype is not None else keras.config.dtype_policy()
    return "float32" if policy.compute_dtype != policy.variable_dtype else dtype


def _options_doc(function: Callable, indent: str = " " * 8) -> str:
    """The Args lines of `function`'s keyword-only parameters, from `ModelOptions`' fields,
    indented by `indent` (continuation lines by four more)."""
    docs = {field.name: field.metadata["doc"] for field in dataclasses.fields(ModelOptions)}
    lines = [
        textwrap.fill(
            f"{name}: {docs[name]}",
            88 + len(indent),
            initial_indent=indent,
            subsequent_indent=indent + " " * 4,
            break_long_words=False,
            break_on_hyphens=False,
        )
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    return "\n".join(lines).lstrip()


def _with_options_doc(function: Callable) -> Callable:
    """Writes `function`'s options, from `ModelOptions`, where its docstring says {options}, at
    that line's indentation (Python 3.13 strips a docstring's common indentation; 3.11 keeps it)."""
    if function.__doc__:  # None under `python -OO`
        line = next(line for line in function.__doc__.splitlines() if "{options}" in line)
        indent = line[: len(line) - len(line.lstrip())]
        function.__doc__ = function.__doc__.replace("{options}", _options_doc(function, indent))
    return function
