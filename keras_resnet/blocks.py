"""Residual blocks as plain functions on tensors, so every model stays Functional.

Each block takes a tensor and returns a tensor; layer names follow keras.applications
(`{name}_1_conv`, `{name}_1_bn`, `{name}_1_relu`, ..., `{name}_0_conv` for the projection
shortcut, `{name}_add`, `{name}_out`), because weight import and users' `get_layer` calls
depend on them. Tensors are channels-last unless `BlockConfig.data_format` says otherwise;
the weights are the same in both layouts (Keras keeps conv kernels as HWIO either way).
"""

import dataclasses

from keras import layers

from keras_resnet.layers import BatchNormalization, Conv2D, ZeroPadChannels

# torchvision initialises every conv with kaiming_normal_(mode="fan_out", nonlinearity="relu").
HE_NORMAL_FAN_OUT = {
    "class_name": "VarianceScaling",
    "config": {"scale": 2.0, "mode": "fan_out", "distribution": "untruncated_normal"},
}


@dataclasses.dataclass(frozen=True)
class BlockConfig:
    """What a model's variant and options change inside every block.

    The defaults are torchvision's ResNet ("v1.5").

    Attributes:
        use_bias: conv biases, as in keras.applications' v1 and v2 weights.
        bn_epsilon: BatchNormalization epsilon (torchvision 1e-5, keras.applications 1.001e-5).
        bn_momentum: moving-average momentum (torchvision's 0.1 is Keras' 0.9).
        stride_in_1x1: a bottleneck strides in its first 1x1 conv (v1, the original Caffe
            model and keras.applications) instead of its 3x3 conv (v1.5, torchvision),
            which costs 6% more multiply-adds and gains about 0.5% top-1.
        avg_down: projection shortcuts subsample with a 2x2 average pool before a stride-1
            1x1 conv instead of striding the conv over 3/4 of the input (He et al. 2019, "D").
        shortcut: "B" projects with a 1x1 conv where shapes change; "A" subsamples and pads
            the new channels with zeros, adding no parameters (He et al. 2015, sec. 4.2).
        plain: remove every shortcut: the plain baseline of He et al. 2015, Fig. 6.
        zero_init_residual: the last BatchNorm of each residual branch starts with gamma 0,
            so every block starts as the identity (Goyal et al. 2017).
        se_ratio: squeeze-and-excitation reduction ratio (Hu et al. 2018), or None.
        groups: grouped 3x3 convs in bottlenecks (ResNeXt, Xie et al. 2017).
        width_per_group: bottleneck width per group; 64 per group is ResNet, 128 with one
            group is Wide ResNet-50-2.
        synchronized_bn: BatchNorm statistics over all replicas of a tf.distribute strategy.
        data_format: "channels_last" (NHWC) or "channels_first" (NCHW), for every layer.
        dtype: the dtype policy of every layer (a name or a `keras.DTypePolicy`); None:
            Keras' global policy.
        pad_3x3: every 3x3 conv of a block pads explicitly (a `{name}_2_pad` layer before a
            "valid" conv), as keras.applications' ResNetV2 lays out each block; else only the
            strided ones do (see `conv`). The same function either way.
    """

    use_bias: bool = False
    bn_epsilon: float = 1e-5
    bn_momentum: float = 0.9
    stride_in_1x1: bool = False
    avg_down: bool = False
    shortcut: str = "B"
    plain: bool = False
    zero_init_residual: bool = False
    se_ratio: float | None = None
    groups: int = 1
    width_per_group: int = 64
    synchronized_bn: bool = False
    data_format: str = "channels_last"
    dtype: object = None
    pad_3x3: bool = False

    @property
    def channel_axis(self) -> int:
        return 1 if self.data_format == "channels_first" else -1


DEFAULT_CONFIG = BlockConfig()


def channels(x, config=DEFAULT_CONFIG) -> int:
    """The channel count of a 4D tensor in `config`'s data format."""
    return x.shape[config.channel_axis]


