"""Parameter counts pinned for every depth and variant (the issue's and papers' figures), and
multiply-adds (keras_resnet.summary)."""

import functools

import keras
import pytest
from helpers import naming

import keras_resnet
from keras_resnet.summary import count_macs, trainable_params

# On one pytest-xdist worker: `figures` builds each model once for that process.
pytestmark = pytest.mark.xdist_group("param_counts")


def figures(name, **options):
    """Trainable parameters, count_params(), multiply-adds and Add layers of
    `keras_resnet.build(name, **options)`: each model is built once for every test that counts it
    (ResNet-152 takes seconds), and only its figures are kept. The variant is always named, so
    that the default (v1.5, `ModelOptions`' default, which every builder's signature has, as
    test_models checks) and an explicit "v1.5" are one model."""
    options = {"variant": keras_resnet.ModelOptions().variant, **options}
    return _figures(name, tuple(sorted(options.items())))


@functools.cache
def _figures(name, options):
    model = keras_resnet.build(name, **dict(options))
    return {
        "trainable": trainable_params(model),
        "params": model.count_params(),
        "macs": count_macs(model),
        "adds": sum(isinstance(layer, keras.layers.Add) for layer in model.layers),
    }


# torchvision's published trainable parameters at 1,000 classes.
TORCHVISION = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "resnext50_32x4d": 25_028_904,
    "wide_resnet50_2": 68_883_240,
}
# keras.applications' count_params(): ResNet50/101/152 ("v1") and ResNet50V2/101V2/152V2 ("v2").
KERAS_APPLICATIONS = {
    ("resnet50", "v1"): 25_636_712,
    ("resnet101", "v1"): 44_707_176,
    ("resnet152", "v1"): 60_419_944,
    ("resnet50", "v2"): 25_613_800,
    ("resnet101", "v2"): 44_675_560,
    ("resnet152", "v2"): 60_380_648,
}
# He et al. 2015, Table 6 (option A), in millions, with the paper's rounding.
CIFAR_PAPER = {
    "resnet20": 0.27,
    "resnet32": 0.46,
    "resnet44": 0.66,
    "resnet56": 0.85,
    "resnet110": 1.7,
    "resnet1202": 19.4,
}
# Our exact counts (ResNet-200 and v1d have no external reference; pinned against drift).
OURS = {
    ("resnet200", "v1.5"): 64_673_832,
    ("resnet50", "v1d"): 25_576_264,
    ("resnet101", "v1d"): 44_568_392,
    ("resnet152", "v1d"): 60_212_040,
    ("resnet20", "v1.5"): 269_722,
    ("resnet1202", "v1.5"): 19_421_274,
}


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_trainable_params(name):
    assert figures(name)["trainable"] == TORCHVISION[name]


@pytest.mark.parametrize("name, variant", KERAS_APPLICATIONS)
def test_keras_applications_count_params(name, variant):
    assert figures(name, variant=variant)["params"] == KERAS_APPLICATIONS[name, variant]


def _slow_if_deep(cases):
    """The deepest nets (ResNet-152 and -200, ResNet-1202) build in 3-15 s each: slow tests."""

    def parts(case):
        return case if isinstance(case, tuple) else (case,)

    return [
        pytest.param(*parts(case), marks=pytest.mark.slow)
        if any(str(part).removeprefix("resnet") in ("152", "200", "1202") for part in parts(case))
        else case
        for case in cases
    ]


@pytest.mark.parametrize("name", _slow_if_deep(CIFAR_PAPER))
def test_cifar_option_a_matches_paper(name):
    count = figures(name)["trainable"]
    digits = 1 if CIFAR_PAPER[name] >= 1 else 2
    assert round(count / 1e6, digits) == CIFAR_PAPER[name]


@pytest.mark.parametrize("name, variant", _slow_if_deep(OURS))
def test_pinned_trainable_params(name, variant):
    assert figures(name, variant=variant)["trainable"] == OURS[name, variant]


def test_option_b_adds_only_the_two_projections():
    # 16->32 and 32->64 projections: 1x1 convs without bias plus their BatchNorm gamma/beta.
    a = figures("resnet20", shortcut="A")["trainable"]
    b = figures("resnet20", shortcut="B")["trainable"]
    assert b - a == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)


def test_multiply_adds_match_torchvision():
    # torchvision's model table: ResNet-50 4.09 GFLOPS (multiply-adds), ResNet-18 1.81.
    assert round(figures("resnet50")["macs"] / 1e9, 2) == 4.09
    assert round(figures("resnet18")["macs"] / 1e9, 2) == 1.81
    assert figures("resnet20")["macs"] == 40_551_040


def test_macs_need_a_static_size():
    with pytest.raises(
        ValueError, match=naming("`model`", "static input size", "layer 'conv1_conv'")
    ):
        count_macs(keras_resnet.ResNet18(include_top=False))


def test_plain_net_has_no_shortcuts_and_same_weights_as_option_a():
    plain = figures("resnet20", plain=True)
    assert plain["adds"] == 0 and figures("resnet20", shortcut="A")["adds"] == 9
    assert plain["trainable"] == figures("resnet20", shortcut="A")["trainable"]


# count_params() (BatchNorm statistics included) of every depth and variant, pinned against
# drift; the v1 and v2 columns of 50/101/152 are keras.applications' own figures above.
ALL_VARIANTS = {
    18: (11_699_112, 11_703_912, 11_718_472, 11_698_408),
    34: (21_814_696, 21_823_208, 21_834_056, 21_815_848),
    50: (25_610_152, 25_636_712, 25_629_512, 25_613_800),
    101: (44_654_504, 44_707_176, 44_673_864, 44_675_560),
    152: (60_344_232, 60_419_944, 60_363_592, 60_380_648),
    200: (64_849_832, 64_937_832, 64_869_192, 64_894_440),
    20: (271_098, 271_786, None, 271_450),
    32: (466_426, 467_562, None, 467_002),
    44: (661_754, 663_338, None, 662_554),
    56: (857_082, 859_114, None, 858_106),
    110: (1_736_058, 1_740_106, None, 1_738_090),
}


@pytest.mark.parametrize("depth", _slow_if_deep(ALL_VARIANTS))
def test_every_depth_and_variant(depth):
    counts = tuple(
        figures(f"resnet{depth}", variant=variant)["params"] if expected else None
        for variant, expected in zip(("v1.5", "v1", "v1d", "v2"), ALL_VARIANTS[depth], strict=True)
    )
    assert counts == ALL_VARIANTS[depth]
