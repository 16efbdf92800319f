"""Training with `model.fit`: strategies, schedules, mixed precision, and a run folder that a
killed run resumes from.

The run folder (`--out`, default `runs/<model>-<data>`):

    state.json          the commit point: last completed epoch, its checkpoint, history
    checkpoints/        epoch-N.keras, the full model with its optimizer state
    last.keras          the last completed epoch's model; best.keras: best validation accuracy
    history.csv         one row per completed epoch; curves.png: the learning curves
    tensorboard/        TensorBoard logs
    evaluation.json     test metrics at the end

Every file is written to a temporary name and renamed into place, and state.json is written
last: a run killed at any moment (even `kill -9`) restarts from its last completed epoch,
with the same command, and nothing already written is lost or half-written.
"""

import contextlib
import csv
import dataclasses
import json
import os
import random
import shutil
import tempfile

import keras
import numpy as np
from keras.src.backend.common import global_state  # Keras' seed state: no public getter to restore it

from keras_resnet import optimizers
from keras_resnet import weights as weights_lib
from keras_resnet.files import atomic_write, write_json
from keras_resnet.models import MODELS, load_model
from keras_resnet.tools import data as data_lib
from keras_resnet.tools import export as export_lib
from keras_resnet.tools._tensorflow import tf
from keras_resnet.tools.config import TrainConfig

def make_strategy(name: str) -> tf.distribute.Strategy:
    """"auto": MirroredStrategy over every GPU if there are several, else the default;
    "one_device"; "mirrored": all local GPUs (or CPU devices set up with
    `tf.config.set_logical_device_configuration`); "multi_worker": from `TF_CONFIG`."""
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored":
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "auto":
        # The default strategy on one device: OneDeviceStrategy feeds fit through a
        # MultiDeviceIterator whose destruction at each validation stalled CIFAR-10 epochs on
        # this CPU by about 45 s (and once for good; py-spy: ~MultiDeviceIterator waiting on
        # its thread pool).
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")


