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
import time

import keras
import numpy as np
from keras.src.backend.common import (
    global_state,  # Keras' seed state: no public getter to restore it
)

from keras_resnet import files, optimizers
from keras_resnet import weights as weights_lib
from keras_resnet.files import atomic_write, write_json
from keras_resnet.models import MODELS, load_model
from keras_resnet.tools import data as data_lib
from keras_resnet.tools import export as export_lib
from keras_resnet.tools._tensorflow import tf
from keras_resnet.tools.config import TrainConfig


def make_strategy(name: str) -> tf.distribute.Strategy:
    """ "auto": MirroredStrategy over every GPU if there are several, else the default;
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


class Throughput(keras.callbacks.Callback):
    """Each epoch's training images/s, in `rates`: `images` over the time from the epoch's
    start to its validation's (to its end without one), so without the evaluation, and
    without what `fit` does after the last epoch (tf.data's iterator teardown can wait for
    its autotuning thread for seconds, which timing whole `fit` calls counts).

    Example:
        >>> throughput = Throughput(images=steps * batch_size)
        >>> model.fit(data, steps_per_epoch=steps, epochs=3, callbacks=[throughput])
        >>> throughput.rates[-1]
    """

    def __init__(self, images):
        super().__init__()
        self.images, self.rates = images, []
        self._started = self._trained = None

    def on_epoch_begin(self, epoch, logs=None):
        self._started, self._trained = time.perf_counter(), None

    def on_test_begin(self, logs=None):
        if self._started is not None and self._trained is None:
            self._trained = time.perf_counter() - self._started

    def on_epoch_end(self, epoch, logs=None):
        self.rates.append(self.images / (self._trained or time.perf_counter() - self._started))


class RunFolder(Throughput):
    """Commits each completed epoch to the run folder: checkpoint, then state.json, then the
    derived files (last/best model, history, curves), with the epoch's training images/s
    (`images_per_s`, see `Throughput`) in the history. Only the chief writes; other workers
    save into a scratch folder, since saving may need every worker."""

    def __init__(self, run_dir, state, chief, images, monitor="val_accuracy"):
        super().__init__(images)
        self.run_dir, self.state, self.chief, self.monitor = run_dir, state, chief, monitor

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        logs = {key: float(value) for key, value in (logs or {}).items()}
        logs["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        logs["images_per_s"] = round(self.rates[-1], 1)
        directory = os.path.join(self.run_dir, "checkpoints") if self.chief else tempfile.mkdtemp()
        checkpoint = os.path.join(directory, f"epoch-{epoch + 1}.keras")
        _save_model(self.model, checkpoint)
        if not self.chief:
            shutil.rmtree(directory, ignore_errors=True)
            return
        history = [row for row in self.state.get("history", []) if row["epoch"] <= epoch] + [
            {"epoch": epoch + 1, **logs}
        ]
        best = self.state.get("best")
        improved = self.monitor in logs and (best is None or logs[self.monitor] > best["value"])
        previous = self.state.get("checkpoint")
        self.state.update(
            epoch=epoch + 1, checkpoint=os.path.relpath(checkpoint, self.run_dir), history=history
        )
        if improved:
            self.state["best"] = {
                "epoch": epoch + 1,
                "value": logs[self.monitor],
                "metric": self.monitor,
            }
        write_json(os.path.join(self.run_dir, "state.json"), self.state)  # the commit point
        if previous and previous != self.state["checkpoint"]:
            old = os.path.join(self.run_dir, previous)
            if os.path.exists(old):
                os.remove(old)
        atomic_write(
            os.path.join(self.run_dir, "last.keras"),
            lambda partial: shutil.copyfile(checkpoint, partial),
        )
        if improved:
            atomic_write(
                os.path.join(self.run_dir, "best.keras"),
                lambda partial: shutil.copyfile(checkpoint, partial),
            )
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
    for axis, metric in zip(axes, ("loss", "accuracy"), strict=True):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = [row.get(prefix + metric) for row in history]
            if any(v is not None for v in values):
                axis.plot(
                    epochs,
                    values,
                    style,
                    label=f"{'validation' if prefix else 'training'} {metric}",
                )
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    atomic_write(
        os.path.join(run_dir, "curves.png"),
        lambda partial: figure.savefig(partial, format="png", dpi=100),
    )
    plt.close(figure)


def _schedule(config, steps_per_epoch):
    """The learning rate per step over `config.epochs`: warmup and cosine, or the paper's steps."""
    lr = config.lr * config.batch_size / 256
    total = config.epochs * steps_per_epoch
    warmup = min(int(config.warmup_epochs * steps_per_epoch), total - 1)
    if config.schedule == "cosine":
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0 if warmup else lr,
            max(total - warmup, 1),
            warmup_target=lr if warmup else None,
            warmup_steps=warmup,
        )
    else:  # He et al. 2015: divide by 10 at 50% and 75% of training
        schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
            [int(total * 0.5), int(total * 0.75)],
            [lr, lr / 10, lr / 100],
        )
    return schedule


