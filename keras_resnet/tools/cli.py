"""`keras-resnet`: the command line. Thin: it parses arguments and calls the Python API.

Parsing needs no Keras and no TensorFlow (`--help` answers in about 0.1 s); a command imports
what it needs when it runs, after TensorFlow's C++ logging has been set (off unless --verbose).
"""

import argparse
import ast
import contextlib
import dataclasses
import logging
import os
import re
import signal
import sys
import threading
import warnings

from keras_resnet import files
from keras_resnet.tools import config

# A C++ log line of TensorFlow, XLA or LiteRT (absl's
# "I0000 00:00:1795867387.990526  2835 port.cc:153] ..."), or the TFLite quantizer's printout.
_NATIVE_LOG = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\)"
    rb"|[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.-]+:\d+\]"
    rb"|INFO: Created TensorFlow Lite|fully_quantize: )"
)


@contextlib.contextmanager
def _without_native_logs():
    """Drops TensorFlow's C++ log lines from stderr and passes everything else on. absl writes
    what is logged before its initialisation (oneDNN, CUDA probing: TensorFlow 2.21 logs both at
    import) to stderr whatever TF_CPP_MIN_LOG_LEVEL says (abseil/abseil-cpp#1718), so setting
    that variable alone leaves a dozen lines at every command."""
    sys.stderr.flush()
    stderr = os.dup(2)
    read, write = os.pipe()
    os.dup2(write, 2)
    os.close(write)

    def pump():
        with os.fdopen(read, "rb") as lines:
            for line in lines:
                if not _NATIVE_LOG.match(line):
                    os.write(stderr, line)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(stderr, 2)  # closes the pipe's last write end: the pump reads to its end and stops
        thread.join(timeout=10)
        os.close(stderr)


# Errors of the user's input or environment (bad values, missing files, a locked run, a missing
# extra), which the API raises with a message that names the cause.
USER_ERRORS = (ValueError, OSError, ImportError)


def _models(args):
    from keras_resnet.summary import model_table

    print(
        f"{'model':18s} {'builder':34s} {'input':>7s} {'classes':>7s} "
        f"{'trainable params':>17s} {'GMACs':>7s} {'layers':>6s}"
    )
    for row in model_table(args.names or None):
        print(
            f"{row['model']:18s} {row['builder']:34s} {row['input']:>7s} {row['classes']:>7d} "
            f"{row['trainable_params']:>17,d} {row['macs'] / 1e9:>7.2f} {row['layers']:>6d}",
            flush=True,
        )


def _option(text):
    """`key=value` with a Python literal value (`se_ratio=0.0625`, `plain=True`, `plain=true`);
    anything else stays a string, which the builder then checks (`maybe` is no boolean)."""
    key, _, value = text.partition("=")
    if not key or not value:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    if value.lower() in ("true", "false"):
        return key, value.lower() == "true"
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def _train(args):
    fields = {f.name for f in dataclasses.fields(config.TrainConfig)}
    values = {
        k: v
        for k, v in vars(args).items()
        if k in fields and v is not None and k != "model_options"
    }
    values["model_options"] = dict(args.option or [])
    if values.get("export") == "":  # --no-export
        values["export"] = None
    run = config.TrainConfig(**values)
    if args.strategy != "multi_worker":  # a second writer is refused before TensorFlow even loads
        files.check_unlocked(os.path.join(run.run_dir, ".lock"), f"run folder {run.run_dir}")
    from keras_resnet.tools.train import train

    metrics = train(run)
    print("evaluation: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))


def _evaluate(args):
    from keras_resnet.tools.evaluate import evaluate

    metrics = evaluate(
        args.model,
        args.data,
        split=args.split,
        data_dir=args.data_dir,
        batch_size=args.batch_size,
        out=args.out,
        runtime=args.runtime,
    )
    print(
        ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))
        + f" ({metrics['examples']} "
        f"images; written to {metrics['folder']})"
    )


def _export(args):
    from keras_resnet.tools.export import export

    formats = (
        config.EXPORT_FORMATS
        if args.formats == "all"
        else [kind.strip() for kind in args.formats.split(",")]
    )
    calibration = None
    if args.calibration_data:
        from keras_resnet.tools import runtimes
        from keras_resnet.tools.export import calibration_images

        predictor = runtimes.open_model(args.model, "keras")
        calibration = calibration_images(
            args.calibration_data,
            split=args.calibration_split,
            data_dir=args.data_dir,
            image_size=predictor.input_shape[:2],
            **predictor.preparation,
        )
    path = export(
        args.model,
        args.out,
        name=args.name,
        version=args.version,
        formats=formats,
        input_dtype=args.input_dtype,
        preprocessing=args.preprocessing,
        calibration=calibration,
    )
    print(f"exported and verified: {path}")
    _print_verification(path)


