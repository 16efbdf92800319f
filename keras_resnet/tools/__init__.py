"""The TensorFlow tooling around the core: data (`data`), training (`train/`: a run's plan, its
folder, loops and callbacks), export (`export/`: a table of formats, each converted and verified;
`export_network`: the float32 logits network the formats are made from) and the runtimes that
run exports (`runtimes`), `evaluate`, `predict`, `benchmark`, and the `keras-resnet` command
line (`cli`); `_compat` holds the only private Keras and LiteRT APIs used. It depends on the core
(`keras_resnet.*`); the core never imports it. Install it with
`pip install "keras-resnet-family[train,export]"` (or `[all]`).
"""

import importlib

DISTRIBUTION = "keras-resnet-family"


def require(module: str, extra: str, backend: bool = False):
    """Imports `module` for a tool, or raises an ImportError that names the extra to install.

    With `backend`, also checks that Keras runs on TensorFlow, which the tools drive
    (tf.data, tf.distribute, SavedModel).

    Example:
        >>> tf = require("tensorflow", "train")
    """
    try:
        imported = importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"keras_resnet.tools needs {module!r}, which is not installed: "
            f'pip install "{DISTRIBUTION}[{extra}]" ({error})'
        ) from error
    if backend:
        import keras

        if keras.backend.backend() != "tensorflow":
            raise ImportError(
                f"keras_resnet.tools runs on Keras' TensorFlow backend; this process uses "
                f"{keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow (the models themselves "
                "run on any backend)."
            )
    return imported