def _optimizer(config, steps_per_epoch):
    schedule = _schedule(config, steps_per_epoch)
    if config.optimizer == "sgd":
        return optimizers.SGD(
            schedule,
            momentum=config.momentum,
            nesterov=config.nesterov,
            weight_decay=config.weight_decay or None,
        )
    return optimizers.AdamW(schedule, weight_decay=config.weight_decay)


def _default_recipe(config):
    if config.recipe:
        return config.recipe
    if config.data == data_lib.EMBEDDED:
        return "none"  # 8x8 digits: a 4-pixel shift or a flip would change what they show
    return "cifar" if MODELS[config.model].stem == "cifar" else "imagenet"


def eval_transform(config) -> dict:
    """The imagenet recipe's evaluation resize and crop: the published weights' own when the run
    starts from them (`--option weights=...`), else torchvision's V1 (256 -> 224, bilinear)."""
    weights = config.model_options.get("weights")
    if weights_lib.is_published_name(weights):
        spec = weights_lib.published(
            config.model, weights, config.model_options.get("variant", "v1.5")
        )
        return {"crop_pct": spec.crop_pct, "interpolation": spec.interpolation}
    return {"crop_pct": 0.875, "interpolation": "bilinear"}


def _datasets(config):
    """The training and evaluation pipelines, after every check of the data: the splits' class
    names must be equal, and each split's unusable files are reported."""
    load = dict(data_dir=config.data_dir, manual_dir=config.manual_dir, download=config.download)
    train, info = data_lib.load(config.data, config.train_split, **load)
    examples = info.splits.get(config.train_split) or int(
        train.reduce(0, lambda count, _: count + 1)
    )
    evaluation, eval_info = data_lib.load(config.data, config.eval_split, **load)
    if eval_info.class_names != info.class_names:
        raise ValueError(
            f"The classes of {config.data!r} differ between {config.train_split!r} and {config.eval_split!r}: only in "
            f"{config.train_split!r}: {sorted(set(info.class_names) - set(eval_info.class_names))}, only in "
            f"{config.eval_split!r}: {sorted(set(eval_info.class_names) - set(info.class_names))}. Labels follow the "
            "sorted class names, so both splits must hold the same classes."
        )
    size = (config.image_size,) * 2 if config.image_size else tuple(info.image_shape[:2])
    if None in size:
        raise ValueError(
            f"`image_size` must be given for {config.data!r}, whose images differ in size."
        )
    recipe = _default_recipe(config)

    def one_hot(images, labels):
        return images, tf.one_hot(labels, info.num_classes)

    kwargs = dict(
        batch_size=config.batch_size,
        recipe=recipe,
        image_size=size,
        seed=config.seed,
        **eval_transform(config),
    )
    # Repeated, with fit's steps_per_epoch: a folder's dataset has no known length (it may
    # drop unreadable files), and Keras warns and stops early on those.
    train = data_lib.pipeline(train, training=True, **kwargs).map(one_hot).repeat()
    evaluation = data_lib.pipeline(evaluation, training=False, **kwargs).map(one_hot)
    return train, evaluation, info, size, examples


def _build(config, info, size, num_replicas):
    options = {
        "synchronized_bn": num_replicas > 1,
        "data_format": "channels_last",
        **config.model_options,
    }
    if options["data_format"] != "channels_last":
        raise ValueError(
            f"`model_options` must not set data_format={options['data_format']!r}: the training "
            "pipelines feed channels-last images (the weights are the same in both layouts)."
        )
    model = MODELS[config.model](
        classes=info.num_classes,
        input_shape=(*size, 3),
        include_preprocessing=True,
        **options,
    )
    return model


