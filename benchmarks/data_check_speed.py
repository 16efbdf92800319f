"""How long the checks of an image folder take before the first step (headers, then one decode
pass), on the real CIFAR-10 folder.

    unzip -q ../shared/data/cifar10-jpeg.zip -d /tmp/cifar10
    python benchmarks/data_check_speed.py --data /tmp/cifar10
"""

import argparse
import time

from keras_resnet.tools import data as data_lib


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="/tmp/cifar10")
    parser.add_argument("--split", default="train")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    _, info = data_lib.load(args.data, args.split)
    seconds = time.perf_counter() - started
    print(
        f"{info.splits[args.split]} images checked in {seconds:.1f} s ({len(info.skipped)} skipped)"
    )


if __name__ == "__main__":
    main()
