"""Docs that cannot rot: the generated pages (docs/generated/*.md) equal what docs/generate.py
makes from the code now, every `>>>` example in the package's docstrings runs (but those marked
`+SKIP`, which need files, downloads or minutes), the tests the docs cite exist, and the README
stays one screen whose links resolve."""

import doctest
import importlib
import pkgutil
import re

import keras
import numpy as np
import pytest
from helpers import ROOT

import keras_resnet
from docs import generate
from keras_resnet import weights as weights_lib
from keras_resnet.models import MODELS

PAGES = ROOT / "docs"


def _rows(text):
    """{first cell: line} of a Markdown table's body rows."""
    return {
        line.split("|")[1].strip(): line
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| model |")
    }


def test_the_weights_page_is_generated_from_the_catalogue(tmp_path, capsys):
    assert generate.differences("weights") == []  # else: python docs/generate.py
    page = (PAGES / "generated" / "weights.md").read_text()
    table = generate.weights_table(weights_lib.CATALOGUE).splitlines()
    ra2 = (
        "| resnet101 | `timm:ra2_in1k` | v1d | 82.31 | `torch` | 269 -> 256 (0.95), bicubic "
        "| SHA-256 `c2192596` |"
    )
    keras_v1 = (
        "| resnet50 | `keras:imagenet` | v1 | - | `caffe` | 256 -> 224 (0.875), bilinear "
        "| MD5 `2cb95161` (MD5 `4d473c1d`) |"
    )
    assert len(table) == 2 + len(weights_lib.CATALOGUE) == 2 + 33
    assert ra2 in page.splitlines() and keras_v1 in page.splitlines()
    for row in weights_lib.CATALOGUE:  # every published file, its source and full checksum
        assert f"[{row.source}]({row.url})" in page and (row.file_hash or "none") in page
    # A stale page is reported line by line, and regenerating it restores the page.
    (tmp_path / "weights.md").write_text(page.replace("| 82.31 |", "| 82.30 |"))
    assert generate.main(["--check", "--only", "weights", "--out", str(tmp_path)]) == 1
    report = capsys.readouterr().out
    assert "weights.md differs from the code" in report
    assert f"\n-{ra2.replace('82.31', '82.30')}\n+{ra2}\n" in report
    assert generate.main(["--only", "weights", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "weights.md").read_text() == page


def test_the_cli_page_is_generated_from_the_parser():
    assert generate.differences("cli") == []  # else: python docs/generate.py
    page = (PAGES / "generated" / "cli.md").read_text()
    for command in ("models", "train", "evaluate", "export", "predict", "benchmark"):
        assert page.count(f"## `keras-resnet {command}`\n") == 1
    assert "| `--lr LR` | float | `0.1` | learning rate at a global batch of 256" in page
    assert "| `--precision` | `float32` \\| `bfloat16` \\| `float16` | `float32` |" in page


def test_the_models_page_lists_every_registered_model_in_order():
    rows = _rows((PAGES / "generated" / "models.md").read_text())
    assert list(rows) == list(MODELS)  # else: python docs/generate.py


# The other nets take 2-15 s each to build: their rows are checked by `pytest -m slow`.
FAST_ROWS = ("resnet18", "resnet50", "resnet20", "resnet110")


@pytest.mark.parametrize(
    "name",
    [pytest.param(name, marks=[] if name in FAST_ROWS else [pytest.mark.slow]) for name in MODELS],
)
def test_the_models_page_row_is_generated_from_the_model(name):
    from keras_resnet.summary import model_table

    committed = _rows((PAGES / "generated" / "models.md").read_text())[name]
    assert committed == generate.model_row(model_table([name])[0])  # else: docs/generate.py


def test_a_stale_models_page_is_reported(tmp_path, monkeypatch, capsys):
    page = (PAGES / "generated" / "models.md").read_text()
    (tmp_path / "models.md").write_text(page.replace("| resnet20 |", "| resnet21 |"))
    monkeypatch.setitem(generate.PIECES, "models", lambda: page)  # the real one builds 17 nets
    assert generate.main(["--check", "--only", "models", "--out", str(tmp_path)]) == 1
    assert "\n-| resnet21 |" in capsys.readouterr().out


# Docstring examples. The 17 builders share one generated docstring, whose example builds the
# model: three of them run it (the others would only repeat it, at up to 15 s each).
BUILDER_EXAMPLES = {"ResNet18", "ResNet20", "ResNet50"}
GLOBALS = {
    "keras": keras,
    "np": np,
    "keras_resnet": keras_resnet,
    **{name: getattr(keras_resnet, name) for name in keras_resnet.__all__},
}


def _docstring_tests():
    finder = doctest.DocTestFinder()
    tests = {}
    for module in pkgutil.walk_packages(keras_resnet.__path__, "keras_resnet."):
        for test in finder.find(importlib.import_module(module.name), extraglobs=GLOBALS):
            builder = test.name.removeprefix("keras_resnet.models.builders.")
            if test.name.startswith("keras_resnet.models.builders.") and (
                builder not in BUILDER_EXAMPLES
            ):
                continue
            if any(not example.options.get(doctest.SKIP) for example in test.examples):
                tests[test.name] = test
    return tests


DOCTESTS = _docstring_tests()


@pytest.mark.parametrize(
    "name",
    sorted(DOCTESTS),
)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    output = []
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    result = runner.run(DOCTESTS[name], out=output.append, clear_globs=False)
    assert result.failed == 0, "".join(output)


def test_docstring_examples_count():
    """Every docstring that has examples runs them, but the ones marked +SKIP (files that are
    not there, downloads, minutes of work); pinned, so that a new example is counted here."""
    run = sum(
        not example.options.get(doctest.SKIP)
        for test in DOCTESTS.values()
        for example in test.examples
    )
    assert len(DOCTESTS) >= 30 and run >= 60, (len(DOCTESTS), run)


CITED = re.compile(r"(tests/[\w/]+\.py)::(\w+)")


def test_the_tests_the_docs_cite_exist():
    pages = [ROOT / "README.md", *PAGES.rglob("*.md")]
    cited = {match for page in pages for match in CITED.findall(page.read_text())}
    assert len(cited) > 20
    for path, name in sorted(cited):
        assert re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.M), (path, name)


def test_the_readme_is_one_screen_whose_links_resolve():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 150
    # The two commands the README opens with, and .ci/run runs.
    assert 'pip install -e ".[all]" && keras-resnet train' in readme
    assert 'pip install -e ".[all]" && pytest' in readme
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    assert local and all((ROOT / link).exists() for link in local), local


def test_the_options_page_is_generated_from_model_options():
    assert generate.differences("options") == []  # else: python docs/generate.py


def test_the_api_reference_documents_every_public_name():
    documented = {
        identifier
        for page in (PAGES / "api").glob("*.md")
        for identifier in re.findall(r"^::: (\S+)$", page.read_text(), re.M)
    }
    missing = [
        name
        for name in keras_resnet.__all__
        if f"keras_resnet.{name}" not in documented
        and not any(item.startswith(f"keras_resnet.{name}.") for item in documented)
    ]
    assert missing == []