def _compile(model, optimizer, config):
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy", keras.metrics.TopKCategoricalAccuracy(5, name="top5")],
        jit_compile=config.jit_compile,
    )


def _custom_loop(
    model, strategy, config, train_data, eval_data, steps_per_epoch, initial_epoch, callbacks
):
    """`fit` and `evaluate` as a plain tf.distribute loop, for MultiWorkerMirroredStrategy,
    under which Keras 3.15's own fail (keras-team/keras#20585). Returns the test metrics."""
    per_example_loss = keras.losses.CategoricalCrossentropy(
        label_smoothing=config.label_smoothing, reduction=None
    )
    with strategy.scope():
        model.optimizer.build(model.trainable_variables)  # in cross-replica context

    def totals(labels, predictions):
        """Per-example losses, and the sums of loss, top-1 hits, top-5 hits and examples."""
        losses = per_example_loss(labels, predictions)
        true = tf.argmax(labels, axis=-1)
        top1 = tf.cast(tf.equal(tf.argmax(predictions, axis=-1), true), tf.float32)
        top5 = tf.cast(
            tf.math.in_top_k(true, tf.cast(predictions, tf.float32), min(5, predictions.shape[-1])),
            tf.float32,
        )
        count = tf.cast(tf.shape(labels)[0], tf.float32)
        return losses, tf.stack(
            [tf.reduce_sum(losses), tf.reduce_sum(top1), tf.reduce_sum(top5), count]
        )

    @tf.function
    def train_step(iterator):
        def step(images, labels):
            with tf.GradientTape() as tape:
                losses, sums = totals(labels, model(images, training=True))
                loss = tf.nn.compute_average_loss(losses, global_batch_size=config.batch_size)
                loss = model.optimizer.scale_loss(loss)  # float16 loss scaling; else the identity
            gradients = tape.gradient(loss, model.trainable_variables)
            model.optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
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
        return summary(
            sum(
                (eval_step(batch) for batch in strategy.experimental_distribute_dataset(eval_data)),
                tf.zeros(4),
            )
        )

    iterator = iter(strategy.experimental_distribute_dataset(train_data))
    callback_list = keras.callbacks.CallbackList(callbacks, model=model)
    callback_list.on_train_begin()
    for epoch in range(initial_epoch, config.epochs):
        callback_list.on_epoch_begin(epoch)
        logs = summary(sum((train_step(iterator) for _ in range(steps_per_epoch)), tf.zeros(4)))
        callback_list.on_test_begin()  # as in fit: the epoch's training time ends here
        validation = evaluate()
        callback_list.on_test_end(validation)
        logs |= {f"val_{key}": value for key, value in validation.items()}
        callback_list.on_epoch_end(epoch, logs)
        if config.verbose:
            print(
                f"Epoch {epoch + 1}/{config.epochs}: "
                + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()),
                flush=True,
            )
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
    policy = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}[
        config.precision
    ]
    with _run_globals(config.seed, policy):
        return _train(config)


@contextlib.contextmanager
def _run_globals(seed, policy):
    """The run's seeds and dtype policy, set for the run and restored after it: `train` leaves the
    process's random state and global policy as it found them."""
    saved = (
        random.getstate(),
        np.random.get_state(),
        tf.compat.v1.get_default_graph().seed,
        keras.config.dtype_policy(),
        {
            key: global_state.get_global_attribute(key)
            for key in ("global_random_seed", "global_seed_generator")
        },
    )
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


# What defines a run: the network, the data and the optimisation. A rerun in the same folder must
# match them; the other fields (epochs, verbosity, export settings, where data and devices come
# from) only continue it.
IDENTITY = (
    "model",
    "model_options",
    "train_split",
    "eval_split",
    "batch_size",
    "optimizer",
    "lr",
    "nesterov",
    "momentum",
    "weight_decay",
    "schedule",
    "warmup_epochs",
    "label_smoothing",
    "precision",
    "seed",
)


