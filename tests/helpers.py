"""Small helpers shared by the tests."""

from pathlib import Path

import numpy as np

from keras_resnet.weights import PublishedWeights


def images(batch=2, size=32, seed=0):
    """A batch of random channels-last images in [-1, 1]."""
    return np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, 3)).astype("float32")


def randomise_vectors(model, seed=1):
    """Shifts every 1-D weight (biases, BatchNorm gamma/beta/statistics) by U(0.05, 0.2), so that
    a comparison exercises them all; returns the model."""
    rng = np.random.default_rng(seed)
    model.set_weights(
        [
            w + rng.uniform(0.05, 0.2, w.shape).astype(w.dtype) if w.ndim == 1 else w
            for w in model.get_weights()
        ]
    )
    return model


def local_weights(path, file_hash):
    """Published weights for resnet18 ("test:local") whose URL is a local file: the real download
    code runs, without a network."""
    return PublishedWeights(
        model="resnet18",
        tag="test:local",
        source="a local file",
        url=Path(path).as_uri(),
        file_hash=file_hash,
        variant="v1.5",
        preprocessing="torch",
    )
