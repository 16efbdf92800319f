"""Makes reference fixtures from real torchvision ResNets: random weights and the logits
torchvision computes from them, which our models must reproduce (tests/test_parity.py).

For each name, `torchvision.models.<name>(weights=None, num_classes=10)` is initialised from a
seed, then every BatchNorm gets random running statistics, gamma and beta (at initialisation
they are zeros and ones, which would hide a mapping that swaps or drops them): gamma and running
variance U(0.5, 1.5), except gamma U(0.05, 0.3) on the last BatchNorm of each residual branch;
beta and running mean N(0, 0.1), as in ../shared/fixtures. Two files come out:

- `<name>.safetensors`: the `state_dict()` under torchvision's names, as float16, PyTorch layouts
  (conv weights OIHW, linear weights out x in), without `num_batches_tracked`; what
  `keras_resnet.weights.load_weights` and the builders' `weights=` read.
- `<name>.npz`: `x`, float32 (2, size, size, 3), channels-last as Keras takes it, and `logits`,
  float32 (2, 10): torchvision's eval-mode output, computed in float32 from the float16 weights.

The default size, 64, is even on purpose: TensorFlow's 'same' padding on a stride-2 convolution
pads bottom/right only on an even input, while PyTorch pads symmetrically, so only an even size
tells the two apart. `x` depends on the seed and size only (at seed 0 and size 64 it is the `x`
of ../shared/fixtures); each model's weights come from `zlib.crc32(f"{seed}:{name}")`, so adding
a name to the command leaves the other files unchanged. Files are written under a temporary name
and renamed, so an interrupted run leaves no half-written fixture. DIR gets a README.md that says
how its files were made.

torch and torchvision are benchmark-only dependencies: install them in their own environment
(../shared/fixtures came from torch 2.14.1 and torchvision 0.29.1) and run this script with its
Python; it needs neither keras nor tensorflow.

    /path/to/torch-venv/bin/python benchmarks/make_fixtures.py --out DIR resnet18 resnet50
    /path/to/torch-venv/bin/python benchmarks/make_fixtures.py --out DIR --seed 1 --size 96 resnet34
    KERAS_RESNET_FIXTURES=DIR pytest tests/core/test_parity.py -k torchvision  # every <name>.npz

With `--adapt-input-conv C [C ...]` it makes no weights: it reads `conv1.weight` of the existing
`<name>.safetensors` in `--weights-dir` (default ../shared/fixtures) and writes
`<name>_adapt_input_conv.npz` to DIR: timm's `adapt_input_conv(C, conv1.weight)` for each C
(`in_chans_<C>`, float32 OIHW), the SHA-256 of the source tensor's float16 bytes
(`conv1_sha256`) and timm's version, which tests/core/test_input_channels.py compares a model
of C input channels with (tests/data holds the file for 1 and 4). It needs torch and timm:

    /path/to/torch-venv/bin/python benchmarks/make_fixtures.py --out tests/data resnet18 \
        --adapt-input-conv 1 4

With `--output-stride 8|16` it writes `<name>_os<N>.npz`: the logits of the model with its last
stages dilated (torchvision's `replace_stride_with_dilation`; timm's `output_stride` for
`resnet50d`) from `numpy_state` weights, which tests/core/test_output_stride.py draws again, so
that no weights file is stored (tests/data/dilated holds them, at 57x57):

    /path/to/torch-venv/bin/python benchmarks/make_fixtures.py --out tests/data/dilated \
        --size 57 --output-stride 8 resnet50 resnet50d resnet101
"""

import argparse
import hashlib
import io
import os
import shlex
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

# torchvision's ResNet family, all of which keras_resnet builds under the same names.
NAMES = (
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnext50_32x4d",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "wide_resnet50_2",
    "wide_resnet101_2",
)
CLASSES, BATCH = 10, 2
# BatchNorm gamma ranges. The last BN of each residual branch gets small ones, as
# ../shared/fixtures' do: with gammas near 1 there, every block adds a unit-scale branch to the
# shortcut and the logits grow with depth (max |logit| 223 for resnet50 at seed 0; 0.38 with
# small ones), which would make the tests' absolute 1e-4 bound mean less the deeper the model.
GAMMA, SMALL_GAMMA = (0.5, 1.5), (0.05, 0.3)


def model_seed(seed: int, name: str) -> int:
    """The seed of one model's weights: stable across runs and machines (Python's `hash()` of
    a string is not), and different for every name.

    Example:
        >>> model_seed(0, "resnet18") == model_seed(0, "resnet18") != model_seed(0, "resnet50")
        True
    """
    return zlib.crc32(f"{seed}:{name}".encode())


