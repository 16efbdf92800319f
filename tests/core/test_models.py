"""Shapes, gradients, saving, options and errors, on tiny nets (one block per stage, 8 filters)."""

import functools

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import images, naming

import keras_resnet
from keras_resnet import ResNet

TINY = dict(stage_sizes=(1, 1, 1, 1), filters=8, input_shape=(32, 32, 3), classes=5)
BLOCK_VARIANTS = [
    (block, variant) for block in ("basic", "bottleneck") for variant in ("v1.5", "v1", "v1d", "v2")
]


def tiny(block="basic", **kwargs):
    return ResNet(block, **{**TINY, **kwargs})


@functools.cache
def resnet50(variant="v1.5"):
    """ResNet-50 at its defaults, built once for the tests that only read its shapes and names."""
    return keras_resnet.ResNet50(variant=variant)


@pytest.mark.parametrize(
    "include_top, pooling, shape",
    [
        (True, None, (None, 5)),
        (False, None, (None, 1, 1, 64)),
        (False, "avg", (None, 64)),
        (False, "max", (None, 64)),
    ],
)
@pytest.mark.parametrize("block", ["basic", "bottleneck"])
def test_output_shapes(block, include_top, pooling, shape):
    expansion = 4 if block == "bottleneck" else 1
    expected = (*shape[:-1], shape[-1] * (expansion if not include_top else 1))
    model = tiny(block, include_top=include_top, pooling=pooling)
    assert model.output_shape == expected
    assert model(images()).shape == (2, *expected[1:])


def test_named_builders_default_shapes_and_names():
    assert resnet50().input_shape == (None, 224, 224, 3)
    assert keras_resnet.ResNet50(include_top=False).input_shape == (None, None, None, 3)
    resnet20 = keras_resnet.ResNet20()
    assert (resnet20.input_shape, resnet20.output_shape) == ((None, 32, 32, 3), (None, 10))
    assert keras_resnet.ResNet34(classes=10).output_shape == (None, 10)
    names = {
        resnet50().name,
        keras_resnet.ResNet50(variant="v2").name,
        resnet50("v1d").name,
        keras_resnet.ResNet50(name="mine").name,
    }
    assert names == {"resnet50", "resnet50v2", "resnet50d", "mine"}


def test_layer_names_follow_keras_applications():
    names = {layer.name for layer in resnet50().layers}
    for name in [
        "conv1_conv",
        "conv1_bn",
        "conv1_relu",
        "pool1_pool",
        "conv2_block1_0_conv",
        "conv2_block1_0_bn",
        "conv2_block3_3_bn",
        "conv3_block1_2_pad",
        "conv4_block6_add",
        "conv5_block3_out",
        "avg_pool",
        "predictions",
    ]:
        assert name in names
    assert "max_pool" in {
        layer.name for layer in keras_resnet.ResNet18(include_top=False, pooling="max").layers
    }
    deep = {layer.name for layer in resnet50("v1d").layers}
    assert {"conv1_1_conv", "conv1_2_bn", "conv1_3_conv", "conv1_bn", "conv3_block1_0_pool"} <= deep


@pytest.mark.parametrize("block, variant", BLOCK_VARIANTS)
def test_gradients_reach_every_trainable_weight(block, variant):
    # Seeded: with few squeeze-excitation units, all of a block's ReLUs can start dead.
    keras.utils.set_random_seed(0)
    model = tiny(block, variant=variant, se_ratio=0.5)
    x, y = images(batch=4), np.array([1, 3, 0, 2])
    with tf.GradientTape() as tape:
        loss = keras.losses.sparse_categorical_crossentropy(y, model(x, training=True))
    gradients = tape.gradient(loss, model.trainable_weights)
    assert len(gradients) == len(model.trainable_weights) > 0
    for weight, gradient in zip(model.trainable_weights, gradients, strict=True):
        assert gradient is not None and float(tf.reduce_max(tf.abs(gradient))) > 0, weight.path


@pytest.mark.parametrize("block, variant", BLOCK_VARIANTS)
def test_keras_save_load_round_trip(tmp_path, block, variant):
    model = tiny(block, variant=variant, se_ratio=0.25, drop_path_rate=0.1)
    x = images()
    model(x, training=True)  # move BatchNorm statistics off their initial values
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert np.abs(loaded(x, training=False).numpy() - model(x, training=False).numpy()).max() < 1e-6
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


