"""The run's network and its optimisation: the model a plan builds, its learning-rate schedule,
optimizer, loss and metrics."""

import keras

from keras_resnet import optimizers
from keras_resnet.tools.config import TrainConfig
from keras_resnet.tools.train.plan import Plan


def build_model(plan: Plan, replicas: int = 1) -> keras.Model:
    """The plan's model, taking raw pixels (its preprocessing inside, so that what is trained is
    what gets exported), with synchronized BatchNorm over several replicas."""
    options = {
        "synchronized_bn": replicas > 1,
        "data_format": "channels_last",
        **plan.config.model_options,
    }
    if options["data_format"] != "channels_last":
        raise ValueError(
            f"`model_options` must not set data_format={options['data_format']!r}: the training "
            "pipelines feed channels-last images (the weights are the same in both layouts)."
        )
    return plan.spec(
        classes=len(plan.classes),
        input_shape=(*plan.image_size, 3),
        include_preprocessing=True,
        **options,
    )


def schedule(config: TrainConfig, steps_per_epoch: int):
    """The learning rate per step over `config.epochs`: warmup and cosine, or the paper's steps.
    `config.lr` is for a global batch of 256, scaled linearly (Goyal et al. 2017)."""
    lr = config.lr * config.batch_size / 256
    total = config.epochs * steps_per_epoch
    warmup = min(int(config.warmup_epochs * steps_per_epoch), total - 1)
    if config.schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            0.0 if warmup else lr,
            max(total - warmup, 1),
            warmup_target=lr if warmup else None,
            warmup_steps=warmup,
        )
    # He et al. 2015: divide by 10 at 50% and 75% of training.
    return keras.optimizers.schedules.PiecewiseConstantDecay(
        [int(total * 0.5), int(total * 0.75)], [lr, lr / 10, lr / 100]
    )


def compile_model(model: keras.Model, plan: Plan) -> None:
    """Compiles `model` with the plan's optimizer (decay on kernels only), loss and metrics."""
    config = plan.config
    rates = schedule(config, plan.steps_per_epoch)
    if config.optimizer == "sgd":
        optimizer = optimizers.SGD(
            rates,
            momentum=config.momentum,
            nesterov=config.nesterov,
            weight_decay=config.weight_decay or None,
        )
    else:
        optimizer = optimizers.AdamW(rates, weight_decay=config.weight_decay)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy", keras.metrics.TopKCategoricalAccuracy(5, name="top5")],
        jit_compile=config.jit_compile,
    )
