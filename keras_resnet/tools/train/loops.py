"""The training loops: `model.fit` under one device or MirroredStrategy, and a plain
tf.distribute loop for MultiWorkerMirroredStrategy; the strategies themselves."""

import keras

from keras_resnet.tools._tensorflow import tf
from keras_resnet.tools.train.plan import Datasets, Plan


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The tf.distribute strategy a run trains under.

    "auto": MirroredStrategy over every GPU if there are several, else the default strategy;
    "one_device"; "mirrored": all local GPUs (or CPU devices set up with
    `tf.config.set_logical_device_configuration`); "multi_worker": from `TF_CONFIG`.

    Example:
        >>> make_strategy("auto").num_replicas_in_sync
        1
    """
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


def is_chief(strategy) -> bool:
    """Whether this process writes the run folder: the "chief", else worker 0, else the only one."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    return task_type in (None, "chief") or (task_type == "worker" and resolver.task_id == 0)


def fit(model, strategy, plan: Plan, datasets: Datasets, initial_epoch: int, callbacks) -> dict:
    """Trains from `initial_epoch` to the plan's last epoch, then evaluates; returns the test
    metrics."""
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return _multi_worker_fit(model, strategy, plan, datasets, initial_epoch, callbacks)
    config = plan.config
    if initial_epoch < config.epochs:
        model.fit(
            datasets.train,
            validation_data=datasets.evaluation,
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=plan.steps_per_epoch,
            callbacks=callbacks,
            verbose=config.verbose,
            shuffle=False,  # the pipeline shuffles
        )
    metrics = model.evaluate(datasets.evaluation, return_dict=True, verbose=0)
    return {key: float(value) for key, value in metrics.items()}


def _multi_worker_fit(model, strategy, plan, datasets, initial_epoch, callbacks):
    """`fit` and `evaluate` as a plain tf.distribute loop, for MultiWorkerMirroredStrategy,
    under which Keras 3.15's own fail (keras-team/keras#20585). The callbacks see what `fit`
    would give them: each step's running loss, the evaluation's start and end, each epoch's
    metrics."""
    config = plan.config
    train_step, evaluate = _distributed_steps(model, strategy, config)
    iterator = iter(strategy.experimental_distribute_dataset(datasets.train))
    callback_list = keras.callbacks.CallbackList(callbacks, model=model)
    callback_list.on_train_begin()
    for epoch in range(initial_epoch, config.epochs):
        callback_list.on_epoch_begin(epoch)
        sums = tf.zeros(4)
        for step in range(plan.steps_per_epoch):
            sums += train_step(iterator)
            callback_list.on_train_batch_end(step, _summary(sums))
        logs = _summary(sums)
        callback_list.on_test_begin()  # as in fit: the epoch's training time ends here
        validation = evaluate(datasets.evaluation)
        callback_list.on_test_end(validation)
        logs |= {f"val_{key}": value for key, value in validation.items()}
        callback_list.on_epoch_end(epoch, logs)
        if config.verbose:
            values = " - ".join(f"{key}: {value:.4f}" for key, value in logs.items())
            print(f"Epoch {epoch + 1}/{config.epochs}: {values}", flush=True)
    callback_list.on_train_end()
    return evaluate(datasets.evaluation)


def _summary(sums):
    loss, top1, top5, count = (float(value) for value in sums)
    return {"loss": loss / count, "accuracy": top1 / count, "top5": top5 / count}


def _distributed_steps(model, strategy, config):
    """One training step over all replicas (the sums of loss, top-1 hits, top-5 hits and
    examples), and the evaluation of a dataset with the same sums."""
    per_example_loss = keras.losses.CategoricalCrossentropy(
        label_smoothing=config.label_smoothing, reduction=None
    )
    with strategy.scope():
        model.optimizer.build(model.trainable_variables)  # in cross-replica context

    def totals(labels, predictions):
        losses = per_example_loss(labels, predictions)
        true = tf.argmax(labels, axis=-1)
        top1 = tf.cast(tf.equal(tf.argmax(predictions, axis=-1), true), tf.float32)
        k = min(5, predictions.shape[-1])
        top5 = tf.cast(tf.math.in_top_k(true, tf.cast(predictions, tf.float32), k), tf.float32)
        count = tf.cast(tf.shape(labels)[0], tf.float32)
        sums = [tf.reduce_sum(losses), tf.reduce_sum(top1), tf.reduce_sum(top5), count]
        return losses, tf.stack(sums)

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

    def evaluate(dataset):
        batches = strategy.experimental_distribute_dataset(dataset)
        return _summary(sum((eval_step(batch) for batch in batches), tf.zeros(4)))

    return train_step, evaluate