def inputs(seed: int, size: int) -> np.ndarray:
    """The fixtures' `x`: standard-normal images drawn in NCHW (PyTorch's layout) and returned
    channels-last, float32.

    Example:
        >>> inputs(0, 64).shape
        (2, 64, 64, 3)
    """
    nchw = np.random.default_rng(seed).standard_normal((BATCH, 3, size, size)).astype("float32")
    return np.ascontiguousarray(nchw.transpose(0, 2, 3, 1))


def torchvision_fixture(name: str, seed: int, x: np.ndarray) -> tuple[dict, np.ndarray]:
    """One torchvision model's float16 state and its float32 eval logits on channels-last `x`.

    Example:
        >>> seed = model_seed(0, "resnet18")
        >>> state, logits = torchvision_fixture("resnet18", seed, inputs(0, 64))
        >>> state["conv1.weight"].dtype, logits.shape
        (torch.float16, (2, 10))
    """
    import torch
    import torchvision

    torch.manual_seed(seed)  # torchvision's initialisers draw from the global generator
    model = getattr(torchvision.models, name)(weights=None, num_classes=CLASSES)
    blocks = torchvision.models.resnet
    last = {
        id(block.bn3 if isinstance(block, blocks.Bottleneck) else block.bn2)
        for block in model.modules()
        if isinstance(block, blocks.BasicBlock | blocks.Bottleneck)
    }
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                shape = module.num_features
                gamma = SMALL_GAMMA if id(module) in last else GAMMA
                module.weight.copy_(torch.empty(shape).uniform_(*gamma, generator=generator))
                module.bias.copy_(torch.empty(shape).normal_(0, 0.1, generator=generator))
                module.running_mean.copy_(torch.empty(shape).normal_(0, 0.1, generator=generator))
                module.running_var.copy_(torch.empty(shape).uniform_(0.5, 1.5, generator=generator))
    state = {
        key: value.detach().to(torch.float16).contiguous()
        for key, value in model.state_dict().items()
        if not key.endswith("num_batches_tracked")
    }
    # The logits of the weights as stored, not of the float32 ones they were rounded from.
    model.load_state_dict({key: value.float() for key, value in state.items()}, strict=False)
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()).numpy()
    return state, logits.astype("float32")


def numpy_state(shapes: dict, seed: int) -> dict:
    """Random weights for the torchvision-named tensors `shapes` ({name: PyTorch shape}), drawn
    by NumPy alone, so that a test regenerates them from the names without torch: convs
    Kaiming-normal (fan out, as torchvision initialises them), the classifier U(+-1/sqrt(in)),
    BatchNorm as `torchvision_fixture`'s. Rounded to float16, as the fixtures store weights.

    Example:
        >>> numpy_state({"fc.weight": (10, 512), "fc.bias": (10,)}, 0)["fc.bias"].dtype
        dtype('float16')
    """
    rng = np.random.default_rng(seed)
    last_bn = "bn3" if any(".bn3." in name for name in shapes) else "bn2"
    state = {}
    for name in sorted(shapes):
        shape = tuple(shapes[name])
        prefix, part = name.rsplit(".", 1)
        batch_norm = f"{prefix}.running_mean" in shapes
        if batch_norm and part == "weight":
            low, high = SMALL_GAMMA if prefix.endswith(last_bn) else GAMMA
            value = rng.uniform(low, high, shape)
        elif batch_norm and part == "running_var":
            value = rng.uniform(0.5, 1.5, shape)
        elif batch_norm:  # bias (beta) and running_mean
            value = rng.normal(0.0, 0.1, shape)
        elif len(shape) == 4:
            value = rng.normal(0.0, np.sqrt(2.0 / (shape[0] * shape[2] * shape[3])), shape)
        else:  # the classifier's weight (out, in) and bias
            bound = 1.0 / np.sqrt(shapes[f"{prefix}.weight"][1])
            value = rng.uniform(-bound, bound, shape)
        state[name] = value.astype(np.float16)
    return state


# torchvision's `replace_stride_with_dilation` for each output stride (timm's name for it).
DILATIONS = {8: [False, True, True], 16: [False, False, True]}


# timm's ResNet-D nets (our variant "v1d"), for the dilated fixtures.
TIMM_NAMES = ("resnet50d",)