def run_identity(config, info, size, examples) -> dict:
    """The fields that define a run, with the data it trains on (its classes and size; a
    folder's file list, so that a moved folder is the same data and an edited one is not)."""
    identity = {field: getattr(config, field) for field in IDENTITY}
    identity.update(
        recipe=_default_recipe(config),
        image_size=list(size),
        classes=list(info.class_names),
        train_examples=examples,
        data=info.fingerprint or info.name,
    )
    return json.loads(json.dumps(identity))  # as config.json holds it: lists, not tuples


def _differences(recorded: dict, current: dict) -> list[str]:
    return [
        f"{key}: {recorded[key]!r} in the run, {current[key]!r} now"
        for key in recorded
        if key in current and recorded[key] != current[key]
    ]


def _check_writable(path, what):
    """`path` (or its nearest existing parent) can be written: checked before a run starts, not
    after hours of training."""
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise NotADirectoryError(
            f"`{what}` must be a folder this process can write; received {what}={path!r} "
            f"({existing} is a file)."
        )
    if not os.access(existing, os.W_OK):
        raise PermissionError(
            f"`{what}` must be a folder this process can write; received {what}={path!r} "
            f"({existing} is read-only)."
        )


def _train(config):
    strategy = make_strategy(config.strategy)
    chief = _is_chief(strategy)
    run_dir = config.run_dir
    # Everything that can refuse the run happens before anything is written.
    if chief:
        files.check_unlocked(os.path.join(run_dir, ".lock"), f"run folder {run_dir}")
    train_data, eval_data, info, size, examples = _datasets(config)
    steps_per_epoch = examples // config.batch_size
    if steps_per_epoch < 1:
        raise ValueError(
            f"`batch_size` must be at most the training set's size; received batch_size={config.batch_size} "
            f"for {examples} images."
        )
    identity = run_identity(config, info, size, examples)
    _check_run_folder(run_dir, config, identity)
    for path, what in ((run_dir, "out"), *(((config.export, "export"),) if config.export else ())):
        _check_writable(path, what)
    if not chief:  # every worker reads the run folder (on a shared filesystem); the chief writes it
        return _run(
            config, strategy, run_dir, identity, info, size, examples, train_data, eval_data, chief
        )
    created = not os.path.exists(run_dir)
    os.makedirs(os.path.join(run_dir, "checkpoints"), exist_ok=True)
    try:
        with files.exclusive(os.path.join(run_dir, ".lock"), f"run folder {run_dir}"):
            _check_run_folder(run_dir, config, identity)  # again, now that nobody else writes
            _remove_partial_files(run_dir)
            return _run(
                config,
                strategy,
                run_dir,
                identity,
                info,
                size,
                examples,
                train_data,
                eval_data,
                chief,
            )
    except BaseException:
        if created and not os.path.exists(os.path.join(run_dir, "state.json")):
            shutil.rmtree(run_dir, ignore_errors=True)  # a failed start leaves nothing behind
        raise


def _check_run_folder(run_dir, config, identity):
    """A folder with a run in it is continued only by the same run: anything else is refused
    with every difference listed, before anything is written."""
    state_path, config_path = (
        os.path.join(run_dir, "state.json"),
        os.path.join(run_dir, "config.json"),
    )
    if not os.path.exists(state_path):
        return
    recorded = files.read_json(config_path, default={})
    # Runs written before identities were recorded: their config fields and classes.
    recorded_identity = recorded.get("identity") or {
        **{key: recorded.get(key) for key in IDENTITY if key in recorded},
        "classes": recorded.get("classes"),
    }
    differences = _differences(recorded_identity, identity)
    done = files.read_json(state_path).get("epoch", 0)
    if config.epochs < done:
        differences.append(
            f"epochs: the run has trained {done}, epochs={config.epochs} would not continue it"
        )
    if differences:
        raise ValueError(
            f"`out` {run_dir} holds another run, so it is not continued: "
            + "; ".join(differences)
            + ". Start afresh with another --out (or delete that folder), or continue it with its own "
            "settings (more --epochs, other export settings)."
        )