def test_option_a_shortcut_survives_saving(tmp_path):
    model = keras_resnet.ResNet20(input_shape=(32, 32, 3))
    assert isinstance(model.get_layer("conv3_block1_0_pad"), keras_resnet.ZeroPadChannels)
    model.save(tmp_path / "resnet20.keras")
    loaded = keras.saving.load_model(tmp_path / "resnet20.keras")
    x = images(batch=1)
    assert np.abs(loaded(x).numpy() - model(x).numpy()).max() < 1e-6


def test_option_a_shortcut_is_subsampled_zero_padded_identity():
    inputs = keras.Input((8, 8, 16))
    outputs = keras_resnet.basic_block(
        inputs, 32, strides=2, name="b", config=keras_resnet.BlockConfig(shortcut="A")
    )
    block = keras.Model(inputs, outputs)
    assert block.count_params() == (9 * 16 * 32 + 9 * 32 * 32) + 4 * (
        32 + 32
    )  # two convs, two BNs, no projection
    shortcut_model = keras.Model(inputs, block.get_layer("b_0_pad").output)
    x = np.random.default_rng(0).normal(size=(1, 8, 8, 16)).astype("float32")
    shortcut = shortcut_model(x).numpy()
    np.testing.assert_array_equal(shortcut[..., 8:24], x[:, ::2, ::2, :])
    np.testing.assert_array_equal(shortcut[..., :8], 0)
    np.testing.assert_array_equal(shortcut[..., 24:], 0)


def test_stochastic_depth_is_identity_at_inference_and_drops_in_training():
    keras.utils.set_random_seed(0)  # the drop masks
    model = tiny(drop_path_rate=0.5)
    rates = [layer.rate for layer in model.layers if layer.name.endswith("_drop_path")]
    assert rates == pytest.approx([0.5 / 3, 1.0 / 3, 0.5])  # linear from 0 (first block: no layer)
    reference = tiny()
    for layer in reference.layers:
        layer.set_weights(model.get_layer(layer.name).get_weights())
    x = images(batch=16)
    np.testing.assert_array_equal(
        model(x, training=False).numpy(), reference(x, training=False).numpy()
    )
    dropped = [layer for layer in model.layers if layer.name.endswith("_drop_path")][-1]
    branch = keras.Model(model.input, dropped.output)
    output = branch(x, training=True).numpy()
    kept = np.abs(output).reshape(16, -1).max(axis=1) > 0
    assert 0 < kept.sum() < 16  # whole samples dropped, the others kept (rate 0.5, seeded)


def test_zero_init_residual_zeroes_last_bn_of_each_branch():
    model = tiny("bottleneck", zero_init_residual=True)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma = layer.gamma.numpy()
            assert (gamma == 0).all() == layer.name.endswith("_3_bn"), layer.name
    # Every block starts as its shortcut: the block output equals ReLU(shortcut).
    x = images()
    block = keras.Model(
        model.input,
        [model.get_layer("conv2_block1_out").output, model.get_layer("conv2_block1_0_bn").output],
    )
    out, shortcut = (t.numpy() for t in block(x, training=False))
    np.testing.assert_allclose(out, np.maximum(shortcut, 0), atol=1e-6)


def test_squeeze_excite_groups_width_and_sync_options():
    model = tiny("bottleneck", se_ratio=0.25, groups=4, width_per_group=8, synchronized_bn=True)
    assert model.get_layer("conv2_block1_se_reduce").filters == 8  # 32 channels * 0.25
    conv = model.get_layer("conv2_block1_2_conv")
    assert (conv.groups, conv.filters) == (4, 4)  # int(8 * 8 / 64) * 4 channels in 4 groups
    assert all(
        layer.synchronized
        for layer in model.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    )


def test_mixed_precision_keeps_the_head_in_float32():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = tiny()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer("conv1_conv").compute_dtype == "bfloat16"
    assert model.get_layer("predictions").compute_dtype == "float32"
    assert model(images()).dtype == "float32"


def test_input_tensor_and_any_size_without_top():
    inputs = keras.Input((48, 40, 3))
    model = keras_resnet.ResNet18(input_tensor=inputs, include_top=False)
    assert model.output_shape == (None, 2, 2, 512)
    assert keras_resnet.ResNet18(include_top=False)(images(size=96)).shape == (2, 3, 3, 512)


@pytest.mark.parametrize("variant", ["v1.5", "v1", "v1d", "v2"])
def test_feature_extractor_strides(variant):
    backbone = keras_resnet.feature_extractor(
        keras_resnet.ResNet50(include_top=False, input_shape=(64, 64, 3), variant=variant)
    )
    shapes = {key: tuple(value.shape) for key, value in backbone.output.items()}
    assert shapes == {
        "C2": (None, 16, 16, 256),
        "C3": (None, 8, 8, 512),
        "C4": (None, 4, 4, 1024),
        "C5": (None, 2, 2, 2048),
    }
    outputs = backbone(images(size=64))
    assert outputs["C5"].shape == (2, 2, 2, 2048)