def _print_verification(path):
    verification = files.read_json(os.path.join(path, "manifest.json"))["verification"]
    for kind, figures in verification.items():
        print(
            f"  {kind:16s} max abs diff {figures['max_abs_diff']:.2e}  "
            f"top-1 agreement {figures['top1_agreement']:.3f}  ({figures['examples']} images)"
        )


def _predict(args):
    from keras_resnet.tools.predict import predict

    for path, top in predict(
        args.images,
        args.model,
        top_k=args.top_k,
        resize=args.resize,
        preprocessing=args.preprocessing,
    ):
        print(path)
        for score, index, name in top:
            print(f"  {score:8.4f}  {name} ({index})")


def _benchmark(args):
    from keras_resnet.models import MODELS, build
    from keras_resnet.tools import runtimes
    from keras_resnet.tools.benchmark import benchmark, format_table

    if args.model not in MODELS and not os.path.exists(args.model):
        raise ValueError(
            f"`model` must be a name from `keras-resnet models` ({', '.join(MODELS)}) "
            f"or a .keras file or run folder; received model={args.model!r}."
        )
    if args.model in MODELS:
        size = args.image_size or MODELS[args.model].default_size
        model = build(
            args.model,
            input_shape=(size, size, 3),
            include_preprocessing=True,
            data_format="channels_last",
        )
    else:
        model = runtimes.open_model(args.model, "keras").keras_model
    rows = benchmark(model, batch_size=args.batch_size, rounds=args.rounds)
    print(
        f"{args.model}, {model.input_shape[1]}x{model.input_shape[2]}, "
        f"{args.rounds} rounds (medians):"
    )
    print(format_table(rows, args.batch_size))
    saved_model = next(row["bytes"] for row in rows if row["runtime"] == "saved_model")
    print(
        f"SavedModel {saved_model / 1e6:.1f} MB = {saved_model / (model.count_params() * 4):.3f}x "
        f"its float32 parameters ({model.count_params():,})"
    )


def _add_cpu_replicas(parser):
    parser.add_argument(
        "--cpu-replicas",
        type=int,
        default=None,
        help="split the CPU into this many logical devices (to try tf.distribute without GPUs)",
    )


def _warning_line(message, category, filename, lineno, line=None):
    """Warnings as the CLI's own lines (the data's skipped files, a fresh
    classifier), not Python's."""
    return f"keras-resnet: warning: {message}\n"


def _command(commands, name, run, help):
    """A subcommand that takes --verbose (TensorFlow's C++ log lines, off by default)."""
    command = commands.add_parser(name, help=help)
    command.add_argument(
        "--verbose",
        dest="native_logs",
        action="store_true",
        help="show TensorFlow's C++ log lines (hidden by default)",
    )
    command.set_defaults(run=run)
    return command


def _parser():
    """keras-resnet's parser: a subcommand per job, each added by its `_add_*` function."""
    parser = argparse.ArgumentParser(prog="keras-resnet", description="ResNets for Keras 3.")
    commands = parser.add_subparsers(dest="command", required=True)
    defaults = config.TrainConfig()
    _add_models(commands)
    _add_train(commands, defaults)
    _add_evaluate(commands, defaults)
    _add_export(commands)
    _add_predict(commands)
    _add_benchmark(commands)
    return parser


def _add_models(commands):
    models = _command(
        commands,
        "models",
        _models,
        "build every named model and print its parameters and multiply-adds",
    )
    models.add_argument(
        "names", nargs="*", help="model names (default: all), e.g. resnet50 resnet20"
    )


def _add_train(commands, defaults):
    train = _command(
        commands,
        "train",
        _train,
        "train a model with model.fit (default: ResNet-20 on the embedded digits)",
    )
    _add_train_data(train, defaults)
    _add_train_optimisation(train, defaults)
    _add_train_outputs(train, defaults)


