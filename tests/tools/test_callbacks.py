"""The run's guard (keras_resnet.tools.train.Guard) inside Keras' `CallbackList`, as `fit`
drives it: it names the first step whose loss is not finite and stops before that epoch is
committed, and an interrupt stops the run at the end of the step it arrives in."""

import math
import signal

import keras
import pytest

from keras_resnet.tools.train import Guard, Interrupted, NonFiniteLossError


class Folder:
    """What the guard's messages ask of a RunFolder."""

    def describe(self):
        return "the run folder keeps epoch 1"

    def follow_up(self):
        return "continues the run"


class Commits(keras.callbacks.Callback):
    """Records the epochs that reached their end, as EpochCommit would commit them."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch + 1)


def drive(callbacks, losses, steps=5, interrupt_during=None):
    """Two epochs of `steps` steps through a CallbackList as `fit` calls it; `losses[(epoch,
    step)]` is a step's running loss (1.0 where absent)."""
    callback_list = keras.callbacks.CallbackList(callbacks)
    callback_list.on_train_begin()
    for epoch in range(2):
        callback_list.on_epoch_begin(epoch)
        for step in range(steps):
            callback_list.on_train_batch_begin(step)
            if (epoch, step) == interrupt_during:
                assert callbacks[0].interrupt(signal.SIGINT)  # a loop runs: it will stop
            callback_list.on_train_batch_end(step, {"loss": losses.get((epoch, step), 1.0)})
        callback_list.on_test_begin()
        callback_list.on_test_batch_begin(0)
        callback_list.on_test_batch_end(0, {})
        callback_list.on_test_end({})
        callback_list.on_epoch_end(epoch, {"loss": 1.0})
    callback_list.on_train_end()


@pytest.mark.parametrize("bad_step", [0, 2, 4])  # 4: the epoch's last step
def test_a_loss_that_is_not_finite_names_its_step_and_the_epoch_is_not_committed(bad_step):
    guard, commits = Guard(5, Folder()), Commits()
    losses = {(1, step): math.nan for step in range(bad_step, 5)}  # a running mean stays NaN
    with pytest.raises(NonFiniteLossError) as error:
        drive([guard, commits], losses)
    assert str(error.value).startswith(
        f"The training loss became nan in epoch 2 at step {bad_step + 1} of 5, so the run "
        "stopped there; the run folder keeps epoch 1."
    )
    assert commits.epochs == [1] and not guard.active


def test_an_interrupt_stops_the_run_when_its_step_ends():
    guard, commits = Guard(5, Folder()), Commits()
    with pytest.raises(Interrupted) as error:
        drive([guard, commits], {}, interrupt_during=(1, 3))
    assert str(error.value) == (
        "Interrupted in epoch 2 at step 4 of 5; the run folder keeps epoch 1. "
        "The same command continues the run."
    )
    assert error.value.signum == signal.SIGINT and commits.epochs == [1]
    assert not guard.interrupt()  # asked before, and no loop runs: the caller stops at once


def test_a_run_with_finite_losses_is_not_stopped():
    guard, commits = Guard(5, Folder()), Commits()
    drive([guard, commits], {(0, 1): 1e30})
    assert commits.epochs == [1, 2] and not guard.active
