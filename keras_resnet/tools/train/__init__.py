"""Training with `model.fit`: strategies, schedules, mixed precision, and a run folder that a
killed or interrupted run resumes from.

`train(config)` reads its steps top to bottom: the config and the data resolve into a `Plan`
(`plan.py`), the run folder is checked and locked (`run_folder.py`), the model is built or
resumed, the loop trains (`loops.py`) with the callbacks that commit each epoch and guard
against a diverged loss or Ctrl-C (`callbacks.py`), and the finished run is exported.
"""

import contextlib
import os
import random
import signal
import threading

import keras
import numpy as np

from keras_resnet.models import load_model
from keras_resnet.tools import _compat
from keras_resnet.tools import export as export_lib
from keras_resnet.tools._tensorflow import tf
from keras_resnet.tools.config import TrainConfig
from keras_resnet.tools.train.callbacks import (
    DataChangedError,
    EpochCommit,
    Guard,
    Interrupted,
    NonFiniteLossError,
    Throughput,
)
from keras_resnet.tools.train.history import write_history
from keras_resnet.tools.train.loops import fit, is_chief, make_strategy
from keras_resnet.tools.train.network import build_model, compile_model, schedule
from keras_resnet.tools.train.plan import IDENTITY, POLICIES, Datasets, Plan, resolve
from keras_resnet.tools.train.run_folder import RunFolder, refuse_if_locked

__all__ = [
    "DataChangedError",
    "IDENTITY",
    "Datasets",
    "EpochCommit",
    "Guard",
    "Interrupted",
    "NonFiniteLossError",
    "POLICIES",
    "Plan",
    "RunFolder",
    "Throughput",
    "TrainConfig",
    "build_model",
    "compile_model",
    "export_run",
    "make_strategy",
    "resolve",
    "schedule",
    "seeded",
    "train",
    "write_history",
]


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def train(config: TrainConfig) -> dict:
    """Trains `config.model` on `config.data`, resuming the run folder if it has a state.

    Raises:
        NonFiniteLossError: the loss stopped being finite; the run stopped at that step, its
            last completed epoch stays committed, and nothing is exported.
        Interrupted: SIGINT (Ctrl-C) or SIGTERM arrived during training; the run stopped at the
            next step boundary, and the same call continues it.
        DataChangedError: a training image checked before the first step could not be read
            later (its message names the files); the last completed epoch stays committed.

    Returns:
        The final evaluation metrics (also in `<run>/evaluation.json`).

    Example:
        >>> config = TrainConfig(model="resnet20", data="digits", epochs=2, out="run")
        >>> train(config)  # doctest: +SKIP
    """
    config.check()
    with seeded(config.seed, POLICIES[config.precision]):
        strategy = make_strategy(config.strategy)
        chief = is_chief(strategy)
        if chief:  # a second writer is refused before the data are read
            refuse_if_locked(config.run_dir)
        plan, datasets = resolve(config)  # every check of the data, before anything is written
        folder = RunFolder(plan, chief)
        folder.check()
        with folder.locked():
            return _run(folder, strategy, datasets)


def _run(folder: RunFolder, strategy, datasets: Datasets) -> dict:
    """Trains, evaluates and exports the run in its locked folder."""
    plan, config = folder.plan, folder.plan.config
    model = folder.model(strategy)
    if folder.chief:
        folder.write_config()
    if folder.epoch and config.verbose:
        print(f"Resuming {plan.run_dir} after epoch {folder.epoch} of {config.epochs}.")
    guard = Guard(plan.steps_per_epoch, folder)
    callbacks = [EpochCommit(folder, images=plan.images_per_epoch), guard]
    if folder.chief:
        callbacks.append(keras.callbacks.TensorBoard(folder.file("tensorboard")))
    with _stop_on_signals(guard):
        try:
            metrics = fit(model, strategy, plan, datasets, folder.epoch, callbacks)
        except tf.errors.OpError as error:
            changed = plan.data_changed(error)
            if changed is None:
                raise
            raise DataChangedError(
                f"The training data changed during the run: {changed}; {folder.describe()}. "
                f"Restore the files, and the same command {folder.follow_up()} (other data need "
                "another --out)."
            ) from None
    folder.finish(metrics)
    if folder.chief and config.export and not folder.exported():  # once per finished run
        folder.record_export(export_run(plan, metrics))
        if config.verbose:
            print(f"Exported and verified: {folder.state['export']['path']}")
    return metrics


def export_run(plan: Plan, metrics: dict) -> str:
    """The finished run's last model, exported and verified to `<export>/<run name>/<version>`,
    int8 calibrated on the run's own training images."""
    config = plan.config
    calibration = None
    if export_lib.int8_formats(config.export_formats):
        calibration = export_lib.calibration_images(
            plan.data_path,
            split=config.train_split,
            image_size=plan.image_size,
            recipe=plan.recipe,
            data_dir=config.data_dir,
            **plan.eval_transform,
        )
    return export_lib.export(
        load_model(os.path.join(plan.run_dir, "last.keras")),
        config.export,
        name=os.path.basename(os.path.normpath(plan.run_dir)),
        formats=config.export_formats,
        calibration=calibration,
        class_names=plan.classes,
        extra={
            "recipe": plan.recipe,
            "eval_transform": plan.eval_transform,
            "run": os.path.abspath(plan.run_dir),
            "evaluation": metrics,
        },
    )


@contextlib.contextmanager
def seeded(seed: int, policy: str):
    """The run's seeds and dtype policy for the block, restored after it: `train` leaves the
    process's random state and global dtype policy as it found them.

    Example:
        >>> with seeded(0, "mixed_bfloat16"):
        ...     model = keras_resnet.ResNet20()
    """
    saved = (
        random.getstate(),
        np.random.get_state(),
        tf.compat.v1.get_default_graph().seed,
        keras.config.dtype_policy(),
        _compat.keras_seed_state(),
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
        _compat.restore_keras_seed_state(keras_state)


@contextlib.contextmanager
def _stop_on_signals(guard: Guard):
    """During training, a first SIGINT (Ctrl-C) or SIGTERM (a scheduler's stop) asks `guard` to
    stop the run at the next step boundary (`Interrupted`), so that it never lands inside tf.data
    or a checkpoint's write; outside a step, and at a second signal, it interrupts at once, as
    Python's own SIGINT handler does. The previous handlers are back after the block. Only the
    main thread can handle signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum, frame):
        if not guard.interrupt(signum):
            raise Interrupted(signum=signum)

    previous = {signum: signal.signal(signum, handle) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
