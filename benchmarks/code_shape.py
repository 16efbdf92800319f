"""The shape of the package's code: its longest modules and functions, with their lengths and
parameter counts, and the tests' census (test functions, assertions), in the working tree or at
a commit.

    python benchmarks/code_shape.py                # the working tree
    python benchmarks/code_shape.py --ref b133e91  # the package as it was at a commit
"""

import argparse
import ast
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sources(ref, folder="keras_resnet"):
    """{path: text} of every .py file under `folder`, at `ref` (None: the working tree)."""
    if ref is None:
        return {str(p.relative_to(ROOT)): p.read_text() for p in (ROOT / folder).rglob("*.py")}
    listing = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", ref, folder],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {
        path: subprocess.run(
            ["git", "show", f"{ref}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        for path in listing
        if path.endswith(".py")
    }


def functions(path, text):
    """(lines, parameters, qualified name) of every function and method in a module."""
    rows = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                arguments = child.args
                count = len(arguments.posonlyargs + arguments.args + arguments.kwonlyargs)
                count += bool(arguments.vararg) + bool(arguments.kwarg)
                lines = child.end_lineno - child.lineno + 1
                rows.append((lines, count, f"{path}:{prefix}{child.name}"))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(ast.parse(text), "")
    return rows


def census(files):
    """(test functions, assertions) of test modules: `assert` statements, and calls of
    `pytest.raises`/`pytest.warns`/`pytest.approx`-free `np.testing.assert_*` and `assert_*`
    helpers."""
    tests = assertions = 0
    for path, text in files.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                tests += path.rsplit("/", 1)[-1].startswith("test_")
            elif isinstance(node, ast.Assert):
                assertions += 1
            elif isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                last = name.rsplit(".", 1)[-1]
                assertions += name in ("pytest.raises", "pytest.warns") or last.startswith(
                    "assert_"
                )
    return tests, assertions


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", help="a git commit (default: the working tree)")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    files = sources(args.ref)
    print(f"| module ({args.ref or 'working tree'}) | lines |\n|---|---:|")
    for path, text in sorted(files.items(), key=lambda item: -len(item[1].splitlines()))[:5]:
        print(f"| {path} | {len(text.splitlines())} |")
    print("\n| function | lines | parameters |\n|---|---:|---:|")
    rows = [row for path, text in files.items() for row in functions(path, text)]
    for lines, count, name in sorted(rows, reverse=True)[: args.top]:
        print(f"| {name} | {lines} | {count} |")
    tests, assertions = census(sources(args.ref, "tests"))
    print(f"\ntests/: {tests} test functions, {assertions} assertions")


if __name__ == "__main__":
    main()
