"""`keras-resnet`: the command line. Thin: it parses arguments and calls the Python API."""

import argparse
import os
import sys


def _models(args):
    from keras_resnet.summary import model_table

    print(f"{'model':18s} {'builder':34s} {'input':>7s} {'classes':>7s} {'trainable params':>17s} {'GMACs':>7s} {'layers':>6s}")
    for row in model_table(args.names or None):
        print(
            f"{row['model']:18s} {row['builder']:34s} {row['input']:>7s} {row['classes']:>7d} "
            f"{row['trainable_params']:>17,d} {row['macs'] / 1e9:>7.2f} {row['layers']:>6d}",
            flush=True,
        )


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # hides cuInit noise on CPU-only machines
    parser = argparse.ArgumentParser(prog="keras-resnet", description="ResNets for Keras 3.")
    commands = parser.add_subparsers(dest="command", required=True)
    models = commands.add_parser("models", help="build every named model and print its parameters and multiply-adds")
    models.add_argument("names", nargs="*", help="model names (default: all), e.g. resnet50 resnet20")
    models.set_defaults(run=_models)
    args = parser.parse_args(argv)
    if args.command == "models" and args.names:
        from keras_resnet.models import MODELS

        unknown = [name for name in args.names if name not in MODELS]
        if unknown:
            parser.error(f"unknown model names {unknown}; choose from {list(MODELS)}")
    args.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
