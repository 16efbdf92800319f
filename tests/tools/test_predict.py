"""Predictions (keras_resnet.tools.predict): the top classes of image files in every runtime,
and images the model cannot take named with what it takes."""

import os

import numpy as np
import pytest
from helpers import NAMES, SIZE, naming, pixels
from PIL import Image

from keras_resnet.tools import runtimes
from keras_resnet.tools.predict import predict


def test_predict_and_bad_inputs(exported, tmp_path):
    model, _, path = exported
    image = pixels(1, seed=9)[0].astype("uint8")
    Image.fromarray(image).save(tmp_path / "good.png")
    Image.fromarray(np.zeros((20, 24, 3), "uint8")).save(tmp_path / "large.png")
    Image.fromarray(np.zeros((SIZE, SIZE), "uint8")).save(tmp_path / "gray.png")
    (tmp_path / "notes.png").write_text("not an image")
    expected = model.predict(image[None].astype("float32"), verbose=0)[0]
    for file in ("model_float32.tflite", "model.onnx", ""):
        [(name, top)] = predict([str(tmp_path / "good.png")], os.path.join(path, file), top_k=2)
        assert [index for _, index, _ in top] == list(np.argsort(-expected)[:2])
        assert top[0][2] == NAMES[expected.argmax()] and top[0][0] == pytest.approx(
            expected.max(), abs=1e-4
        )
    with pytest.raises(
        ValueError,
        match=naming(f"`image` '{tmp_path / 'large.png'}'", "24x20 with 3", "takes 16x16 with 3"),
    ):
        predict([str(tmp_path / "large.png")], path)
    with pytest.raises(
        ValueError, match=naming(f"`image` '{tmp_path / 'gray.png'}'", "16x16 with 1 channel")
    ):
        predict([str(tmp_path / "gray.png")], path)
    assert (
        len(predict([str(tmp_path / "large.png"), str(tmp_path / "gray.png")], path, resize=True))
        == 2
    )
    with pytest.raises(
        ValueError,
        match=naming(
            "`image`",
            "JPEG, PNG, GIF, BMP, WEBP",
            f"image='{tmp_path / 'notes.png'}'",
            "not an image",
        ),
    ):
        predict([str(tmp_path / "notes.png")], path)
    with pytest.raises(
        ValueError,
        match=naming("`images`", "(batch, 16, 16, 3)", "received shape (1, 8, 8, 3)"),
    ):
        runtimes.open_model(os.path.join(path, "model.onnx"))(np.zeros((1, 8, 8, 3)))
    (tmp_path / "model.pt").write_bytes(b"\x80\x02")
    with pytest.raises(
        ValueError,
        match=naming("`model`", ".keras file", f"model='{tmp_path / 'model.pt'}'", "none of"),
    ):
        predict([str(tmp_path / "good.png")], str(tmp_path / "model.pt"))