def _add_train_data(train, defaults):
    """The model and the data it trains on."""
    train.add_argument("--model", default=defaults.model, help="a name from `keras-resnet models`")
    train.add_argument(
        "--data",
        default=defaults.data,
        help="'digits' (embedded, no download), an image folder root/<split>/<class>/*.jpg, "
        "or a tfds name (cifar10, imagenette, ...)",
    )
    train.add_argument(
        "--data-dir", help="tensorflow-datasets' data folder (prepared data is read offline)"
    )
    train.add_argument(
        "--manual-dir", help="tensorflow-datasets' manual download folder (imagenet2012)"
    )
    train.add_argument(
        "--no-download",
        dest="download",
        action="store_false",
        default=None,
        help="never download data",
    )
    train.add_argument("--train-split", default=None)
    train.add_argument("--eval-split", default=None)
    train.add_argument("--image-size", type=int, help="resize images to this square size")
    train.add_argument("--recipe", choices=config.RECIPES, help="augmentation (default: by model)")


def _add_train_optimisation(train, defaults):
    """The optimiser, its schedule, the precision and the devices."""
    train.add_argument("--epochs", type=int, default=defaults.epochs)
    train.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, help="global batch size"
    )
    train.add_argument("--optimizer", choices=config.OPTIMIZERS, default=defaults.optimizer)
    train.add_argument(
        "--lr",
        type=float,
        default=defaults.lr,
        help="learning rate at a global batch of 256 (scaled linearly)",
    )
    train.add_argument("--no-nesterov", dest="nesterov", action="store_false", default=None)
    train.add_argument(
        "--weight-decay",
        type=float,
        default=defaults.weight_decay,
        help="on kernels only (not BatchNorm, not biases); SGD: L2 on the gradient, "
        "AdamW: decoupled",
    )
    train.add_argument("--schedule", choices=config.SCHEDULES, default=defaults.schedule)
    train.add_argument("--warmup-epochs", type=float, default=defaults.warmup_epochs)
    train.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing)
    train.add_argument(
        "--precision",
        choices=config.PRECISIONS,
        default=defaults.precision,
        help="bfloat16 on CPU, float16 (with loss scaling) on GPU; the head stays float32",
    )
    train.add_argument(
        "--jit-compile", action="store_true", default=None, help="XLA (helps on GPU; slower on CPU)"
    )
    train.add_argument(
        "--strategy",
        choices=config.STRATEGIES,
        default=defaults.strategy,
        help="multi_worker reads TF_CONFIG",
    )


def _add_train_outputs(train, defaults):
    """The model's options, the run folder and the export at the end."""
    train.add_argument(
        "--option",
        type=_option,
        action="append",
        metavar="KEY=VALUE",
        help="a model option, e.g. --option zero_init_residual=True --option shortcut='B'",
    )
    train.add_argument(
        "--out", help="run folder (default runs/<model>-<data>); running again resumes it"
    )
    train.add_argument(
        "--export",
        default=defaults.export,
        help="model base folder for the verified export at the end (<export>/<run name>/<version>)",
    )
    train.add_argument(
        "--no-export",
        dest="export",
        action="store_const",
        const="",
        help="skip the export at the end",
    )
    train.add_argument(
        "--export-formats",
        type=lambda text: tuple(text.split(",")),
        help="comma-separated formats to export (default: all)",
    )
    train.add_argument("--seed", type=int, default=defaults.seed)
    train.add_argument(
        "--progress",
        dest="verbose",
        type=int,
        choices=(0, 1, 2),
        default=defaults.verbose,
        help="Keras' progress output: 0 none, 1 a progress bar, 2 a line per epoch",
    )
    _add_cpu_replicas(train)


def _add_evaluate(commands, defaults):
    evaluate = _command(
        commands,
        "evaluate",
        _evaluate,
        "top-1/top-5, loss and a confusion matrix of a model or export on a data set",
    )
    evaluate.add_argument(
        "model", help="a .keras file, a run folder, a SavedModel folder, a .tflite or an .onnx file"
    )
    evaluate.add_argument(
        "--runtime", help="force a runtime, e.g. saved_model_tf1 (TF Serving's loader)"
    )
    evaluate.add_argument("--data", default=defaults.data)
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--data-dir")
    evaluate.add_argument("--batch-size", type=int, default=256)
    evaluate.add_argument(
        "--out",
        default="evaluations",
        help="folder that collects evaluations: each goes to <out>/<model>-<split>-<n>/, "
        "never into an export",
    )