def conv(
    x,
    filters,
    kernel_size,
    *,
    strides=1,
    dilation=1,
    groups=1,
    use_bias=False,
    pad=False,
    name,
    config=DEFAULT_CONFIG,
):
    """A Conv2D named `{name}_conv` that pads like PyTorch.

    TensorFlow's "same" padding pads a strided conv on the bottom and right only, while
    PyTorch pads symmetrically; explicit symmetric padding (`{name}_pad`) makes
    torchvision's weights give torchvision's outputs. Stride-1 "same" is symmetric already,
    dilated too (`dilation` pixels on each side of a 3x3 conv, PyTorch's `padding=dilation`);
    `pad` asks for the explicit padding anyway.
    """
    padding = "same"
    if (strides > 1 or pad) and kernel_size > 1:
        x = layers.ZeroPadding2D(
            dilation * (kernel_size // 2),
            data_format=config.data_format,
            dtype=config.dtype,
            name=f"{name}_pad",
        )(x)
        padding = "valid"
    return Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        dilation_rate=dilation,
        groups=groups,
        use_bias=use_bias,
        kernel_initializer=HE_NORMAL_FAN_OUT,
        data_format=config.data_format,
        dtype=config.dtype,
        name=f"{name}_conv",
    )(x)


def batch_norm(x, *, name, config=DEFAULT_CONFIG, zero_gamma=False):
    """BatchNormalization over channels, named `name`."""
    return BatchNormalization(
        axis=config.channel_axis,
        epsilon=config.bn_epsilon,
        momentum=config.bn_momentum,
        gamma_initializer="zeros" if zero_gamma else "ones",
        synchronized=config.synchronized_bn,
        dtype=config.dtype,
        name=name,
    )(x)


def conv_bn(
    x,
    filters,
    kernel_size,
    *,
    strides=1,
    dilation=1,
    groups=1,
    use_bias=None,
    pad=False,
    relu=True,
    zero_gamma=False,
    name,
    config=DEFAULT_CONFIG,
):
    """Conv, BatchNorm and (unless `relu=False`) ReLU: `{name}_conv`, `{name}_bn`, `{name}_relu`."""
    use_bias = config.use_bias if use_bias is None else use_bias
    x = conv(
        x,
        filters,
        kernel_size,
        strides=strides,
        dilation=dilation,
        groups=groups,
        use_bias=use_bias,
        pad=pad,
        name=name,
        config=config,
    )
    x = batch_norm(x, name=f"{name}_bn", config=config, zero_gamma=zero_gamma)
    if relu:
        x = relu_layer(x, name=f"{name}_relu", config=config)
    return x


def relu_layer(x, *, name, config=DEFAULT_CONFIG):
    """A ReLU named `name`."""
    return layers.Activation("relu", dtype=config.dtype, name=name)(x)


def squeeze_excite(x, ratio, *, name, config=DEFAULT_CONFIG):
    """Squeeze-and-excitation (Hu et al. 2018): rescale channels by a gate learned from
    their means."""
    width, data_format, dtype = channels(x, config), config.data_format, config.dtype
    s = layers.GlobalAveragePooling2D(
        data_format=data_format, keepdims=True, dtype=dtype, name=f"{name}_se_squeeze"
    )(x)
    s = Conv2D(
        max(1, int(width * ratio)),
        1,
        activation="relu",
        data_format=data_format,
        dtype=dtype,
        name=f"{name}_se_reduce",
    )(s)
    s = Conv2D(
        width,
        1,
        activation="sigmoid",
        data_format=data_format,
        dtype=dtype,
        name=f"{name}_se_expand",
    )(s)
    return layers.Multiply(dtype=dtype, name=f"{name}_se_excite")([x, s])


def _shortcut(x, filters, strides, *, name, config, preact=None, dilation=1):
    """The block's shortcut branch, or None for a plain network.

    Identity where shapes match. Otherwise option A subsamples and zero-pads; pre-activation
    blocks that keep their width subsample (keras.applications' ResNetV2); everything else
    projects with a 1x1 conv (torchvision's rule), on the pre-activated input in v2 blocks.
    """
    if config.plain:
        return None
    in_channels, data_format, dtype = channels(x, config), config.data_format, config.dtype
    if strides == 1 and in_channels == filters:
        return x
    if config.shortcut == "A" or (preact is not None and in_channels == filters):
        if strides > 1:
            x = layers.MaxPooling2D(
                1, strides=strides, data_format=data_format, dtype=dtype, name=f"{name}_0_pool"
            )(x)
        if in_channels != filters:
            extra = filters - in_channels
            x = ZeroPadChannels(
                extra // 2,
                extra - extra // 2,
                data_format=data_format,
                dtype=dtype,
                name=f"{name}_0_pad",
            )(x)
        return x
    if preact is not None:
        x = preact
    if config.avg_down and strides > 1:
        x = layers.AveragePooling2D(
            strides,
            strides=strides,
            padding="same",
            data_format=data_format,
            dtype=dtype,
            name=f"{name}_0_pool",
        )(x)
        strides = 1
    elif config.avg_down and dilation > 1:
        # A dilated stage keeps timm's 2x2 average pool at stride 1 (AvgPool2dSame): it pads
        # one zero row and column at the bottom and right, and counts them in the average.
        x = layers.ZeroPadding2D(
            ((0, 1), (0, 1)), data_format=data_format, dtype=dtype, name=f"{name}_0_pool_pad"
        )(x)
        x = layers.AveragePooling2D(
            2, strides=1, data_format=data_format, dtype=dtype, name=f"{name}_0_pool"
        )(x)
    x = conv(
        x, filters, 1, strides=strides, use_bias=config.use_bias, name=f"{name}_0", config=config
    )
    if preact is None:
        x = batch_norm(x, name=f"{name}_0_bn", config=config)
    return x


