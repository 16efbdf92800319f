"""Trains on a CIFAR-10 folder in which 1% of the training files are damaged in different ways,
and checks that the run completes, names every damaged file it leaves out, and stays in memory.

    unzip -q ../shared/data/cifar10-jpeg.zip -d /tmp/cifar10
    python benchmarks/damaged_data.py --data /tmp/cifar10 --out /tmp/damaged

Of the 50,000 training images, 500 are replaced: 100 truncated JPEGs, 100 files of random bytes,
100 TIFFs, 99 images of other sizes (64x64, 48x40, 20x20), 50 CMYK JPEGs, 25 WebP, 25 BMP and
one 20000x20000 PNG of 1.2 MB (a decompression bomb). The truncated, random, TIFF and bomb files
(301) must be reported; the others are used. Peak memory is the trainer process's (`ru_maxrss`).
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import zlib

import numpy as np
from PIL import Image


def bomb(path, width=20000, height=20000):
    """A real PNG of width x height black pixels, written row by row (never whole in memory)."""

    def chunk(kind, data):
        return (
            len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
        )

    compressor, row, body = zlib.compressobj(9), b"\x00" * (1 + 3 * width), []
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    with open(path, "wb") as file:
        file.write(
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", body)
            + chunk(b"IEND", b"")
        )


def damage(source, target, seed=0):
    """Copies the folder (hard links) and damages 500 training files; returns the ones to report."""
    shutil.copytree(source, target, copy_function=os.link)
    files = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(os.path.join(target, "train"))
        for name in names
    )
    rng = np.random.default_rng(seed)
    chosen = [files[i] for i in rng.choice(len(files), 500, replace=False)]
    reported = []
    for index, path in enumerate(chosen):
        image = Image.open(path).convert("RGB")
        os.remove(path)  # a hard link: the source folder keeps its file
        stem = os.path.splitext(path)[0]
        if index < 100:  # truncated
            data = open(os.path.join(source, os.path.relpath(path, target)), "rb").read()
            open(path, "wb").write(data[: len(data) // 2])
            reported.append(path)
        elif index < 200:  # random bytes
            open(path, "wb").write(rng.bytes(1500))
            reported.append(path)
        elif index < 300:  # another format that the tools cannot read
            image.save(stem + ".tiff")
            reported.append(stem + ".tiff")
        elif index < 399:  # other sizes
            image.resize([(64, 64), (48, 40), (20, 20)][index % 3]).save(path, "JPEG")
        elif index < 449:
            image.convert("CMYK").save(path, "JPEG")
        elif index < 474:
            image.save(stem + ".webp")
        elif index < 499:
            image.save(stem + ".bmp")
        else:
            bomb(stem + ".png")
            reported.append(stem + ".png")
    return reported


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="/tmp/cifar10")
    parser.add_argument("--out", default="/tmp/damaged")
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args(argv)
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    folder = os.path.join(args.out, "cifar10-damaged")
    reported = damage(args.data, folder)
    run = os.path.join(args.out, "run")
    started = time.time()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_resnet.tools.cli",
            "train",
            "--model",
            "resnet20",
            "--data",
            folder,
            "--epochs",
            str(args.epochs),
            "--precision",
            "bfloat16",
            "--out",
            run,
            "--no-export",
            "--progress",
            "2",
        ],
        capture_output=True,
        text=True,
    )
    seconds = time.time() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # KiB -> GiB
    skipped = (
        [
            line.split(": ", 1)[0]
            for line in open(os.path.join(run, "skipped_files.txt")).read().splitlines()
        ]
        if os.path.exists(os.path.join(run, "skipped_files.txt"))
        else []
    )
    summary = {
        "returncode": result.returncode,
        "seconds": round(seconds),
        "peak_memory_gib": round(peak, 2),
        "damaged_to_report": len(reported),
        "reported": len(skipped),
        "all_reported": sorted(skipped) == sorted(reported),
        "epochs_done": json.load(open(os.path.join(run, "state.json")))["epoch"]
        if result.returncode == 0
        else 0,
        "warning": next(
            (line for line in result.stderr.splitlines() if "will not be used" in line), ""
        )[:300],
    }
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
