"""The named models: `MODELS`, the registry of `ModelSpec`s that `register_model` fills (writing
each builder's docstring from one template), and `build`, which builds one by its name."""

import dataclasses
from collections.abc import Callable, Sequence

import keras

from keras_resnet import weights as weights_lib
from keras_resnet.models.options import STEM_DEFAULTS, _fail, _options_doc
from keras_resnet.models.resnet import ResNet


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
        >>> model.output_shape
        (None, 10)
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
        >>> del MODELS["resnet26"]  # a registration lasts as long as the process
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


def build(model_name: str, **kwargs) -> keras.Model:
    """Builds a named model, e.g. `build("resnet50", classes=10)`; names are `MODELS`' keys.

    Example:
        >>> build("resnet20").count_params() > 0
        True
    """
    if model_name not in MODELS:
        _fail("model_name", model_name, f"one of {list(MODELS)}")
    return MODELS[model_name](**kwargs)
