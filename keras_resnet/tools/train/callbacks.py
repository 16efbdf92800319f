"""The callbacks a run trains with: each epoch's throughput, the commit of each completed epoch
to the run folder, and the guard that stops a run at once when its loss stops being finite or
the user interrupts it."""

import math
import signal
import time

import keras


class NonFiniteLossError(ValueError):
    """The training loss became NaN or infinite: the run stopped at the step it happened."""


class DataChangedError(ValueError):
    """A training image checked before the first step could not be read later: the data
    changed during the run."""


class Interrupted(KeyboardInterrupt):
    """The run was interrupted (Ctrl-C's SIGINT, or a scheduler's SIGTERM) at a step boundary;
    its message says where, `signum` by which signal."""

    def __init__(self, message: str = "", signum: int = signal.SIGINT):
        super().__init__(message)
        self.signum = signum


class Throughput(keras.callbacks.Callback):
    """Each epoch's training images/s, in `rates`: `images` over the time from the epoch's
    start to its validation's (to its end without one), so without the evaluation, and
    without what `fit` does after the last epoch (tf.data's iterator teardown can wait for
    its autotuning thread for seconds, which timing whole `fit` calls counts).

    Example:
        >>> throughput = Throughput(images=steps * batch_size)  # doctest: +SKIP
        >>> model.fit(data, epochs=3, callbacks=[throughput])  # doctest: +SKIP
        >>> throughput.rates[-1]  # doctest: +SKIP
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


class EpochCommit(Throughput):
    """Commits each completed epoch to the run folder (`RunFolder.commit`), with its learning
    rate and its training images/s (`images_per_s`, see `Throughput`) in the history."""

    def __init__(self, folder, images):
        super().__init__(images)
        self.folder = folder

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        logs = {key: float(value) for key, value in (logs or {}).items()}
        logs["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        logs["images_per_s"] = round(self.rates[-1], 1)
        self.folder.commit(self.model, epoch + 1, logs)


class Guard(keras.callbacks.Callback):
    """Stops the run between two steps, with an error that says where, when the training loss
    is not finite (`NonFiniteLossError`: every later step would train on NaN) or when
    `interrupt()` was called (`Interrupted`, from the SIGINT handler `train` installs).

    Keras reports the epoch's running mean of the loss after each step, which is not finite
    from the first non-finite step on, so the step named is the first bad one.
    """

    def __init__(self, steps_per_epoch, folder):
        super().__init__()
        self.steps_per_epoch = steps_per_epoch
        self.folder = folder  # the RunFolder: what it keeps for the next command
        self.epoch, self.step, self.active = 0, 0, False
        self._signal = None

    def interrupt(self, signum: int = signal.SIGINT) -> bool:
        """Asks the run to stop at the next step boundary. False when no training loop runs, or
        when it was asked already (a second Ctrl-C): then the caller should interrupt at once."""
        asked_before = self._signal is not None
        self._signal = self._signal or signum
        return self.active and not asked_before

    def on_train_begin(self, logs=None):
        self.active = True

    def on_train_end(self, logs=None):
        self.active = False

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.step = epoch + 1, 0

    def on_train_batch_end(self, batch, logs=None):
        self.step = batch + 1
        loss = float((logs or {}).get("loss", 0.0))
        if not math.isfinite(loss):
            self.active = False
            raise NonFiniteLossError(
                f"The training loss became {loss} in epoch {self.epoch} at step {self.step} of "
                f"{self.steps_per_epoch}, so the run stopped there; {self.folder.describe()}. Try "
                "a lower --lr (the same command with it continues the run), a longer "
                "--warmup-epochs in another --out, or --precision float32."
            )
        self._stop_if_interrupted()

    def on_test_batch_end(self, batch, logs=None):
        self._stop_if_interrupted()

    def _stop_if_interrupted(self):
        if self._signal is not None:
            self.active = False
            what = "Terminated" if self._signal == signal.SIGTERM else "Interrupted"
            raise Interrupted(
                f"{what} in epoch {self.epoch} at step {self.step} of {self.steps_per_epoch};"
                f" {self.folder.describe()}. The same command {self.folder.follow_up()}.",
                self._signal,
            )