def _is_chief(strategy) -> bool:
    """The worker that writes the run folder: "chief", else worker 0, else the only one."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    return task_type in (None, "chief") or (task_type == "worker" and resolver.task_id == 0)


def _remove_partial_files(run_dir):
    """Deletes what a killed run was writing (`.partial-*`): never a committed file."""
    for folder in (run_dir, os.path.join(run_dir, "checkpoints")):
        for name in os.listdir(folder):
            if name.startswith(".partial-"):
                os.remove(os.path.join(folder, name))


def _save_model(model, path):
    atomic_write(path, lambda partial: model.save(partial))


class RunFolder(keras.callbacks.Callback):
    """Commits each completed epoch to the run folder: checkpoint, then state.json, then the
    derived files (last/best model, history, curves). Only the chief writes; other workers
    save into a scratch folder, since saving may need every worker."""

    def __init__(self, run_dir, state, chief, monitor="val_accuracy"):
        super().__init__()
        self.run_dir, self.state, self.chief, self.monitor = run_dir, state, chief, monitor

    def on_epoch_end(self, epoch, logs=None):
        logs = {key: float(value) for key, value in (logs or {}).items()}
        logs["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        directory = os.path.join(self.run_dir, "checkpoints") if self.chief else tempfile.mkdtemp()
        checkpoint = os.path.join(directory, f"epoch-{epoch + 1}.keras")
        _save_model(self.model, checkpoint)
        if not self.chief:
            shutil.rmtree(directory, ignore_errors=True)
            return
        history = [row for row in self.state.get("history", []) if row["epoch"] <= epoch] + [{"epoch": epoch + 1, **logs}]
        best = self.state.get("best")
        improved = self.monitor in logs and (best is None or logs[self.monitor] > best["value"])
        previous = self.state.get("checkpoint")
        self.state.update(epoch=epoch + 1, checkpoint=os.path.relpath(checkpoint, self.run_dir), history=history)
        if improved:
            self.state["best"] = {"epoch": epoch + 1, "value": logs[self.monitor], "metric": self.monitor}
        write_json(os.path.join(self.run_dir, "state.json"), self.state)  # the commit point
        if previous and previous != self.state["checkpoint"]:
            old = os.path.join(self.run_dir, previous)
            if os.path.exists(old):
                os.remove(old)
        atomic_write(os.path.join(self.run_dir, "last.keras"), lambda partial: shutil.copyfile(checkpoint, partial))
        if improved:
            atomic_write(os.path.join(self.run_dir, "best.keras"), lambda partial: shutil.copyfile(checkpoint, partial))
        write_history(self.run_dir, history)


def write_history(run_dir, history):
    """history.csv and curves.png (loss and accuracy per epoch, train and validation)."""
    keys = sorted({key for row in history for key in row} - {"epoch"})

    def write_csv(partial):
        with open(partial, "w", newline="") as file:
            writer = csv.DictWriter(file, ["epoch", *keys])
            writer.writeheader()
            writer.writerows(history)

    atomic_write(os.path.join(run_dir, "history.csv"), write_csv)
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    epochs = [row["epoch"] for row in history]
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for axis, metric in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = [row.get(prefix + metric) for row in history]
            if any(v is not None for v in values):
                axis.plot(epochs, values, style, label=f"{'validation' if prefix else 'training'} {metric}")
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    atomic_write(os.path.join(run_dir, "curves.png"), lambda partial: figure.savefig(partial, format="png", dpi=100))
    plt.close(figure)


def _optimizer(config, steps_per_epoch):
    lr = config.lr * config.batch_size / 256
    total = config.epochs * steps_per_epoch
    warmup = min(int(config.warmup_epochs * steps_per_epoch), total - 1)
    if config.schedule == "cosine":
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0 if warmup else lr, max(total - warmup, 1), warmup_target=lr if warmup else None, warmup_steps=warmup,
        )
    else:  # He et al. 2015: divide by 10 at 50% and 75% of training
        schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
            [int(total * 0.5), int(total * 0.75)], [lr, lr / 10, lr / 100],
        )
    if config.optimizer == "sgd":
        return optimizers.SGD(schedule, momentum=config.momentum, nesterov=config.nesterov,
                              weight_decay=config.weight_decay or None)
    return optimizers.AdamW(schedule, weight_decay=config.weight_decay)


def _default_recipe(config):
    if config.recipe:
        return config.recipe
    if config.data == data_lib.EMBEDDED:
        return "none"  # 8x8 digits: a 4-pixel shift or a flip would change what they show
    return "cifar" if MODELS[config.model].default_size == 32 else "imagenet"


def eval_transform(config) -> dict:
    """The imagenet recipe's evaluation resize and crop: the published weights' own when the run
    starts from them (`--option weights=...`), else torchvision's V1 (256 -> 224, bilinear)."""
    weights = config.model_options.get("weights")
    if weights_lib.is_published_name(weights):
        spec = weights_lib.published(config.model, weights, config.model_options.get("variant", "v1.5"))
        return {"crop_pct": spec.crop_pct, "interpolation": spec.interpolation}
    return {"crop_pct": 0.875, "interpolation": "bilinear"}


def _datasets(config):
    image_size = (config.image_size,) * 2 if config.image_size else None
    load = dict(data_dir=config.data_dir, manual_dir=config.manual_dir, download=config.download, image_size=image_size)
    train, info = data_lib.load(config.data, config.train_split, **load)
    examples = info.splits.get(config.train_split) or int(train.reduce(0, lambda count, _: count + 1))
    evaluation, _ = data_lib.load(config.data, config.eval_split, **load)
    size = (config.image_size,) * 2 if config.image_size else info.image_shape[:2]
    if None in size:
        raise ValueError(f"`image_size` must be given for {config.data!r}, whose images differ in size.")
    recipe = _default_recipe(config)

    def one_hot(images, labels):
        return images, tf.one_hot(labels, info.num_classes)

    kwargs = dict(batch_size=config.batch_size, recipe=recipe, image_size=size, seed=config.seed,
                  **eval_transform(config))
    # Repeated, with fit's steps_per_epoch: a folder's dataset has no known length (it may
    # drop unreadable files), and Keras warns and stops early on those.
    train = data_lib.pipeline(train, training=True, **kwargs).map(one_hot).repeat()
    evaluation = data_lib.pipeline(evaluation, training=False, **kwargs).map(one_hot)
    return train, evaluation, info, size, examples