def test_feature_extractor_on_keras_applications_and_basic_blocks():
    backbone = keras_resnet.feature_extractor(
        keras.applications.ResNet50(weights=None, include_top=False, input_shape=(64, 64, 3))
    )
    assert backbone.output["C3"].shape == (None, 8, 8, 512)
    backbone = keras_resnet.feature_extractor(keras_resnet.ResNet18(input_shape=(64, 64, 3)))
    assert [tuple(v.shape) for v in backbone.output.values()] == [
        (None, 16, 16, c) for c in [64]
    ] + [(None, 8, 8, 128), (None, 4, 4, 256), (None, 2, 2, 512)]


def test_preact_blocks_match_keras_v2_layout():
    model = tiny("bottleneck", variant="v2", stage_sizes=(2, 2, 2, 2))
    # keras.applications' ResNetV2 strides in the last block of a stage, subsampling the shortcut.
    assert model.get_layer("conv2_block2_2_conv").strides == (2, 2)
    assert isinstance(model.get_layer("conv2_block2_0_pool"), keras.layers.MaxPooling2D)
    assert model.get_layer("conv5_block2_2_conv").strides == (1, 1)


@pytest.mark.parametrize(
    "kwargs, argument, value",
    [
        (dict(variant="v3"), "variant", "'v3'"),
        (dict(classes=0), "classes", "0"),
        (dict(pooling="mean", include_top=False), "pooling", "'mean'"),
        (dict(se_ratio=0), "se_ratio", "0"),
        (dict(se_ratio=1.5), "se_ratio", "1.5"),
        (dict(drop_path_rate=1.0), "drop_path_rate", "1.0"),
        (dict(drop_path_rate=-0.1), "drop_path_rate", "-0.1"),
        (dict(drop_path_rate=float("nan")), "drop_path_rate", "nan"),
        (dict(se_ratio=float("nan")), "se_ratio", "nan"),
        (dict(se_ratio=float("inf")), "se_ratio", "inf"),
        (dict(include_top=1), "include_top", "1"),
        (dict(plain="yes"), "plain", "'yes'"),
        (dict(input_shape=(16, 16, 3)), "input_shape", "(16, 16, 3)"),
        (dict(input_shape=(32, 32)), "input_shape", "(32, 32)"),
        # Other channel counts take weights (their first conv adapted); no channel cannot.
        (dict(input_shape=(32, 32, 0)), "input_shape", "(32, 32, 0)"),
        (dict(plain=True, drop_path_rate=0.1), "drop_path_rate", "0.1"),
        (dict(plain=True, zero_init_residual=True), "zero_init_residual", "True"),
        (dict(variant="v2", zero_init_residual=True), "zero_init_residual", "True"),
    ],
)
def test_bad_arguments_name_argument_value_and_accepted(kwargs, argument, value):
    with pytest.raises(
        ValueError, match=naming(f"`{argument}` must be ", f"; received {argument}={value}")
    ):
        keras_resnet.ResNet18(**kwargs)


def test_bad_names_blocks_and_cifar_options():
    with pytest.raises(
        ValueError, match=naming("`model_name`", "'resnet50'", "model_name='resnet51'")
    ):
        keras_resnet.build("resnet51")
    with pytest.raises(ValueError, match=naming("`block`", "'basic' or 'bottleneck'", "='bottle'")):
        ResNet("bottle", (1, 1))
    with pytest.raises(ValueError, match=naming("`stage_sizes`", ">= 1", "stage_sizes=(2, 0)")):
        ResNet("basic", (2, 0))
    with pytest.raises(ValueError, match=naming("`shortcut`", "'A'", "'B'", "shortcut='C'")):
        keras_resnet.ResNet20(shortcut="C")
    with pytest.raises(ValueError, match=naming("`variant`", "CIFAR", "variant='v1d'")):
        keras_resnet.ResNet20(variant="v1d")
    with pytest.raises(
        ValueError, match=naming("`input_shape`", "at least 4x4", "input_shape=(2, 2, 3)")
    ):
        keras_resnet.ResNet20(input_shape=(2, 2, 3))
    with pytest.raises(
        ValueError,
        match=naming("`groups`", "groups=1 and width_per_group=64", "basic", "groups=(32, 4)"),
    ):
        ResNet("basic", (1, 1, 1, 1), groups=32, width_per_group=4)
    with pytest.raises(ValueError, match=naming("`shortcut`", "None on ImageNet", "shortcut='A'")):
        ResNet("basic", (1, 1, 1, 1), shortcut="A")
    # Named builders list their options: what a model fixes is not one of them.
    with pytest.raises(TypeError, match="unexpected keyword argument 'groups'"):
        keras_resnet.ResNeXt50_32x4d(groups=8)
    with pytest.raises(TypeError, match="unexpected keyword argument 'shortcut'"):
        keras_resnet.ResNet18(shortcut="A")