def dilated_fixture(
    name: str, seed: int, output_stride: int, x: np.ndarray
) -> tuple[dict, np.ndarray]:
    """`numpy_state` weights of a torchvision model with the strides of its last stages
    replaced by dilation, and its float32 eval logits on channels-last `x`. For timm's
    ResNet-D (`TIMM_NAMES`, our variant "v1d"), timm's `output_stride` (timm installed).

    Example:
        >>> state, logits = dilated_fixture("resnet50", 0, 16, inputs(0, 65))
        >>> logits.shape
        (2, 10)
    """
    import torch

    if name in TIMM_NAMES:
        import timm

        model = timm.create_model(
            name, pretrained=False, num_classes=CLASSES, output_stride=output_stride
        )
    else:
        import torchvision

        model = getattr(torchvision.models, name)(
            weights=None, num_classes=CLASSES, replace_stride_with_dilation=DILATIONS[output_stride]
        )
    shapes = {
        key: tuple(value.shape)
        for key, value in model.state_dict().items()
        if not key.endswith("num_batches_tracked")
    }
    state = numpy_state(shapes, seed)
    model.load_state_dict(
        {k: torch.from_numpy(v.astype("float32")) for k, v in state.items()}, strict=False
    )
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()).numpy()
    return state, logits.astype("float32")


def adapted_stems(weight: np.ndarray, channels: list[int]) -> dict[str, np.ndarray]:
    """timm's `adapt_input_conv(C, weight)` of a checkpoint's RGB `conv1.weight` (OIHW) for each
    C, float32. The float16 fixture is widened to float32 first, as keras_resnet loads it: timm
    casts its result back to the input's dtype, which would round it to float16.

    Example:
        >>> adapted_stems(np.ones((64, 3, 7, 7), "float16"), [1])["in_chans_1"][0, :, 0, 0]
        array([3.], dtype=float32)
    """
    import torch
    from timm.models._manipulate import adapt_input_conv

    rgb = torch.from_numpy(np.asarray(weight, "float32"))
    return {
        f"in_chans_{c}": adapt_input_conv(c, rgb.clone()).numpy().astype("float32")
        for c in channels
    }


def write_atomically(path: Path, data: bytes) -> None:
    """Writes `data` to `path` through a temporary file in the same folder and a rename, so
    readers see the old file or the whole new one, never part of it.

    Example:
        >>> write_atomically(Path(tempfile.mkdtemp()) / "a.txt", b"hello")
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)  # mkstemp's 0o600 would keep the fixtures from other users
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _readme(args, versions, rows) -> str:
    command = shlex.join(["python", "benchmarks/make_fixtures.py", *sys.argv[1:]])
    table = "\n".join(
        f"| `{name}` | {seed} | {parameters:,} | {scale:.3g} |"
        for name, seed, parameters, scale in rows
    )
    return f"""# Reference fixtures from real torchvision ResNets

Made by keras_resnet's `benchmarks/make_fixtures.py` with torch {versions[0]} and torchvision
{versions[1]} (numpy {versions[2]}), on Python {versions[3]}:

    {command}

For each `<name>`: `torchvision.models.<name>(weights=None, num_classes={CLASSES})` initialised
after `torch.manual_seed(zlib.crc32(f"{{seed}}:{{name}}"))`, then every BatchNorm given random
statistics from a generator on the same seed: gamma and running variance U(0.5, 1.5), except
gamma U(0.05, 0.3) on the last BatchNorm of each residual branch (`bn2` of a basic block, `bn3`
of a bottleneck), which keeps the logits' scale from growing with depth; beta and running mean
N(0, 0.1).

- `<name>.safetensors`: the model's `state_dict()` under torchvision's own names
  (`conv1.weight`, `bn1.running_mean`, `layer1.0.conv1.weight`, ..., `fc.weight`, `fc.bias`),
  stored as float16, PyTorch layouts (conv weights OIHW, linear weights out x in).
  `num_batches_tracked` entries are left out.
- `<name>.npz`: `x`, float32, shape ({BATCH}, {args.size}, {args.size}, 3), channels-last, drawn as
  `numpy.random.default_rng({args.seed}).standard_normal(({BATCH}, 3, {args.size}, {args.size}))` in
  NCHW and transposed; and `logits`, float32, shape ({BATCH}, {CLASSES}): torchvision's output in
  eval mode, computed in float32 from the float16 weights above.

| name | weights seed | parameters | max abs logit |
|---|---|---|---|
{table}