def _build(config, info, size, num_replicas):
    options = {"synchronized_bn": num_replicas > 1, "data_format": "channels_last", **config.model_options}
    if options["data_format"] != "channels_last":
        raise ValueError(f"`model_options` must not set data_format={options['data_format']!r}: the training "
                         "pipelines feed channels-last images (the weights are the same in both layouts).")
    model = MODELS[config.model](
        classes=info.num_classes, input_shape=(*size, 3), include_preprocessing=True, **options,
    )
    return model


def _compile(model, optimizer, config):
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy", keras.metrics.TopKCategoricalAccuracy(5, name="top5")],
        jit_compile=config.jit_compile,
    )


def _custom_loop(model, strategy, config, train_data, eval_data, steps_per_epoch, initial_epoch, callbacks):
    """`fit` and `evaluate` as a plain tf.distribute loop, for MultiWorkerMirroredStrategy,
    under which Keras 3.15's own fail (keras-team/keras#20585). Returns the test metrics."""
    per_example_loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing, reduction=None)
    with strategy.scope():
        model.optimizer.build(model.trainable_variables)  # in cross-replica context

    def totals(labels, predictions):
        """Per-example losses, and the sums of loss, top-1 hits, top-5 hits and examples."""
        losses = per_example_loss(labels, predictions)
        true = tf.argmax(labels, axis=-1)
        top1 = tf.cast(tf.equal(tf.argmax(predictions, axis=-1), true), tf.float32)
        top5 = tf.cast(tf.math.in_top_k(true, tf.cast(predictions, tf.float32), min(5, predictions.shape[-1])), tf.float32)
        count = tf.cast(tf.shape(labels)[0], tf.float32)
        return losses, tf.stack([tf.reduce_sum(losses), tf.reduce_sum(top1), tf.reduce_sum(top5), count])

    @tf.function
    def train_step(iterator):
        def step(images, labels):
            with tf.GradientTape() as tape:
                losses, sums = totals(labels, model(images, training=True))
                loss = tf.nn.compute_average_loss(losses, global_batch_size=config.batch_size)
                loss = model.optimizer.scale_loss(loss)  # float16 loss scaling; else the identity
            gradients = tape.gradient(loss, model.trainable_variables)
            model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return sums

        return strategy.reduce("SUM", strategy.run(step, args=next(iterator)), axis=None)

    @tf.function
    def eval_step(batch):
        def step(images, labels):
            return totals(labels, model(images, training=False))[1]

        return strategy.reduce("SUM", strategy.run(step, args=batch), axis=None)

    def summary(sums):
        loss, top1, top5, count = (float(value) for value in sums)
        return {"loss": loss / count, "accuracy": top1 / count, "top5": top5 / count}

    def evaluate():
        return summary(sum((eval_step(batch) for batch in strategy.experimental_distribute_dataset(eval_data)), tf.zeros(4)))

    iterator = iter(strategy.experimental_distribute_dataset(train_data))
    callback_list = keras.callbacks.CallbackList(callbacks, model=model)
    callback_list.on_train_begin()
    for epoch in range(initial_epoch, config.epochs):
        callback_list.on_epoch_begin(epoch)
        logs = summary(sum((train_step(iterator) for _ in range(steps_per_epoch)), tf.zeros(4)))
        logs |= {f"val_{key}": value for key, value in evaluate().items()}
        callback_list.on_epoch_end(epoch, logs)
        if config.verbose:
            print(f"Epoch {epoch + 1}/{config.epochs}: " + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()), flush=True)
    callback_list.on_train_end()
    return evaluate()


def train(config: TrainConfig) -> dict:
    """Trains `config.model` on `config.data`, resuming the run folder if it has a state.

    Returns:
        The final evaluation metrics (also in `<run>/evaluation.json`).

    Example:
        >>> train(TrainConfig(model="resnet20", data="digits", epochs=2, out="/tmp/run"))
    """
    config.check()
    policy = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}[config.precision]
    with _run_globals(config.seed, policy):
        return _train(config)


