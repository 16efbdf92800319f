r"""Is the input pipeline ever the bottleneck? The CIFAR training pipeline alone against the
training step alone, and training on the pipeline, measured in one process.

1. pipeline alone: `keras_resnet.tools.data.pipeline` (cached decoded images, shuffle, 4-pixel pad,
   random crop, flip, batch), images/s over an epoch after the one that fills the cache;
2. step alone: ResNet-20 training steps on one in-memory batch, repeated (no pipeline);
3. both: training steps fed by the pipeline.

(2) and (3) are `fit` epochs timed as the training tool's history.csv times them (`Throughput`:
from the epoch's start to its end, so without the iterator's teardown after it).

If (1) is several times (2), and (3) is about (2), the pipeline is not the bottleneck. The
pipeline shares the cores with training, so its CPU time per epoch counts too: it is printed
beside that of the recipe image by image (a map per image of `tf.image.random_crop` and
`random_flip_left_right` after the cache, as the pipeline did before issue 19), of the same
pipeline without augmentation, and of what `model.fit` iterates over on NumPy arrays.

    python benchmarks/pipeline_speed.py --data /path/to/cifar10 \
        [--images 10000] [--precision bfloat16]
"""

import argparse
import time

import keras
import numpy as np
import tensorflow as tf

import keras_resnet
from keras_resnet.tools import data as data_lib
from keras_resnet.tools.train import Throughput


def images_per_second(iterate, images):
    start = time.perf_counter()
    iterate()
    return images / (time.perf_counter() - start)


def cpu_seconds(iterate):
    start = time.process_time()
    iterate()
    return time.process_time() - start


def image_by_image(dataset, batch_size, size):
    """The CIFAR recipe as it was: cache, shuffle, then one map call per image."""

    def augment(image, label):
        image = tf.ensure_shape(tf.cast(image, tf.float32), (*size, 3))
        image = tf.image.pad_to_bounding_box(image, 4, 4, size[0] + 8, size[1] + 8)
        image = tf.image.random_crop(image, (*size, 3))
        return tf.image.random_flip_left_right(image), label

    dataset = dataset.cache().shuffle(50_000, seed=0)
    dataset = dataset.map(augment, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def fit_arrays(dataset, batch_size):
    """What `model.fit(x, y, batch_size=...)` iterates over on NumPy arrays (Keras' own array
    adapter, shuffled, no augmentation), on the same decoded images in float32."""
    # private: no public Keras API gives fit's input on arrays
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    images, labels = zip(*((x.numpy(), y.numpy()) for x, y in dataset.batch(5000)), strict=True)
    x, y = np.concatenate(images).astype("float32"), np.concatenate(labels)
    steps = len(x) // batch_size
    adapter = ArrayDataAdapter(
        x[: steps * batch_size], y[: steps * batch_size], batch_size=batch_size
    )
    return adapter.get_tf_dataset()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="an image folder root/train/<class>/*.jpg")
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--precision", default="bfloat16", choices=["float32", "bfloat16"])
    args = parser.parse_args(argv)

    dataset, info = data_lib.load(args.data, "train")
    dataset = dataset.take(args.images)  # speed does not depend on which images
    batches = data_lib.pipeline(
        dataset, training=True, batch_size=args.batch, recipe="cifar", image_size=(32, 32), seed=0
    )
    steps = args.images // args.batch
    images = steps * args.batch
    for _ in batches:  # fills the cache: decoding happens once per run
        pass
    pipeline = images_per_second(lambda: [None for _ in batches], images)
    reference = image_by_image(dataset, args.batch, (32, 32))
    unaugmented = data_lib.pipeline(
        dataset, training=True, batch_size=args.batch, recipe="none", image_size=(32, 32), seed=0
    )
    arrays = fit_arrays(dataset, args.batch)
    for filling in (reference, unaugmented):  # their caches, as for `batches`
        for _ in filling:
            pass
    cpu = {
        name: min(cpu_seconds(lambda d=d: [None for _ in d]) for _ in range(3))
        for name, d in [
            ("batched", batches),
            ("image by image", reference),
            ("batched, no augmentation", unaugmented),
            ("model.fit's arrays", arrays),
        ]
    }
    print(
        f"pipeline CPU s per {images:,} images (best of 3): "
        + ", ".join(f"{name} {seconds:.2f}" for name, seconds in cpu.items())
    )

    keras.mixed_precision.set_global_policy(
        "mixed_bfloat16" if args.precision == "bfloat16" else "float32"
    )
    model = keras_resnet.ResNet20(classes=info.num_classes, include_preprocessing=True)
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy")
    batch = next(iter(batches))
    repeated = tf.data.Dataset.from_tensors(batch).repeat(steps)
    model.fit(repeated.take(5), verbose=0)  # tracing
    step, both = Throughput(images), Throughput(images)  # each epoch, without fit's teardown
    model.fit(repeated, verbose=0, callbacks=[step])
    model.fit(batches, verbose=0, callbacks=[both])
    step, both = step.rates[-1], both.rates[-1]
    print(
        f"pipeline alone {pipeline:,.0f} images/s; training step alone {step:,.0f} images/s; "
        f"training on the pipeline {both:,.0f} images/s ({both / step:.2f} of the step alone; "
        f"the pipeline is {pipeline / step:.1f}x faster than the step)"
    )
    return {"pipeline": pipeline, "step": step, "both": both}


if __name__ == "__main__":
    main()
