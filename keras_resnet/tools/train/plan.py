"""A run's plan: its `TrainConfig` and its data, resolved once into the values every later step
reads (the recipe, the evaluation transform, the image size, the classes, the steps, the run's
identity), so that nothing is derived twice."""

import dataclasses
import json
import os
import warnings

from keras_resnet import weights as weights_lib
from keras_resnet.models import MODELS, ModelSpec
from keras_resnet.tools import data as data_lib
from keras_resnet.tools._tensorflow import tf
from keras_resnet.tools.config import TrainConfig

# What defines a run: the network, the data and the optimisation. A rerun in the same folder must
# match them; the other fields only continue it: more epochs, another peak learning rate (the way
# on after a diverged loss), verbosity, export settings, where data and devices come from.
IDENTITY = (
    "model",
    "model_options",
    "train_split",
    "eval_split",
    "batch_size",
    "optimizer",
    "nesterov",
    "momentum",
    "weight_decay",
    "schedule",
    "warmup_epochs",
    "label_smoothing",
    "precision",
    "seed",
)
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
# torchvision's V1 evaluation transform (256 -> 224, bilinear), for runs not started from weights
# that name their own.
DEFAULT_EVAL_TRANSFORM = {"crop_pct": 0.875, "interpolation": "bilinear"}


@dataclasses.dataclass(frozen=True)
class Plan:
    """Everything a run reads after it has resolved its config and looked at its data.

    Attributes:
        config: the run's `TrainConfig`, checked.
        spec: the registered model (`keras_resnet.MODELS[config.model]`).
        run_dir: the run folder.
        recipe: the augmentation recipe ("cifar", "imagenet" or "none").
        eval_transform: the imagenet recipe's evaluation resize and crop (`crop_pct`,
            `interpolation`).
        image_size: (height, width) the model takes.
        classes: the class names, in label order.
        train_examples: images in the training split (after the skipped files).
        steps_per_epoch: full global batches per epoch.
        data_path: a folder's absolute path (exports and evaluations find it from anywhere),
            else the data set's name.
        skipped: (path, reason) of every training file left out.
        identity: what defines the run (see `IDENTITY`) with the data it trains on.
    """

    config: TrainConfig
    spec: ModelSpec
    run_dir: str
    recipe: str
    eval_transform: dict
    image_size: tuple
    classes: tuple
    train_examples: int
    steps_per_epoch: int
    data_path: str
    skipped: tuple
    identity: dict

    @property
    def policy(self) -> str:
        """The Keras dtype policy of the run's precision."""
        return POLICIES[self.config.precision]

    @property
    def images_per_epoch(self) -> int:
        return self.steps_per_epoch * self.config.batch_size

    def data_changed(self, error: Exception) -> str | None:
        """Why the training data failed to read mid-run, when it is a folder whose files changed
        after the check before the first step (removed, truncated, replaced); else None. The
        folder is checked again to name the files."""
        message = str(error)
        if not (os.path.isdir(self.data_path) and ("ReadFile" in message or "Decode" in message)):
            return None
        # tf.data's line: "... transformation with iterator: Iterator::Root::...: <the error>".
        line = next((ln for ln in message.splitlines() if "with iterator: " in ln), message)
        read_error = line.split("with iterator: ", 1)[-1].split(": ", 1)[-1].strip()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the check's own report of skipped files
            try:
                _, info = data_lib.load(self.data_path, self.config.train_split)
            except ValueError as check:
                return f"{read_error}; {check}"
        known = {path for path, _ in self.skipped}
        new = [reason for path, reason in info.skipped if path not in known]
        gone = self.train_examples - len(new) - info.splits[self.config.train_split]
        found = [f"{len(new)} file(s) unreadable now ({'; '.join(new[:3])})"] if new else []
        found += [f"{gone} file(s) gone"] if gone > 0 else []
        return f"{read_error}; {', '.join(found) or 'the folder reads again now'}"


@dataclasses.dataclass(frozen=True)
class Datasets:
    """The run's batched `tf.data` pipelines: training (repeated) and evaluation."""

    train: tf.data.Dataset
    evaluation: tf.data.Dataset