@contextlib.contextmanager
def _run_globals(seed, policy):
    """The run's seeds and dtype policy, set for the run and restored after it: `train` leaves the
    process's random state and global policy as it found them."""
    saved = (random.getstate(), np.random.get_state(), tf.compat.v1.get_default_graph().seed,
             keras.config.dtype_policy(),
             {key: global_state.get_global_attribute(key) for key in ("global_random_seed", "global_seed_generator")})
    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        python_state, numpy_state, tf_seed, dtype_policy, keras_state = saved
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        tf.random.set_seed(tf_seed)
        keras.config.set_dtype_policy(dtype_policy)
        for key, value in keras_state.items():
            global_state.set_global_attribute(key, value)


def _train(config):
    strategy = make_strategy(config.strategy)
    chief = _is_chief(strategy)
    run_dir = config.out or os.path.join("runs", f"{config.model}-{os.path.basename(os.path.normpath(config.data))}")
    if chief:  # every worker reads the run folder (on a shared filesystem); the chief writes it
        os.makedirs(os.path.join(run_dir, "checkpoints"), exist_ok=True)
        _remove_partial_files(run_dir)
    state_path = os.path.join(run_dir, "state.json")
    state = json.load(open(state_path)) if os.path.exists(state_path) else {}

    train_data, eval_data, info, size, examples = _datasets(config)
    steps_per_epoch = examples // config.batch_size
    if steps_per_epoch < 1:
        raise ValueError(f"`batch_size` must be at most the training set's size; received batch_size={config.batch_size} "
                         f"for {examples} images.")
    with strategy.scope():
        if state.get("checkpoint"):
            model = load_model(os.path.join(run_dir, state["checkpoint"]))
        else:
            model = _build(config, info, size, strategy.num_replicas_in_sync)
            _compile(model, _optimizer(config, steps_per_epoch), config)
    if chief:
        write_json(os.path.join(run_dir, "config.json"), {**dataclasses.asdict(config), "classes": list(info.class_names),
                                                             "image_size": list(size), "recipe": _default_recipe(config),
                                                             "eval_transform": eval_transform(config)})
    initial_epoch = state.get("epoch", 0)
    if initial_epoch and config.verbose:
        print(f"Resuming {run_dir} after epoch {initial_epoch} of {config.epochs}.")
    callbacks = [RunFolder(run_dir, state, chief)]
    if chief:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard")))
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        metrics = _custom_loop(model, strategy, config, train_data, eval_data, steps_per_epoch, initial_epoch, callbacks)
    else:
        if initial_epoch < config.epochs:
            model.fit(train_data, validation_data=eval_data, epochs=config.epochs, initial_epoch=initial_epoch,
                      steps_per_epoch=steps_per_epoch,
                      callbacks=callbacks, verbose=config.verbose, shuffle=False)  # the pipeline shuffles
        metrics = {k: float(v) for k, v in model.evaluate(eval_data, return_dict=True, verbose=0).items()}
    if chief:
        write_json(os.path.join(run_dir, "evaluation.json"), metrics)
        if config.export and state.get("export", {}).get("epoch") != config.epochs:  # once per finished run
            state["export"] = {"epoch": config.epochs, "path": _export(config, run_dir, info, size, metrics)}
            write_json(state_path, state)
            if config.verbose:
                print(f"Exported and verified: {state['export']['path']}")
    return metrics


def _export(config, run_dir, info, size, metrics):
    """The finished run's last model, exported (and verified) to `config.export`/<run name>/<version>."""
    recipe = _default_recipe(config)
    calibration = None
    if "tflite_int8" in config.export_formats:
        calibration = export_lib.calibration_images(config.data, split=config.train_split, image_size=size,
                                                    recipe=recipe, data_dir=config.data_dir, **eval_transform(config))
    model = load_model(os.path.join(run_dir, "last.keras"))
    return export_lib.export(model, config.export, name=os.path.basename(os.path.normpath(run_dir)),
                             formats=config.export_formats, calibration=calibration, class_names=info.class_names,
                             extra={"recipe": recipe, "eval_transform": eval_transform(config),
                                    "run": os.path.abspath(run_dir), "evaluation": metrics})
