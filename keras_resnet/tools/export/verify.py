"""Each export's outputs against the Keras model's: the figures the manifest records, and the
bounds past which an export is refused rather than published."""

import numpy as np

# Parity bounds on the logits: max |export - Keras| / max(1, max |Keras|), i.e. absolute for
# logits up to 1 and relative beyond (float32 rounding grows with the values: a fresh ResNet-50's
# logits reach ~10^3). float16 is relative to the logits' scale. The quantised formats have no
# bound: their figures are recorded, not enforced.
TOLERANCES = {
    "saved_model": 1e-5,
    "saved_model_tf1": 1e-5,
    "tflite_float32": 1e-4,
    "onnx": 1e-4,
    "tflite_float16": 1e-2,
}


def compare(kind: str, outputs: np.ndarray, reference: np.ndarray) -> dict:
    """The differences between `outputs` (of the export `kind`) and the Keras model's `reference`,
    and the top-1 agreement; a RuntimeError when `kind` has a bound in `TOLERANCES` and exceeds it.

    Example:
        >>> compare("onnx", onnx_logits, keras_logits)["max_abs_diff"]  # doctest: +SKIP
        3.1e-06
    """
    difference = float(np.max(np.abs(outputs - reference)))
    scale = float(np.max(np.abs(reference)))
    figures = {
        "max_abs_diff": difference,
        "max_rel_diff": difference / scale if scale else difference,
        "max_scaled_diff": difference / max(1.0, scale),
        "top1_agreement": float(np.mean(outputs.argmax(-1) == reference.argmax(-1))),
        "examples": int(len(reference)),
    }
    bound = TOLERANCES.get(kind)
    if bound is not None:
        measured = figures["max_rel_diff" if kind == "tflite_float16" else "max_scaled_diff"]
        figures["bound"] = bound
        if not measured <= bound:
            raise RuntimeError(
                f"Export verification failed: {kind} differs from the Keras model by "
                f"{measured:.3g} (bound {bound:g}); nothing was published."
            )
    return figures
