"""CIFAR-10 test-split accuracy of a trained model and of its two int8 files (LiteRT and
onnxruntime), both calibrated on the same 256 training images, with the differences in points.

    unzip -q ../shared/data/cifar10-jpeg.zip -d /tmp/cifar10
    python benchmarks/int8_accuracy.py /tmp/trained/resnet20-cifar10 --data /tmp/cifar10

The model is a run folder (its best.keras) or a .keras file trained on the data; each file is
scored by `keras-resnet evaluate`'s own code, in its own runtime, on the whole split.
"""

import argparse
import os
import tempfile

from keras_resnet.tools import runtimes
from keras_resnet.tools.config import INT8_FORMATS, ONNX_FORMATS, TFLITE_FORMATS
from keras_resnet.tools.evaluate import evaluate
from keras_resnet.tools.export import calibration_images, export


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a run folder or a .keras file trained on --data")
    parser.add_argument(
        "--data",
        default="/tmp/cifar10",
        help="the data set: its train split calibrates, its test split scores",
    )
    parser.add_argument("--calibration-split", default="train")
    parser.add_argument("--split", default="test")
    parser.add_argument(
        "--out", help="keep the exports and evaluations here (default: a temporary folder)"
    )
    args = parser.parse_args(argv)
    files = {**TFLITE_FORMATS, **ONNX_FORMATS}
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or scratch
        predictor = runtimes.open_model(args.model, "keras")
        calibration = calibration_images(
            args.data,
            split=args.calibration_split,
            image_size=predictor.input_shape[:2],
            **predictor.preparation,
        )
        folder = export(
            args.model, os.path.join(out, "exports"), formats=INT8_FORMATS, calibration=calibration
        )
        models = {
            "keras": args.model,
            **{kind: os.path.join(folder, files[kind]) for kind in INT8_FORMATS},
        }
        accuracy = {
            kind: evaluate(path, args.data, split=args.split, out=os.path.join(out, "evaluations"))
            for kind, path in models.items()
        }
    print(
        f"{args.model} on {args.data} ({args.split}, {accuracy['keras']['examples']} images; "
        f"int8 calibrated on {len(calibration)} {args.calibration_split} images):"
    )
    for kind, metrics in accuracy.items():
        difference = 100 * (metrics["accuracy"] - accuracy["keras"]["accuracy"])
        print(
            f"  {kind:12s} {100 * metrics['accuracy']:.2f}%"
            + ("" if kind == "keras" else f"  ({difference:+.2f} points)")
        )


if __name__ == "__main__":
    main()