def _add_export(commands):
    export = _command(
        commands,
        "export",
        _export,
        "export a model for TF Serving, LiteRT and onnxruntime, each verified",
    )
    export.add_argument("model", help="a .keras file or a run folder")
    export.add_argument(
        "--out",
        default="saved_models",
        help="model base folder (TF Serving's layout <out>/<name>/<version>)",
    )
    export.add_argument("--name", help="model name (default: the run folder's or model's name)")
    export.add_argument(
        "--version", type=int, help="version number (default: the next free one; never overwritten)"
    )
    export.add_argument(
        "--formats",
        default="all",
        help=f"'all' or a comma-separated list of {', '.join(config.EXPORT_FORMATS)}",
    )
    export.add_argument(
        "--input-dtype",
        choices=["float32", "uint8"],
        default="float32",
        help="uint8: raw pixels in, preprocessing inside (the int8 files always take uint8)",
    )
    export.add_argument(
        "--preprocessing",
        choices=["torch", "caffe", "tf"],
        help="for models that do not take raw pixels themselves (needed by uint8 and int8)",
    )
    export.add_argument(
        "--calibration-data",
        help="data for int8 calibration (default: a run folder's training data)",
    )
    export.add_argument("--calibration-split", default="train")
    export.add_argument("--data-dir", help="tensorflow-datasets' data folder")


def _add_predict(commands):
    predict = _command(
        commands, "predict", _predict, "classify images with a model or export, in its own runtime"
    )
    predict.add_argument("images", nargs="+", help="JPEG, PNG, GIF, BMP or WebP files")
    predict.add_argument(
        "--model",
        required=True,
        help="a .keras file, run folder, SavedModel folder, .tflite or .onnx",
    )
    predict.add_argument("--top-k", type=int, default=5)
    predict.add_argument(
        "--resize",
        action="store_true",
        help="resize images to the model's input size and convert them to RGB "
        "(default: such images are refused)",
    )
    predict.add_argument(
        "--preprocessing",
        choices=["torch", "caffe", "tf"],
        help="apply this preprocessing first (for models that do not take raw pixels)",
    )


def _add_benchmark(commands):
    bench = _command(
        commands,
        "benchmark",
        _benchmark,
        "batch-1 latency and batch-32 throughput in every runtime, side by side",
    )
    bench.add_argument(
        "--model",
        default="resnet50",
        help="a model name (random weights) or a .keras file / run folder",
    )
    bench.add_argument("--image-size", type=int, help="input size (default: the model's)")
    bench.add_argument("--batch-size", type=int, default=32)
    bench.add_argument("--rounds", type=int, default=3)


def _set_logging(args):
    # Before TensorFlow loads: its C++ logging reads these once. The tools run on TensorFlow.
    if args.native_logs:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        logging.getLogger("tensorflow").setLevel(logging.ERROR)  # its Python deprecation notices
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    warnings.formatwarning = _warning_line


def _run(parser, args):
    """Runs the command, after the check the parser cannot make (model names) and the CPU split."""
    if args.command == "models" and args.names:
        from keras_resnet.models import MODELS

        unknown = [name for name in args.names if name not in MODELS]
        if unknown:
            parser.error(f"unknown model names {unknown}; choose from {list(MODELS)}")
    if getattr(args, "cpu_replicas", None):
        from keras_resnet.tools._tensorflow import tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.cpu_replicas
        )
    args.run(args)


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    _set_logging(args)
    try:
        with contextlib.nullcontext() if args.native_logs else _without_native_logs():
            _run(parser, args)
    except (
        USER_ERRORS
    ) as error:  # what the user can fix: one line; anything else keeps its traceback
        parser.exit(2, f"keras-resnet: error: {' '.join(str(error).split())}\n")
    except KeyboardInterrupt as interrupted:  # where it stopped; exit 128 + the signal's number
        # A run stopped at a step boundary says where (`train.Interrupted`); a bare
        # KeyboardInterrupt came outside a training step.
        signum = getattr(interrupted, "signum", signal.SIGINT)
        what = "Terminated" if signum == signal.SIGTERM else "Interrupted"
        message = " ".join(str(interrupted).split()) or (
            f"{what}; the run folder keeps its last completed epoch, and the same command "
            "continues."
            if args.command == "train"
            else f"{what}."
        )
        parser.exit(128 + signum, f"keras-resnet: {message}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
