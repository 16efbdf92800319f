"""The run folder: its identity, its lock, its committed state and resume.

    state.json          the commit point: last completed epoch, its checkpoint, history
    config.json         the run's settings, plan and identity, and how later commands continued it
    checkpoints/        epoch-N.keras, the full model with its optimizer state
    last.keras          the last completed epoch's model; best.keras: best validation accuracy
    history.csv         one row per completed epoch; curves.png: the learning curves
    tensorboard/        TensorBoard logs
    evaluation.json     test metrics at the end
    skipped_files.txt   the training files left out, with the reason for each

Every file is written to a temporary name and renamed into place, and state.json is written
last: a run killed at any moment (even `kill -9`) restarts from its last completed epoch,
with the same command, and nothing already written is lost or half-written.
"""

import contextlib
import dataclasses
import json
import os
import shutil
import tempfile

import keras

from keras_resnet import files
from keras_resnet.models import load_model
from keras_resnet.tools.train.history import write_history
from keras_resnet.tools.train.network import build_model, compile_model, schedule
from keras_resnet.tools.train.plan import IDENTITY, Plan

PARTIAL = ".partial-"  # what `files.atomic_write` names its temporary files


class RunFolder:
    """One run's folder. Only the chief writes; the other workers read it (on a shared
    filesystem) and save into scratch folders, since saving may need every worker.

    Example:
        >>> folder = RunFolder(plan, chief=True)  # doctest: +SKIP
        >>> with folder.locked():  # doctest: +SKIP
        ...     model, initial_epoch = folder.model(strategy)
    """

    def __init__(self, plan: Plan, chief: bool, monitor: str = "val_accuracy"):
        self.plan, self.chief, self.monitor = plan, chief, monitor
        self.path = plan.run_dir
        self.state = {}

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    @property
    def epoch(self) -> int:
        """The last committed epoch (0 before the first)."""
        return self.state.get("epoch", 0)

    def check(self) -> None:
        """Refuses, before anything is written, a folder that holds another run (every difference
        listed), fewer epochs than it has trained, or an output folder this process cannot
        write."""
        _check_writable(self.path, "out")
        if self.plan.config.export:
            _check_writable(self.plan.config.export, "export")
        if not os.path.exists(self.file("state.json")):
            return
        recorded = files.read_json(self.file("config.json"), default={})
        # Runs written before identities were recorded: their config fields and classes.
        recorded_identity = recorded.get("identity") or {
            **{key: recorded[key] for key in IDENTITY if key in recorded},
            "classes": recorded.get("classes"),
        }
        current = self.plan.identity
        differences = [
            f"{key}: {recorded_identity[key]!r} in the run, {current[key]!r} now"
            for key in recorded_identity
            if key in current and recorded_identity[key] != current[key]
        ]
        done = files.read_json(self.file("state.json")).get("epoch", 0)
        epochs = self.plan.config.epochs
        if epochs < done:
            differences.append(
                f"epochs: the run has trained {done}, epochs={epochs} would not continue it"
            )
        if differences:
            raise ValueError(
                f"`out` {self.path} holds another run, so it is not continued: "
                + "; ".join(differences)
                + ". Start afresh with another --out (or delete that folder), or continue it with "
                "its own settings (more --epochs, other export settings)."
            )

    @contextlib.contextmanager
    def locked(self):
        """The chief's hold on the folder for the block: one writer at a time, the identity checked
        again under the lock, what a killed writer left removed; a start that fails before its
        first commit leaves no folder behind. The other workers only read it."""
        if not self.chief:
            self.state = files.read_json(self.file("state.json"), default={})
            yield self
            return
        lock, what = self.file(".lock"), f"run folder {self.path}"
        created = not os.path.exists(self.path)
        os.makedirs(self.file("checkpoints"), exist_ok=True)
        try:
            with files.exclusive(lock, what):
                self.check()  # again, now that nobody else writes
                self._remove_partial_files()
                self.state = files.read_json(self.file("state.json"), default={})
                yield self
        except BaseException:
            if created and not os.path.exists(self.file("state.json")):
                shutil.rmtree(self.path, ignore_errors=True)
            raise

    def model(self, strategy) -> keras.Model:
        """The last committed epoch's model and optimizer, else a new compiled model, built in
        `strategy`'s scope. More epochs, or another learning rate, than before continue along the
        schedule they make (stretched to the new end, scaled to the new peak)."""
        config = self.plan.config
        with strategy.scope():
            if not self.state.get("checkpoint"):
                model = build_model(self.plan, strategy.num_replicas_in_sync)
                compile_model(model, self.plan)
                return model
            checkpoint = self.file(self.state["checkpoint"])
            try:
                model = load_model(checkpoint)
            except Exception as error:  # zipfile, h5py and Keras errors alike
                raise ValueError(
                    f"The run's last checkpoint {checkpoint} cannot be loaded "
                    f"({type(error).__name__}: {error}); it was written atomically, so it was "
                    "damaged elsewhere. Start afresh with another --out."
                ) from None
            recorded = files.read_json(self.file("config.json"), default={})
            if (self.state.get("epochs"), recorded.get("lr")) != (config.epochs, config.lr):
                # The optimizer follows the new schedule from the step it has reached.
                model.optimizer.learning_rate = schedule(config, self.plan.steps_per_epoch)
            return model

    def write_config(self) -> None:
        """config.json (the settings, the plan, the identity and the list of continuations) and
        skipped_files.txt."""
        plan, config = self.plan, self.plan.config
        settings = json.loads(json.dumps(dataclasses.asdict(config)))
        recorded = files.read_json(self.file("config.json"), default={}) if self.state else {}
        continued = recorded.get("continued", [])
        changes = {
            key: [recorded[key], value]
            for key, value in settings.items()
            if key in recorded and key not in plan.identity and value != recorded[key]
        }
        if changes:
            continued.append({"after_epoch": self.epoch, "changed": changes})
        files.write_json(
            self.file("config.json"),
            {
                **settings,
                "data_path": plan.data_path,
                "classes": list(plan.classes),
                "image_size": list(plan.image_size),
                "recipe": plan.recipe,
                "eval_transform": plan.eval_transform,
                "identity": plan.identity,
                "continued": continued,
            },
        )
        if plan.skipped:
            text = "".join(f"{reason}\n" for _, reason in plan.skipped)
            files.atomic_write(self.file("skipped_files.txt"), lambda p: _write_text(p, text))
        self.state["epochs"] = config.epochs

    def commit(self, model: keras.Model, epoch: int, logs: dict) -> None:
        """Commits a completed epoch: its checkpoint, then state.json (the commit point), then the
        files derived from it (last/best model, history, curves)."""
        scratch = None if self.chief else tempfile.mkdtemp()
        checkpoint = os.path.join(scratch or self.file("checkpoints"), f"epoch-{epoch}.keras")
        files.atomic_write(checkpoint, model.save)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
            return
        history = [row for row in self.state.get("history", []) if row["epoch"] < epoch]
        history.append({"epoch": epoch, **logs})
        best = self.state.get("best")
        improved = self.monitor in logs and (best is None or logs[self.monitor] > best["value"])
        previous = self.state.get("checkpoint")
        relative = os.path.relpath(checkpoint, self.path)
        self.state.update(epoch=epoch, checkpoint=relative, history=history)
        if improved:
            self.state["best"] = {
                "epoch": epoch,
                "value": logs[self.monitor],
                "metric": self.monitor,
            }
        files.write_json(self.file("state.json"), self.state)
        if previous and previous != relative and os.path.exists(self.file(previous)):
            os.remove(self.file(previous))
        for name in ("last.keras", *(("best.keras",) if improved else ())):
            files.atomic_write(self.file(name), lambda p: shutil.copyfile(checkpoint, p))
        write_history(self.path, history)

    def finish(self, metrics: dict) -> None:
        """evaluation.json of the finished run."""
        if self.chief:
            files.write_json(self.file("evaluation.json"), metrics)

    def exported(self) -> bool:
        """Whether this run's model, at its current number of epochs, is exported already."""
        return self.state.get("export", {}).get("epoch") == self.plan.config.epochs

    def record_export(self, path: str) -> None:
        self.state["export"] = {"epoch": self.plan.config.epochs, "path": path}
        files.write_json(self.file("state.json"), self.state)

    def describe(self) -> str:
        """What the folder keeps for the next command, for messages about a stopped run."""
        if not self.epoch:
            return f"no epoch was completed, so nothing is kept in {self.path}"
        return f"{self.path} keeps epoch {self.epoch}"

    def follow_up(self) -> str:
        """What the same command does next: continue the run, or start it afresh."""
        return "continues the run" if self.epoch else "starts it afresh"

    def _remove_partial_files(self):
        """Deletes what a killed run was writing (`.partial-*`): never a committed file."""
        for folder in (self.path, self.file("checkpoints")):
            for name in os.listdir(folder):
                if name.startswith(PARTIAL):
                    os.remove(os.path.join(folder, name))


def refuse_if_locked(run_dir: str) -> None:
    """Raises `files.LockedError`, naming the holder, if another process writes `run_dir`: a probe,
    so that a second writer is refused before any slow start-up."""
    files.check_unlocked(os.path.join(run_dir, ".lock"), f"run folder {run_dir}")


def _write_text(path, text):
    with open(path, "w") as file:
        file.write(text)


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