def _run(config, strategy, run_dir, identity, info, size, examples, train_data, eval_data, chief):
    steps_per_epoch = examples // config.batch_size
    state_path = os.path.join(run_dir, "state.json")
    state = files.read_json(state_path, default={})
    with strategy.scope():
        if state.get("checkpoint"):
            checkpoint = os.path.join(run_dir, state["checkpoint"])
            try:
                model = load_model(checkpoint)
            except Exception as error:  # zipfile, h5py and Keras errors alike
                raise ValueError(
                    f"The run's last checkpoint {checkpoint} cannot be loaded ({type(error).__name__}: "
                    f"{error}); it was written atomically, so it was damaged elsewhere. Start afresh with "
                    "another --out."
                ) from None
            if state.get("epochs", config.epochs) != config.epochs:
                # More epochs continue the run along a schedule stretched to the new end.
                model.optimizer.learning_rate = _schedule(config, steps_per_epoch)
        else:
            model = _build(config, info, size, strategy.num_replicas_in_sync)
            _compile(model, _optimizer(config, steps_per_epoch), config)
    if chief:
        recorded = (
            files.read_json(os.path.join(run_dir, "config.json"), default={}) if state else {}
        )
        continued = recorded.get("continued", [])
        changes = {
            key: [recorded[key], value]
            for key, value in dataclasses.asdict(config).items()
            if key in recorded
            and key not in identity
            and json.loads(json.dumps(value)) != recorded[key]
        }
        if changes:
            continued.append({"after_epoch": state.get("epoch", 0), "changed": changes})
        write_json(
            os.path.join(run_dir, "config.json"),
            {
                **json.loads(json.dumps(dataclasses.asdict(config))),
                "data_path": _data_path(config.data),
                "classes": list(info.class_names),
                "image_size": list(size),
                "recipe": _default_recipe(config),
                "eval_transform": eval_transform(config),
                "identity": identity,
                "continued": continued,
            },
        )
        if info.skipped:
            atomic_write(
                os.path.join(run_dir, "skipped_files.txt"),
                lambda partial: open(partial, "w").write(
                    "".join(f"{reason}\n" for _, reason in info.skipped)
                ),
            )
    state["epochs"] = config.epochs
    initial_epoch = state.get("epoch", 0)
    if initial_epoch and config.verbose:
        print(f"Resuming {run_dir} after epoch {initial_epoch} of {config.epochs}.")
    callbacks = [RunFolder(run_dir, state, chief, images=steps_per_epoch * config.batch_size)]
    if chief:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard")))
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        metrics = _custom_loop(
            model,
            strategy,
            config,
            train_data,
            eval_data,
            steps_per_epoch,
            initial_epoch,
            callbacks,
        )
    else:
        if initial_epoch < config.epochs:
            model.fit(
                train_data,
                validation_data=eval_data,
                epochs=config.epochs,
                initial_epoch=initial_epoch,
                steps_per_epoch=steps_per_epoch,
                callbacks=callbacks,
                verbose=config.verbose,
                shuffle=False,
            )  # the pipeline shuffles
        metrics = {
            k: float(v) for k, v in model.evaluate(eval_data, return_dict=True, verbose=0).items()
        }
    if chief:
        write_json(os.path.join(run_dir, "evaluation.json"), metrics)
        if (
            config.export and state.get("export", {}).get("epoch") != config.epochs
        ):  # once per finished run
            state["export"] = {
                "epoch": config.epochs,
                "path": _export(config, run_dir, info, size, metrics),
            }
            write_json(state_path, state)
            if config.verbose:
                print(f"Exported and verified: {state['export']['path']}")
    return metrics


def _data_path(data):
    """A folder's absolute path (so that exports and evaluations find it from anywhere), else the name."""
    return os.path.abspath(data) if os.path.isdir(data) else data


def _export(config, run_dir, info, size, metrics):
    """The finished run's last model, exported (and verified) to `config.export`/<run name>/<version>."""
    recipe = _default_recipe(config)
    calibration = None
    if export_lib.int8_formats(config.export_formats):
        calibration = export_lib.calibration_images(
            _data_path(config.data),
            split=config.train_split,
            image_size=size,
            recipe=recipe,
            data_dir=config.data_dir,
            **eval_transform(config),
        )
    model = load_model(os.path.join(run_dir, "last.keras"))
    return export_lib.export(
        model,
        config.export,
        name=os.path.basename(os.path.normpath(run_dir)),
        formats=config.export_formats,
        calibration=calibration,
        class_names=info.class_names,
        extra={
            "recipe": recipe,
            "eval_transform": eval_transform(config),
            "run": os.path.abspath(run_dir),
            "evaluation": metrics,
        },
    )
