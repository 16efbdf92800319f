"""The residual block, by hand: our block functions against the formula written out.

The seed document's block takes a 64x64x3 input x and computes

    h   = ReLU(conv_1(x))          3x3 conv, 3 filters, stride 1, padding 1 (+ bias)
    F   = ReLU(conv_2(h))          the same again
    out = ReLU(F + x)              the input added back, then a final ReLU

Every step keeps the 64x64x3 shape: a 3x3 conv with padding 1 and stride 1 maps H x W to
H x W, and 3 filters keep 3 channels, which is what lets x be added to F without a
projection. The block only has to learn the residual F(x) = out - x (He et al. 2015).

Part 1 builds that block from keras_resnet's public pieces (`conv`, `residual_add`) and
checks it against the same formula in plain NumPy. Part 2 does the same for the library's
`basic_block`, He et al.'s block as trained here: BatchNorm after each conv and no ReLU
before the addition, out = ReLU(BN(conv_2(ReLU(BN(conv_1(x))))) + x).

    python examples/residual_block.py
"""

import keras
import numpy as np
from keras import layers

import keras_resnet
from keras_resnet import blocks


def conv3x3_numpy(x, kernel, bias):
    """A 3x3 conv with stride 1 and zero padding 1, as a sum over the 9 kernel taps."""
    height, width = x.shape[1:3]
    padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)])
    out = np.zeros(x.shape[:3] + (kernel.shape[-1],), np.float64)
    for dy in range(3):
        for dx in range(3):
            out += padded[:, dy : dy + height, dx : dx + width, :] @ kernel[dy, dx]
    return out + bias


def relu(x):
    return np.maximum(x, 0)


def seed_block_model():
    inputs = keras.Input((64, 64, 3), name="x")
    h = blocks.conv(inputs, 3, 3, use_bias=True, name="seed_1")
    h = layers.Activation("relu", name="seed_1_relu")(h)
    f = blocks.conv(h, 3, 3, use_bias=True, name="seed_2")
    f = layers.Activation("relu", name="seed_2_relu")(f)
    out = keras_resnet.residual_add(inputs, f, name="seed")
    return keras.Model(inputs, out, name="seed_block")


def basic_block_model():
    inputs = keras.Input((64, 64, 3), name="x")
    return keras.Model(
        inputs, keras_resnet.basic_block(inputs, 3, name="block"), name="basic_block"
    )


def scaled_difference(outputs, expected):
    return float(np.abs(outputs - expected).max() / max(1.0, np.abs(expected).max()))


def batch_norm_numpy(x, layer):
    gamma, beta, mean, variance = (w.numpy() for w in layer.weights)
    return (x - mean) / np.sqrt(variance + layer.epsilon) * gamma + beta


def main(seed: int = 0, verbose: bool = True) -> dict:
    """Runs both checks; returns the max abs differences, as fractions of the output's largest
    value where that exceeds 1 (float32 rounding grows with the values); each must be below 1e-6."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    say = print if verbose else (lambda *args: None)

    model = seed_block_model()
    for i in (1, 2):  # non-zero biases, so that the formula's "+ bias" is checked too
        kernel, bias = model.get_layer(f"seed_{i}_conv").get_weights()
        model.get_layer(f"seed_{i}_conv").set_weights([kernel, rng.normal(0, 0.1, bias.shape)])
    (k1, b1), (k2, b2) = (model.get_layer(f"seed_{i}_conv").get_weights() for i in (1, 2))
    say("Part 1, the seed's block:")
    say(f"  x                      {x.shape}")
    h = relu(conv3x3_numpy(x, k1, b1))
    say(f"  h = ReLU(conv_1(x))    {h.shape}   conv kernel {k1.shape}")
    f = relu(conv3x3_numpy(h, k2, b2))
    say(f"  F = ReLU(conv_2(h))    {f.shape}")
    expected = relu(f + x)
    say(f"  out = ReLU(F + x)      {expected.shape}")
    seed_diff = scaled_difference(model(x).numpy(), expected)
    say(f"  keras_resnet vs NumPy: max abs difference {seed_diff:.2e}")

    model = basic_block_model()
    # Random BatchNorm statistics, so that a wrong formula cannot hide behind identity BNs.
    for name in ("block_1_bn", "block_2_bn"):
        bn = model.get_layer(name)
        bn.set_weights(
            [
                rng.uniform(0.5, 1.5, 3),
                rng.normal(0, 0.1, 3),
                rng.normal(0, 0.1, 3),
                rng.uniform(0.5, 1.5, 3),
            ]
        )
    (k1,) = model.get_layer("block_1_conv").get_weights()
    (k2,) = model.get_layer("block_2_conv").get_weights()
    h = relu(batch_norm_numpy(conv3x3_numpy(x, k1, 0), model.get_layer("block_1_bn")))
    f = batch_norm_numpy(conv3x3_numpy(h, k2, 0), model.get_layer("block_2_bn"))
    expected = relu(f + x)
    block_diff = scaled_difference(model(x, training=False).numpy(), expected)
    say("Part 2, keras_resnet.basic_block (BatchNorm, no ReLU before the add):")
    say(f"  out {expected.shape}; keras_resnet vs NumPy: max abs difference {block_diff:.2e}")

    for label, diff in (("seed block", seed_diff), ("basic_block", block_diff)):
        if not diff < 1e-6:
            raise AssertionError(f"{label} differs from its formula by {diff}")
    say("Both equal their formulas to 1e-6.")
    return {"seed_block": seed_diff, "basic_block": block_diff}


if __name__ == "__main__":
    main()