def default_recipe(config: TrainConfig) -> str:
    """The config's recipe, else by model: "cifar" for CIFAR nets, "imagenet" for the others, and
    "none" for the embedded 8x8 digits (a 4-pixel shift or a flip would change what they show)."""
    if config.recipe:
        return config.recipe
    if config.data == data_lib.EMBEDDED:
        return "none"
    return "cifar" if MODELS[config.model].stem == "cifar" else "imagenet"


def eval_transform(config: TrainConfig) -> dict:
    """The imagenet recipe's evaluation resize and crop: the published weights' own when the run
    starts from them (`--option weights=...`), else torchvision's V1 (256 -> 224, bilinear)."""
    weights = config.model_options.get("weights")
    if weights_lib.is_published_name(weights):
        variant = config.model_options.get("variant", "v1.5")
        published = weights_lib.published(config.model, weights, variant)
        return {"crop_pct": published.crop_pct, "interpolation": published.interpolation}
    return dict(DEFAULT_EVAL_TRANSFORM)


def resolve(config: TrainConfig) -> tuple[Plan, Datasets]:
    """Reads the data and resolves the run: every check of the data and of the batch size happens
    here, before anything is written.

    Example:
        >>> plan, datasets = resolve(TrainConfig(data="digits", batch_size=64))
        >>> plan.steps_per_epoch, plan.image_size
        (22, (8, 8))
    """
    load = dict(data_dir=config.data_dir, manual_dir=config.manual_dir, download=config.download)
    train, info = data_lib.load(config.data, config.train_split, **load)
    evaluation, eval_info = data_lib.load(config.data, config.eval_split, **load)
    _check_same_classes(config, info, eval_info)
    examples = info.splits.get(config.train_split) or int(train.reduce(0, lambda n, _: n + 1))
    steps = examples // config.batch_size
    if steps < 1:
        raise ValueError(
            f"`batch_size` must be at most the training set's size; received "
            f"batch_size={config.batch_size} for {examples} images."
        )
    size = (config.image_size,) * 2 if config.image_size else tuple(info.image_shape[:2])
    if None in size:
        raise ValueError(
            f"`image_size` must be given for {config.data!r}, whose images differ in size."
        )
    recipe, transform = default_recipe(config), eval_transform(config)
    identity = {field: getattr(config, field) for field in IDENTITY}
    identity.update(
        recipe=recipe,
        image_size=list(size),
        classes=list(info.class_names),
        train_examples=examples,
        data=info.fingerprint or info.name,
    )
    plan = Plan(
        config=config,
        spec=MODELS[config.model],
        run_dir=config.run_dir,
        recipe=recipe,
        eval_transform=transform,
        image_size=size,
        classes=tuple(info.class_names),
        train_examples=examples,
        steps_per_epoch=steps,
        data_path=os.path.abspath(config.data) if os.path.isdir(config.data) else config.data,
        skipped=tuple(info.skipped),
        identity=json.loads(json.dumps(identity)),  # as config.json holds it: lists, not tuples
    )
    return plan, _pipelines(plan, train, evaluation)


def _check_same_classes(config, info, eval_info):
    """Labels follow the sorted class names, so both splits must hold the same classes."""
    if eval_info.class_names == info.class_names:
        return
    train_only = sorted(set(info.class_names) - set(eval_info.class_names))
    eval_only = sorted(set(eval_info.class_names) - set(info.class_names))
    raise ValueError(
        f"The classes of {config.data!r} differ between {config.train_split!r} and "
        f"{config.eval_split!r}: only in {config.train_split!r}: {train_only}, only in "
        f"{config.eval_split!r}: {eval_only}. Labels follow the sorted class names, so both "
        "splits must hold the same classes."
    )


def _pipelines(plan, train, evaluation):
    config, classes = plan.config, len(plan.classes)

    def one_hot(images, labels):
        return images, tf.one_hot(labels, classes)

    options = dict(
        batch_size=config.batch_size,
        recipe=plan.recipe,
        image_size=plan.image_size,
        seed=config.seed,
        **plan.eval_transform,
    )
    # Repeated, with fit's steps_per_epoch: a folder's dataset has no known length (it may
    # drop unreadable files), and Keras warns and stops early on those.
    return Datasets(
        train=data_lib.pipeline(train, training=True, **options).map(one_hot).repeat(),
        evaluation=data_lib.pipeline(evaluation, training=False, **options).map(one_hot),
    )