def residual_add(shortcut, residual, *, name, relu=True, drop_rate=0.0, dtype=None):
    """Adds a residual branch to its shortcut, y = F(x) + x (He et al. 2015, eq. 1).

    Layers: `{name}_add` and a ReLU `{name}_out`; with `relu=False` (pre-activation
    blocks) the sum itself is `{name}_out`.

    Args:
        shortcut: the shortcut tensor (x, or its projection).
        residual: the residual branch's output F(x), of the same shape.
        name: prefix of the layer names.
        relu: apply a ReLU after the sum.
        drop_rate: stochastic depth (Huang et al. 2016): drop the whole branch per sample
            with this probability in training; Keras' Dropout rescales the kept ones by
            1/(1 - rate) and is the identity at inference.
        dtype: the layers' dtype policy (None: Keras' global policy).

    Example:
        >>> x = keras.Input((8, 8, 3))
        >>> residual_add(x, layers.Conv2D(3, 3, padding="same")(x), name="r").shape
        (None, 8, 8, 3)
    """
    if drop_rate > 0:
        residual = layers.Dropout(
            drop_rate, noise_shape=(None, 1, 1, 1), dtype=dtype, name=f"{name}_drop_path"
        )(residual)
    if not relu:
        return layers.Add(dtype=dtype, name=f"{name}_out")([shortcut, residual])
    x = layers.Add(dtype=dtype, name=f"{name}_add")([shortcut, residual])
    return layers.Activation("relu", dtype=dtype, name=f"{name}_out")(x)


def _merge(shortcut, residual, *, name, config, drop_rate, relu):
    """Ends a block: squeeze-excitation if asked, then the residual add (none if plain)."""
    if config.se_ratio:
        residual = squeeze_excite(residual, config.se_ratio, name=name, config=config)
    if shortcut is None:
        if relu:
            return relu_layer(residual, name=f"{name}_out", config=config)
        return layers.Identity(dtype=config.dtype, name=f"{name}_out")(residual)
    return residual_add(
        shortcut, residual, name=name, relu=relu, drop_rate=drop_rate, dtype=config.dtype
    )


def _bottleneck_width(filters, config):
    return int(filters * config.width_per_group / 64) * config.groups


def basic_block(
    x,
    filters,
    *,
    strides=1,
    dilation=1,
    first_dilation=None,
    drop_rate=0.0,
    name="block",
    config=DEFAULT_CONFIG,
):
    """Two 3x3 convs and a shortcut (He et al. 2015, Fig. 2): ResNet-18/34 and the CIFAR nets.

    Args:
        x: input tensor, in `config.data_format` (channels last by default).
        filters: output channels.
        strides: stride of the first conv (and of the shortcut).
        dilation: dilation of the block's 3x3 convs (a stage whose stride became dilation,
            `output_stride`); the first conv takes `first_dilation`, the stage's previous
            dilation in its first block (torchvision's and timm's rule).
        first_dilation: see `dilation`; None: `dilation`.
        drop_rate: stochastic-depth rate of this block (0 adds no layer).
        name: prefix of every layer name.
        config: the variant and options, a `BlockConfig`.

    Returns:
        The block's output tensor.

    Example:
        >>> inputs = keras.Input((32, 32, 16))
        >>> basic_block(inputs, 32, strides=2, name="b").shape
        (None, 16, 16, 32)
    """
    first = first_dilation or dilation
    shortcut = _shortcut(x, filters, strides, name=name, config=config, dilation=dilation)
    y = conv_bn(x, filters, 3, strides=strides, dilation=first, name=f"{name}_1", config=config)
    y = conv_bn(
        y,
        filters,
        3,
        dilation=dilation,
        relu=False,
        zero_gamma=config.zero_init_residual,
        name=f"{name}_2",
        config=config,
    )
    return _merge(shortcut, y, name=name, config=config, drop_rate=drop_rate, relu=True)