A Keras ResNet that loads these weights correctly reproduces `logits` to about 1e-4 absolute:
`KERAS_RESNET_FIXTURES=<this folder> pytest tests/test_parity.py -k torchvision`. An even input
size tells PyTorch's symmetric padding from TensorFlow's 'same' padding on strided convolutions.
This README describes the files of the run above; files of other runs in this folder keep theirs.
"""


def write_adapted_stems(args) -> None:
    """`--adapt-input-conv`: one `<name>_adapt_input_conv.npz` per name, from its existing
    safetensors file (read, never regenerated)."""
    import safetensors.numpy
    import timm

    args.out.mkdir(parents=True, exist_ok=True)
    for name in dict.fromkeys(args.names):
        weight = safetensors.numpy.load_file(args.weights_dir / f"{name}.safetensors")[
            "conv1.weight"
        ]
        stems = adapted_stems(weight, args.adapt_input_conv)
        buffer = io.BytesIO()
        np.savez(
            buffer,
            **stems,
            conv1_sha256=hashlib.sha256(np.ascontiguousarray(weight).tobytes()).hexdigest(),
            timm_version=timm.__version__,
        )
        write_atomically(args.out / f"{name}_adapt_input_conv.npz", buffer.getvalue())
        print(f"{name}: conv1 {weight.shape} adapted to {list(args.adapt_input_conv)} channels")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="+", choices=NAMES + TIMM_NAMES, metavar="NAME", help=", ".join(NAMES)
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the fixtures")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=64, help="input height and width (>= 32)")
    parser.add_argument(
        "--output-stride",
        type=int,
        choices=sorted(DILATIONS),
        help="instead: <name>_os<N>.npz, the logits of the model with its last stages dilated "
        "(replace_stride_with_dilation) from numpy_state weights, which a test regenerates; "
        "no weights file",
    )
    parser.add_argument(
        "--adapt-input-conv",
        type=int,
        nargs="+",
        metavar="C",
        help="instead: <name>_adapt_input_conv.npz, timm's adapt_input_conv of the conv1 of "
        "--weights-dir's <name>.safetensors for C input channels; no weights file",
    )
    parser.add_argument(
        "--weights-dir",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "fixtures",
        help="where --adapt-input-conv reads <name>.safetensors (default ../shared/fixtures)",
    )
    args = parser.parse_args()
    if args.adapt_input_conv:
        if any(c < 1 for c in args.adapt_input_conv):
            parser.error(
                "`--adapt-input-conv` must be channel counts >= 1; received "
                f"--adapt-input-conv={args.adapt_input_conv}."
            )
        write_adapted_stems(args)
        return
    if args.size < 32:  # five stride-2 stages: 32 pixels is the least that keeps one at the end
        parser.error(f"`--size` must be an integer >= 32; received --size={args.size}.")

    import safetensors.torch
    import torch
    import torchvision

    torch.use_deterministic_algorithms(True)
    args.out.mkdir(parents=True, exist_ok=True)
    x, rows = inputs(args.seed, args.size), []
    for name in dict.fromkeys(args.names):  # each once, in the order given
        seed = model_seed(args.seed, name)
        if args.output_stride:
            _, logits = dilated_fixture(name, seed, args.output_stride, x)
            buffer = io.BytesIO()
            np.savez(buffer, x=x, logits=logits, seed=seed, output_stride=args.output_stride)
            write_atomically(args.out / f"{name}_os{args.output_stride}.npz", buffer.getvalue())
            scale = np.abs(logits).max()
            print(f"{name}, output stride {args.output_stride}: max |logit| {scale:.3g}")
            continue
        state, logits = torchvision_fixture(name, seed, x)
        write_atomically(args.out / f"{name}.safetensors", safetensors.torch.save(state))
        buffer = io.BytesIO()
        np.savez(buffer, x=x, logits=logits)
        write_atomically(args.out / f"{name}.npz", buffer.getvalue())
        parameters = sum(value.numel() for key, value in state.items() if "running" not in key)
        rows.append((name, seed, parameters, float(np.abs(logits).max())))
        print(f"{name}: seed {seed}, {parameters:,} parameters, max |logit| {rows[-1][3]:.3g}")
    if args.output_stride:
        return
    versions = (torch.__version__, torchvision.__version__, np.__version__, sys.version.split()[0])
    write_atomically(args.out / "README.md", _readme(args, versions, rows).encode())
    print(f"wrote {len(rows)} fixture(s) and README.md to {args.out}")


if __name__ == "__main__":
    main()
