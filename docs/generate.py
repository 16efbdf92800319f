"""Generates the parts of the docs that are data: for now README.md's table of published weights,
rendered from `keras_resnet.weights.CATALOGUE`.

    python docs/generate.py          # rewrite the table in README.md
    python docs/generate.py --check  # exit 1, with a diff, where README.md differs
"""

import argparse
import difflib
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's catalogue, whatever is installed

from keras_resnet.weights import CATALOGUE, PublishedWeights  # noqa: E402

START, END = "<!-- weights-table:start -->", "<!-- weights-table:end -->"
_HASH_KINDS = {32: "MD5", 64: "SHA-256"}


def _checksum(file_hash: str | None) -> str:
    return f"{_HASH_KINDS[len(file_hash)]} `{file_hash[:8]}`" if file_hash else "none"


def _pinned(row: PublishedWeights) -> str:
    if "huggingface.co" not in row.url:
        return "n/a"  # a fixed path, not a repository with revisions
    return "yes" if row.revision else "no"


def weights_table(rows: Iterable[PublishedWeights]) -> str:
    """A Markdown table of the published weights, one line per row of the catalogue.

    Example:
        >>> print(weights_table(CATALOGUE).splitlines()[0])
        | model | `weights=` | variant | source | top-1 | preprocessing | evaluation resize ...
    """
    lines = [
        "| model | `weights=` | variant | source | top-1 | preprocessing "
        "| evaluation resize -> crop | interpolation | checksum (no top) | pinned revision |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        checksum = _checksum(row.file_hash)
        if row.notop_url:
            checksum += f" ({_checksum(row.notop_hash)})"
        top1 = "-" if row.top1 is None else f"{row.top1:g}"
        lines.append(
            f"| {row.model} | `{row.tag}` | {row.variant} | {row.source} | {top1} "
            f"| `{row.preprocessing}` "
            f"| {row.resize_size} -> {row.input_size} ({row.crop_pct}) | {row.interpolation} "
            f"| {checksum} | {_pinned(row)} |"
        )
    return "\n".join(lines) + "\n"


def _split(text: str, where: str) -> tuple[str, str, str]:
    """(before, between, after) the markers, or ValueError naming what is missing."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(
            f"{where} must hold {START!r} once, then {END!r} once; it holds "
            f"{text.count(START)} and {text.count(END)}."
        )
    before, rest = text.split(START)
    between, after = rest.split(END)
    return before, between.strip("\n") + "\n", after


def differences(readme: str, where: str = "README.md") -> list[str]:
    """A unified diff from the table in `readme` to the catalogue's; empty when they agree.

    Example:
        >>> differences(Path("README.md").read_text())
        []
    """
    _, current, _ = _split(readme, where)
    return list(
        difflib.unified_diff(
            current.splitlines(),
            weights_table(CATALOGUE).splitlines(),
            f"{where} (weights table)",
            "keras_resnet/weights/catalogue.py",
            lineterm="",
        )
    )


def main(argv: list[str] | None = None) -> int:
    """Rewrites the weights table in README.md, or with `--check` reports how it differs.

    Example:
        >>> main(["--check"])
        0
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 on a difference"
    )
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args(argv)
    text = args.readme.read_text()
    diff = differences(text, str(args.readme))
    if args.check:
        if diff:
            print(f"{args.readme}'s weights table differs from the catalogue:", *diff, sep="\n")
            print("Run `python docs/generate.py` to regenerate it.")
            return 1
        return 0
    before, _, after = _split(text, str(args.readme))
    args.readme.write_text(f"{before}{START}\n{weights_table(CATALOGUE)}{END}{after}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