def bottleneck_block(
    x,
    filters,
    *,
    strides=1,
    dilation=1,
    first_dilation=None,
    drop_rate=0.0,
    name="block",
    config=DEFAULT_CONFIG,
):
    """1x1 reduce, 3x3, 1x1 expand to `4 * filters`, and a shortcut: ResNet-50 and deeper.

    Args: as `basic_block`; the output has `4 * filters` channels, the 3x3 conv
    `filters * width_per_group / 64 * groups`, dilated by `first_dilation`.

    Example:
        >>> inputs = keras.Input((32, 32, 64))
        >>> bottleneck_block(inputs, 64, name="b").shape
        (None, 32, 32, 256)
    """
    width = _bottleneck_width(filters, config)
    shortcut = _shortcut(x, 4 * filters, strides, name=name, config=config, dilation=dilation)
    strides_1x1, strides_3x3 = (strides, 1) if config.stride_in_1x1 else (1, strides)
    y = conv_bn(x, width, 1, strides=strides_1x1, name=f"{name}_1", config=config)
    y = conv_bn(
        y,
        width,
        3,
        strides=strides_3x3,
        dilation=first_dilation or dilation,
        groups=config.groups,
        name=f"{name}_2",
        config=config,
    )
    y = conv_bn(
        y,
        4 * filters,
        1,
        relu=False,
        zero_gamma=config.zero_init_residual,
        name=f"{name}_3",
        config=config,
    )
    return _merge(shortcut, y, name=name, config=config, drop_rate=drop_rate, relu=True)


def _preactivate(x, name, config):
    x = batch_norm(x, name=f"{name}_preact_bn", config=config)
    return relu_layer(x, name=f"{name}_preact_relu", config=config)


def preact_basic_block(
    x,
    filters,
    *,
    strides=1,
    dilation=1,
    first_dilation=None,
    drop_rate=0.0,
    name="block",
    config=DEFAULT_CONFIG,
):
    """Pre-activation basic block (He et al. 2016): BN-ReLU-conv twice, no ReLU after the add.

    Args: as `basic_block`.

    Example:
        >>> inputs = keras.Input((32, 32, 16))
        >>> preact_basic_block(inputs, 16, name="b").shape
        (None, 32, 32, 16)
    """
    pad = config.pad_3x3
    preact = _preactivate(x, name, config)
    shortcut = _shortcut(x, filters, strides, name=name, config=config, preact=preact)
    y = conv_bn(
        preact,
        filters,
        3,
        strides=strides,
        dilation=first_dilation or dilation,
        use_bias=False,
        pad=pad,
        name=f"{name}_1",
        config=config,
    )
    y = conv(
        y,
        filters,
        3,
        dilation=dilation,
        use_bias=config.use_bias,
        pad=pad,
        name=f"{name}_2",
        config=config,
    )
    return _merge(shortcut, y, name=name, config=config, drop_rate=drop_rate, relu=False)


def preact_bottleneck_block(
    x,
    filters,
    *,
    strides=1,
    dilation=1,
    first_dilation=None,
    drop_rate=0.0,
    name="block",
    config=DEFAULT_CONFIG,
):
    """Pre-activation bottleneck (He et al. 2016), laid out as keras.applications' ResNetV2:
    with `config.pad_3x3`, the 3x3 conv of every block pads explicitly (`{name}_2_pad`).

    Args: as `bottleneck_block`.

    Example:
        >>> inputs = keras.Input((32, 32, 64))
        >>> preact_bottleneck_block(inputs, 64, strides=2, name="b").shape
        (None, 16, 16, 256)
    """
    width = _bottleneck_width(filters, config)
    preact = _preactivate(x, name, config)
    shortcut = _shortcut(x, 4 * filters, strides, name=name, config=config, preact=preact)
    y = conv_bn(preact, width, 1, use_bias=False, name=f"{name}_1", config=config)
    y = conv_bn(
        y,
        width,
        3,
        strides=strides,
        dilation=first_dilation or dilation,
        groups=config.groups,
        use_bias=False,
        pad=config.pad_3x3,
        name=f"{name}_2",
        config=config,
    )
    y = conv(y, 4 * filters, 1, use_bias=config.use_bias, name=f"{name}_3", config=config)
    return _merge(shortcut, y, name=name, config=config, drop_rate=drop_rate, relu=False)
