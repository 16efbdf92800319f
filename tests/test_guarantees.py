"""What the package guarantees under ordinary mistakes, races and damaged files (README, "What is
guaranteed"): each case here gave a wrong result or a crash without a culprit before."""

import csv
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import time
import warnings
import zlib

import numpy as np
import pytest
from helpers import local_weights
from PIL import Image

import keras_resnet
from keras_resnet import files
from keras_resnet import weights as weights_lib
from keras_resnet.tools import data as data_lib
from keras_resnet.tools._tensorflow import tf
from keras_resnet.tools.config import TrainConfig
from keras_resnet.tools.evaluate import evaluate
from keras_resnet.tools.export import export
from keras_resnet.tools.train import train

CLI = [sys.executable, "-m", "keras_resnet.tools.cli"]
DIGITS = dict(data="digits", epochs=2, batch_size=256, export=None, verbose=0)


def snapshot(folder):
    """Every file of a folder with its bytes' hash: what "nothing changed" means."""
    return {
        os.path.relpath(os.path.join(root, name), folder): hashlib.sha256(
            open(os.path.join(root, name), "rb").read()
        ).hexdigest()
        for root, _, names in os.walk(folder)
        for name in names
        if name != ".lock"
    }


def cli(*arguments, cwd=None, timeout=600):
    return subprocess.run(
        [*CLI, *map(str, arguments)], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def png(pixels):
    return tf.io.encode_png(pixels).numpy()


def huge_png_header(width, height):
    """A PNG that claims width x height pixels in a few dozen bytes (a decompression bomb's header)."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def image_folder(root, classes=("cat", "dog"), per_class=6, size=12, test_classes=None):
    rng = np.random.default_rng(0)
    for split, names in (("train", classes), ("test", test_classes or classes)):
        for name in names:
            os.makedirs(root / split / name, exist_ok=True)
            for index in range(per_class):
                (root / split / name / f"{index}.png").write_bytes(
                    png(rng.integers(0, 256, (size, size, 3), np.uint8))
                )
    return root


# --- a run folder has an identity --------------------------------------------------------------


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "resnet20-digits"
    train(TrainConfig(out=str(run), **DIGITS))
    return run


@pytest.mark.parametrize(
    "change, listed",
    [
        (dict(model="resnet32"), ["model: 'resnet20' in the run, 'resnet32' now"]),
        (
            # Another lr alone would continue the run (the way on after a diverged loss).
            dict(optimizer="adamw", lr=0.8, epochs=6),
            ["optimizer: 'sgd' in the run, 'adamw' now"],
        ),
        (dict(epochs=1), ["epochs: the run has trained 2, epochs=1 would not continue it"]),
        (
            dict(model_options={"zero_init_residual": True}),
            ["model_options: {} in the run, {'zero_init_residual': True} now"],
        ),
    ],
)
def test_a_rerun_with_other_settings_is_refused_and_writes_nothing(digits_run, change, listed):
    before = snapshot(digits_run)
    with pytest.raises(
        ValueError,
        match=rf"`out` {re.escape(str(digits_run))} holds another run, so it is not continued: ",
    ) as error:
        train(TrainConfig(out=str(digits_run), **{**DIGITS, **change}))
    for difference in listed:
        assert difference in str(error.value)
    assert "Start afresh with another --out" in str(error.value)
    assert snapshot(digits_run) == before


def test_other_data_in_a_run_folder_is_refused_and_the_run_still_predicts(digits_run, tmp_path):
    before = snapshot(digits_run)
    folder = image_folder(tmp_path / "three", classes=("a", "b", "c"), per_class=90, size=8)
    with pytest.raises(
        ValueError, match=r"classes: \['0', '1', .*'9'\] in the run, \['a', 'b', 'c'\] now"
    ):
        train(TrainConfig(out=str(digits_run), **{**DIGITS, "data": str(folder)}))
    assert snapshot(digits_run) == before
    from keras_resnet.tools.predict import predict

    [(_, top)] = predict([str(folder / "train" / "a" / "0.png")], str(digits_run), top_k=3)
    assert [name for _, _, name in top] == [
        str(index) for _, index, _ in top
    ]  # the run's own ten classes


def test_more_epochs_continue_the_run_on_a_stretched_schedule(tmp_path):
    run = tmp_path / "run"
    train(TrainConfig(out=str(run), **DIGITS))
    train(
        TrainConfig(
            out=str(run),
            **{
                **DIGITS,
                "epochs": 4,
                "export": str(tmp_path / "exports"),
                "export_formats": ("saved_model",),
            },
        )
    )
    with open(run / "history.csv") as file:
        rows = list(csv.DictReader(file))
    assert [row["epoch"] for row in rows] == ["1", "2", "3", "4"]
    # The 2-epoch cosine schedule had reached 0 at epoch 2's end; stretched to 4, epoch 3 still learns.
    assert float(rows[1]["lr"]) < 1e-3 < float(rows[2]["lr"])
    config = json.load(open(run / "config.json"))
    assert config["continued"] == [
        {
            "after_epoch": 2,
            "changed": {
                "epochs": [2, 4],
                "export": [None, str(tmp_path / "exports")],
                "export_formats": [list(TrainConfig().export_formats), ["saved_model"]],
            },
        }
    ]


def test_a_failed_start_writes_nothing(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"`zero_init_residual` must be True or False; received zero_init_residual='maybe'",
    ):
        train(
            TrainConfig(
                out=str(tmp_path / "run"),
                **{**DIGITS, "model_options": {"zero_init_residual": "maybe"}},
            )
        )
    assert not (tmp_path / "run").exists()
    with pytest.raises(
        ValueError,
        match=r"`model_options` must be options of resnet20 \(weights, variant, .*received \['depth'\]",
    ):
        train(TrainConfig(out=str(tmp_path / "run"), **{**DIGITS, "model_options": {"depth": 50}}))
    assert not (tmp_path / "run").exists()


# --- one writer at a time ----------------------------------------------------------------------


def test_a_second_train_on_a_running_run_folder_refuses_at_once(tmp_path):
    run = tmp_path / "run"
    first = subprocess.Popen(
        [*CLI, "train", "--epochs", "30", "--out", str(run), "--no-export", "--progress", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (
            (run / ".lock").exists() and (run / ".lock").read_text()
        ):
            time.sleep(0.1)  # the first one holds the lock (it writes who it is into the file)
        started = time.time()
        second = cli("train", "--epochs", 30, "--out", run, "--no-export")
        elapsed = time.time() - started
        assert first.poll() is None, "the first run ended before the second started"
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 2 and elapsed < 5, (second.returncode, elapsed)
    assert re.fullmatch(
        rf"keras-resnet: error: run folder {re.escape(str(run))} is in use by process {first.pid} on "
        r"\S+ since \S+ \(.*\)\. Wait for it to finish or stop it; a killed process releases it\.\n",
        second.stderr,
    ), second.stderr
    files.check_unlocked(run / ".lock", "run")  # the killed holder released it


def test_concurrent_exports_of_one_name_each_get_a_version(tmp_path):
    model = keras_resnet.ResNet20(classes=3, input_shape=(8, 8, 3), include_preprocessing=True)
    model.save(tmp_path / "tiny.keras")
    out = tmp_path / "saved_models"
    stale = out / "tiny" / ".partial-999999999-killed"  # left by an export killed long ago
    stale.mkdir(parents=True)
    live = out / "tiny" / f".partial-{os.getpid()}-running"  # an export still running here
    live.mkdir()
    processes = [
        subprocess.Popen(
            [
                *CLI,
                "export",
                str(tmp_path / "tiny.keras"),
                "--out",
                str(out),
                "--formats",
                "saved_model,tflite_float32",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=600) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], [
        err[-1500:] for _, err in outputs
    ]
    assert sorted(os.listdir(out / "tiny")) == [
        live.name,
        "1",
        "2",
        "3",
    ]  # the dead one's partial folder is gone
    for version in (1, 2, 3):
        manifest = json.load(open(out / "tiny" / str(version) / "manifest.json"))
        assert manifest["version"] == version
        assert manifest["verification"]["saved_model"]["max_abs_diff"] <= 1e-5
        assert manifest["verification"]["tflite_float32"]["max_abs_diff"] <= 1e-4


# --- data checked before the first step ----------------------------------------------------------


def test_train_and_test_classes_must_be_equal(tmp_path):
    renamed = image_folder(tmp_path / "renamed", test_classes=("bird", "dog"))
    with pytest.raises(ValueError, match=r"only in 'train': \['cat'\], only in 'test': \['bird'\]"):
        train(
            TrainConfig(
                data=str(renamed),
                out=str(tmp_path / "run"),
                epochs=1,
                batch_size=4,
                export=None,
                verbose=0,
            )
        )
    extra = image_folder(tmp_path / "extra", test_classes=("cat", "dog", "eel"))
    with pytest.raises(ValueError, match=r"only in 'train': \[\], only in 'test': \['eel'\]"):
        train(
            TrainConfig(
                data=str(extra),
                out=str(tmp_path / "run"),
                epochs=1,
                batch_size=4,
                export=None,
                verbose=0,
            )
        )
    assert not (tmp_path / "run").exists()


def test_evaluate_compares_class_names_before_inference(tmp_path, digits_run):
    folder = image_folder(tmp_path / "letters", classes=tuple("abcdefghij"), per_class=1, size=8)
    with pytest.raises(
        ValueError,
        match=r"The classes of .* \(test\) are not the model's: only in the data: "
        r"\['a', .*'j'\], only in the model: \['0', .*'9'\]",
    ):
        evaluate(str(digits_run), str(folder), out=str(tmp_path / "evaluations"))
    assert not (tmp_path / "evaluations").exists()


def test_a_damaged_folder_trains_and_names_every_file_it_leaves_out(tmp_path):
    root = image_folder(tmp_path / "data", per_class=8)
    cat, dog = root / "train" / "cat", root / "train" / "dog"
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, (64, 64, 3), np.uint8)
    jpeg = tf.io.encode_jpeg(noise).numpy()
    (cat / "0000-truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])  # sorts first
    (cat / "random.jpg").write_bytes(rng.bytes(2000))
    (dog / "huge.png").write_bytes(huge_png_header(20000, 20000))
    Image.fromarray(noise[:12, :12]).save(dog / "scan.tiff")
    (cat / "larger.png").write_bytes(png(noise[:24, :24]))  # another size: resized to the run's
    Image.fromarray(noise[:12, :12]).save(cat / "photo.webp")
    Image.fromarray(noise[:12, :12]).convert("CMYK").save(dog / "print.jpg")
    Image.fromarray(noise[:12, :12]).save(dog / "anim.gif")
    Image.fromarray(noise[:12, :12]).save(dog / "old.bmp")
    run = tmp_path / "run"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(
            TrainConfig(
                data=str(root),
                recipe="cifar",
                epochs=1,
                batch_size=4,
                out=str(run),
                export=None,
                verbose=0,
            )
        )
    assert json.load(open(run / "state.json"))["epoch"] == 1
    assert json.load(open(run / "config.json"))["image_size"] == [12, 12]  # the most common size
    reasons = (run / "skipped_files.txt").read_text().splitlines()
    assert sorted(reasons) == sorted(
        [
            f"{cat / 'random.jpg'}: not an image file, or one whose header is damaged (JPEG, PNG, GIF, BMP, WEBP)",
            f"{dog / 'huge.png'}: more than 178,956,970 pixels (the limit is 89,478,485)",
            f"{dog / 'scan.tiff'}: TIFF is not one of JPEG, PNG, GIF, BMP, WEBP",
            f"{cat / '0000-truncated.jpg'}: cannot be decoded (truncated or corrupt)",
        ]
    )
    messages = [str(w.message) for w in caught]
    assert [m for m in messages if m.startswith(f"{root / 'train'}: 4 file(s) will not be used: ")]
    assert not [m for m in messages if "ran out of data" in m]
    assert (
        json.load(open(run / "config.json"))["identity"]["train_examples"] == 16 + 5
    )  # 8 + 8, and five good extras


def test_an_empty_class_is_an_error(tmp_path):
    root = image_folder(tmp_path / "data")
    (root / "train" / "eel").mkdir()
    (root / "train" / "eel" / "notes.txt").write_text("nothing to see")
    with pytest.raises(ValueError, match=r"the class folder\(s\) \['eel'\] hold no usable image"):
        data_lib.load(str(root), "train")


# --- values, paths, errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments, message",
    [
        (
            ["--weight-decay", "-1"],
            "`weight_decay` must be a number >= 0; received weight_decay=-1.0.",
        ),
        (
            ["--warmup-epochs", "-3"],
            "`warmup_epochs` must be a number >= 0; received warmup_epochs=-3.0.",
        ),
        (
            ["--image-size", "0"],
            "`image_size` must be None (the images' own size) or an integer >= 1; received image_size=0.",
        ),
        (
            ["--option", "zero_init_residual=maybe"],
            "`zero_init_residual` must be True or False; received zero_init_residual='maybe'.",
        ),
        (["--lr", "nan"], "`lr` must be a number > 0; received lr=nan."),
    ],
)
def test_meaningless_values_are_one_line_errors(tmp_path, capsys, arguments, message):
    from keras_resnet.tools import cli as cli_module

    with pytest.raises(SystemExit) as exit:
        cli_module.main(["train", "--out", str(tmp_path / "run"), "--no-export", *arguments])
    assert (exit.value.code, capsys.readouterr().err) == (2, f"keras-resnet: error: {message}\n")
    assert not (tmp_path / "run").exists()


def test_an_unwritable_export_fails_before_training(tmp_path):
    (tmp_path / "a-file").write_text("")
    result = cli("train", "--out", tmp_path / "run", "--export", tmp_path / "a-file" / "exports")
    assert (result.returncode, result.stderr) == (
        2,
        f"keras-resnet: error: `export` must be a folder this process can "
        f"write; received export='{tmp_path / 'a-file' / 'exports'}' "
        f"({tmp_path / 'a-file'} is a file).\n",
    )
    assert not (tmp_path / "run").exists()


def test_internal_errors_keep_their_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "from keras_resnet.tools import cli\n"
                "def broken(args):\n    raise RuntimeError('a bug')\n"
                "cli._models = broken\ncli.main(['models'])"
            ),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (
        result.returncode == 1
        and "Traceback" in result.stderr
        and "RuntimeError: a bug" in result.stderr
    )


def test_export_of_a_run_from_elsewhere_finds_its_data_or_says_where_it_looked(
    tmp_path, monkeypatch
):
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    image_folder(work / "data", size=8)
    elsewhere.mkdir()
    monkeypatch.chdir(work)
    train(TrainConfig(data="data", out="run", epochs=1, batch_size=4, export=None, verbose=0))
    monkeypatch.chdir(elsewhere)
    path = export(
        str(work / "run"), "exports", formats=["tflite_int8"]
    )  # config.json holds the data's absolute path
    assert (
        json.load(open(os.path.join(path, "manifest.json")))["verification"]["tflite_int8"][
            "examples"
        ]
        == 12
    )  # all 12 training images
    config = json.load(open(work / "run" / "config.json"))
    del config["data_path"]  # as a run of an earlier version recorded it: "data", relative
    json.dump(config, open(work / "run" / "config.json", "w"))
    with pytest.raises(ValueError) as error:
        export(str(work / "run"), "exports", formats=["tflite_int8"])
    assert (
        f"the run's training data 'data' (from {work / 'run' / 'config.json'}; looked for from {elsewhere})"
        in str(error.value)
    )
    assert "Pass --calibration-data" in str(error.value)


def test_weight_files_of_integers_are_refused(tmp_path):
    from safetensors.numpy import save_file

    model = keras_resnet.ResNet18(classes=3, input_shape=(32, 32, 3))
    state = {
        name: np.ones(
            layer.weights[index].shape[::-1] if layout == "conv" else layer.weights[index].shape,
            np.int64,
        )
        for name, (layer, index, layout) in weights_lib.torchvision_arrays(model).items()
    }
    save_file(state, str(tmp_path / "ints.safetensors"))
    with pytest.raises(
        ValueError,
        match=r"ints.safetensors: tensor '[\w.]+' has dtype int64; weight files must hold "
        r"floating-point tensors",
    ):
        keras_resnet.ResNet18(
            classes=3, input_shape=(32, 32, 3), weights=str(tmp_path / "ints.safetensors")
        )


# --- weights you can trust -----------------------------------------------------------------------


def test_offline_downloads_say_how_to_load_a_local_file(tmp_path):
    spec = weights_lib.PublishedWeights(
        model="resnet18",
        tag="test:offline",
        source="a server that is not there",
        url="http://127.0.0.1:9/resnet18.safetensors",
        file_hash="a" * 64,
        variant="v1.5",
        preprocessing="torch",
    )
    with pytest.raises(
        ConnectionError,
        match=r"Cannot download http://127.0.0.1:9/resnet18.safetensors: .*Offline\? "
        r"Download resnet18.safetensors \(its sha256: a{64}\) on a connected machine "
        r"and load the file itself: weights='/path/to/resnet18.safetensors'",
    ):
        weights_lib.fetch(spec, cache_dir=str(tmp_path))


def test_a_damaged_cached_file_is_fetched_again(tmp_path, fixtures_dir, monkeypatch):
    source = fixtures_dir / "resnet18.safetensors"
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    for pinned in (None, hashlib.sha256(source.read_bytes()).hexdigest()):
        spec = local_weights(source, pinned)
        monkeypatch.setitem(weights_lib.PUBLISHED, ("resnet18", "test:local"), spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unpinned: the file's hash is printed
            cached = weights_lib.fetch(spec)
            with open(cached, "r+b") as file:  # an interrupted copy
                file.truncate(1000)
            model = keras_resnet.ResNet18(
                weights="test:local",
                classes=10,
                input_shape=(64, 64, 3),
                classifier_activation=None,
            )
        reference = np.load(fixtures_dir / "resnet18.npz")
        assert (
            np.abs(model(reference["x"], training=False).numpy() - reference["logits"]).max() < 1e-4
        )
        assert os.path.getsize(cached) == os.path.getsize(source)


def test_hub_weights_are_pinned_to_a_revision_and_a_checksum():
    hub = {key: spec for key, spec in weights_lib.PUBLISHED.items() if "huggingface.co" in spec.url}
    pinned = [spec for spec in hub.values() if "/resolve/main/" not in spec.url]
    assert len(hub) == 27 and len(pinned) == 20
    assert all(re.search(r"/resolve/[0-9a-f]{40}/model.safetensors$", spec.url) for spec in pinned)
    hashed = [spec for spec in hub.values() if spec.file_hash]
    assert len(hashed) == 17 and all(
        re.fullmatch(r"[0-9a-f]{64}", spec.file_hash) for spec in hashed
    )
    keras_files = [
        spec for spec in weights_lib.PUBLISHED.values() if "huggingface.co" not in spec.url
    ]
    assert keras_files and all(spec.file_hash and spec.notop_hash for spec in keras_files)


def test_data_sources_that_cannot_be_read_are_named(tmp_path):
    (tmp_path / "notes.txt").write_text("not a data set")
    with pytest.raises(
        ValueError,
        match=r"`source` must be 'digits', a folder .* or a tfds name; received "
        r"source='.*notes.txt', a file.",
    ):
        data_lib.load(str(tmp_path / "notes.txt"), "train")
    with pytest.raises(
        ValueError,
        match=r"`split` must be 'train' or 'test' for the embedded digits; received "
        r"split='validation'",
    ):
        data_lib.load("digits", "validation")


def test_damaged_run_files_are_named(tmp_path):
    run = tmp_path / "run"
    train(TrainConfig(out=str(run), **DIGITS))
    state = (run / "state.json").read_text()
    (run / "state.json").write_text(
        state[:20]
    )  # damaged outside keras_resnet (a full disk, an edit)
    with pytest.raises(
        ValueError, match=rf"{re.escape(str(run / 'state.json'))} is damaged \(.*\): restore it"
    ):
        train(TrainConfig(out=str(run), **{**DIGITS, "epochs": 3}))
    (run / "state.json").write_text(state)
    checkpoint = run / json.loads(state)["checkpoint"]
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    with pytest.raises(
        ValueError,
        match=rf"The run's last checkpoint {re.escape(str(checkpoint))} cannot be loaded",
    ):
        train(TrainConfig(out=str(run), **{**DIGITS, "epochs": 3}))
