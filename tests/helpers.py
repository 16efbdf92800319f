"""Small helpers shared by the tests."""

import numpy as np


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