def test_numbers_are_finite_and_not_bools():
    from keras_resnet._checks import is_int, is_number

    assert [is_int(v) for v in (3, 0, True, 3.0, "3")] == [True, True, False, False, False]
    values = (0.5, 2, float("nan"), float("inf"), -float("inf"), False, "0.5")
    assert [is_number(v) for v in values] == [True, True, False, False, False, False, False]


# name -> builder, block, stage sizes, stem, groups, width per group
REGISTRY = {
    "resnet18": ("ResNet18", "basic", (2, 2, 2, 2), "imagenet", 1, 64),
    "resnet34": ("ResNet34", "basic", (3, 4, 6, 3), "imagenet", 1, 64),
    "resnet50": ("ResNet50", "bottleneck", (3, 4, 6, 3), "imagenet", 1, 64),
    "resnet101": ("ResNet101", "bottleneck", (3, 4, 23, 3), "imagenet", 1, 64),
    "resnet152": ("ResNet152", "bottleneck", (3, 8, 36, 3), "imagenet", 1, 64),
    "resnet200": ("ResNet200", "bottleneck", (3, 24, 36, 3), "imagenet", 1, 64),
    "resnet20": ("ResNet20", "basic", (3, 3, 3), "cifar", 1, 64),
    "resnet32": ("ResNet32", "basic", (5, 5, 5), "cifar", 1, 64),
    "resnet44": ("ResNet44", "basic", (7, 7, 7), "cifar", 1, 64),
    "resnet56": ("ResNet56", "basic", (9, 9, 9), "cifar", 1, 64),
    "resnet110": ("ResNet110", "basic", (18, 18, 18), "cifar", 1, 64),
    "resnet1202": ("ResNet1202", "basic", (200, 200, 200), "cifar", 1, 64),
    "resnext50_32x4d": ("ResNeXt50_32x4d", "bottleneck", (3, 4, 6, 3), "imagenet", 32, 4),
    "resnext101_32x8d": ("ResNeXt101_32x8d", "bottleneck", (3, 4, 23, 3), "imagenet", 32, 8),
    "resnext101_64x4d": ("ResNeXt101_64x4d", "bottleneck", (3, 4, 23, 3), "imagenet", 64, 4),
    "wide_resnet50_2": ("WideResNet50_2", "bottleneck", (3, 4, 6, 3), "imagenet", 1, 128),
    "wide_resnet101_2": ("WideResNet101_2", "bottleneck", (3, 4, 23, 3), "imagenet", 1, 128),
}


def test_the_registry_holds_each_builder_and_what_it_binds():
    import inspect

    assert list(keras_resnet.MODELS) == list(REGISTRY)
    for name, (builder_name, block, sizes, stem, groups, width) in REGISTRY.items():
        spec = keras_resnet.MODELS[name]
        builder = getattr(keras_resnet, builder_name)
        assert isinstance(spec, keras_resnet.ModelSpec)
        assert spec == keras_resnet.ModelSpec(name, builder, block, sizes, stem, groups, width)
        # Code that took `MODELS[name]` for the builder function still reads the builder.
        assert (spec.__name__, spec.__doc__) == (builder.__name__, builder.__doc__)
        assert inspect.signature(spec) == inspect.signature(builder)
        parameters = inspect.signature(builder).parameters
        cifar = stem == "cifar"
        assert (spec.is_cifar, spec.default_size, spec.default_classes) == (
            (True, 32, 10) if cifar else (False, 224, 1000)
        )
        assert parameters["classes"].default == spec.default_classes, name
        assert ("shortcut" in parameters) == cifar, name
        # Only the nets that bind neither take groups and width_per_group.
        takes_groups = block == "bottleneck" and (groups, width) == (1, 64)
        assert ("groups" in parameters) == ("width_per_group" in parameters) == takes_groups
    model = keras_resnet.MODELS["resnet20"](classes=3)
    assert (model.name, model.input_shape, model.output_shape) == (
        "resnet20",
        (None, 32, 32, 3),
        (None, 3),
    )


def test_register_model_refuses_a_name_already_registered():
    before = dict(keras_resnet.MODELS)
    with pytest.raises(
        ValueError,
        match=naming(
            "`name`", "not yet in `MODELS`", "name='resnet18'", "already registered", "(ResNet18)"
        ),
    ):

        @keras_resnet.register_model("resnet18", "basic", (1, 1, 1, 1), about="Another.")
        def ResNet18(classes: int = 1000) -> keras.Model:
            return ResNet("basic", (1, 1, 1, 1), classes=classes)

    assert keras_resnet.MODELS == before
    try:

        @keras_resnet.register_model("resnet10", "basic", (1, 1, 1, 1), about="ResNet-10.")
        def ResNet10(classes: int = 1000, *, variant: str = "v1.5") -> keras.Model:
            return ResNet("basic", (1, 1, 1, 1), filters=8, classes=classes, variant=variant)

        spec = keras_resnet.MODELS["resnet10"]
        assert (spec.builder, spec.stage_sizes, spec.default_size) == (ResNet10, (1, 1, 1, 1), 224)
        assert spec(classes=4).output_shape == (None, 4)
        assert ResNet10.__doc__.startswith("ResNet-10.") and "variant: " in ResNet10.__doc__
        assert "zero_init_residual: " not in ResNet10.__doc__  # only the options it takes
        assert keras_resnet.build("resnet10").count_params() == ResNet10().count_params()
    finally:
        keras_resnet.MODELS.pop("resnet10", None)
    assert keras_resnet.MODELS == before


def test_one_table_of_options_for_resnet_and_every_builder():
    import dataclasses
    import inspect

    fields = {field.name: field for field in dataclasses.fields(keras_resnet.ModelOptions)}
    keyword_only = {
        name: parameter
        for name, parameter in inspect.signature(ResNet).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }
    assert list(keyword_only) == list(fields)
    assert {name: p.default for name, p in keyword_only.items()} == {
        name: field.default for name, field in fields.items()
    }
    for spec in keras_resnet.MODELS.values():
        for name, parameter in inspect.signature(spec).parameters.items():
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
                # The CIFAR nets default to the paper's option A; ResNet's None means B.
                default = "A" if name == "shortcut" else fields[name].default
                assert parameter.default == default, (spec.name, name)
                line = f"{name}: {fields[name].metadata['doc'].split()[0]}"
                counts = [
                    sum(row.startswith(f"    {line}") for row in inspect.cleandoc(doc).splitlines())
                    for doc in (spec.__doc__, ResNet.__doc__)
                ]
                assert counts == [1, 1], line  # an Args entry, as indented as the others
    assert "{options}" not in ResNet.__doc__
    # `BlockConfig` receives every option whose name it shares, over the variant's own fields.
    options = keras_resnet.ModelOptions(
        variant="v1",
        stem="cifar",
        shortcut="A",
        zero_init_residual=True,
        se_ratio=0.25,
        groups=2,
        width_per_group=8,
        plain=True,
        synchronized_bn=True,
        data_format="channels_first",
    )
    assert options.block_config() == keras_resnet.BlockConfig(
        use_bias=True,
        bn_epsilon=1.001e-5,
        bn_momentum=0.99,
        stride_in_1x1=True,
        shortcut="A",
        plain=True,
        zero_init_residual=True,
        se_ratio=0.25,
        groups=2,
        width_per_group=8,
        synchronized_bn=True,
        data_format="channels_first",
    )
    assert keras_resnet.ModelOptions().block_config() == keras_resnet.BlockConfig(
        data_format=keras.config.image_data_format()
    )


@pytest.mark.slow
def test_resnet1202_saves_and_loads(tmp_path):
    """4,212 layers: deeper than Python's default recursion limit allows Keras to map. The builder
    and `keras_resnet.load_model` raise it for their call only."""
    import sys

    limit = sys.getrecursionlimit()
    model = keras_resnet.ResNet1202()
    model.save(tmp_path / "resnet1202.keras")
    loaded = keras_resnet.load_model(tmp_path / "resnet1202.keras")
    assert sys.getrecursionlimit() == limit
    # Batch statistics: at initialisation, inference-mode BatchNorm lets 600 residual
    # branches compound (float32 overflows); training mode normalises each of them.
    x = images(batch=2)
    expected = model(x, training=True).numpy()
    assert np.isfinite(expected).all()
    assert np.abs(loaded(x, training=True).numpy() - expected).max() < 1e-6
