"""Where an export is written and how it is published: a hidden partial folder beside the
versions (`<out>/<name>/.partial-*`, which TF Serving ignores), renamed to the next free version
under a lock, so that a failed export leaves nothing a server would pick up."""

import contextlib
import dataclasses
import os
import shutil
import tempfile

from keras_resnet import files as files_lib
from keras_resnet.tools import runtimes

PARTIAL, SCRATCH = ".partial-", "keras_resnet_export-"


def _missing_folders(path) -> list:
    """`path` and those of its parents that do not exist yet, deepest first."""
    missing, path = [], os.path.abspath(path)
    while not os.path.exists(path):
        missing.append(path)
        path = os.path.dirname(path)
    return missing


@contextlib.contextmanager
def staging(root):
    """(partial, scratch) for the block: a new folder in `root` that becomes the version, and
    one in the temporary folder for intermediate files. Both are gone after the block (the
    partial one published or deleted), and so are the folders up to `root` that this created
    when nothing was published in them."""
    created = _missing_folders(root)
    os.makedirs(root, exist_ok=True)
    # What killed exports left: partial versions here, scratch folders in the temporary folder.
    files_lib.remove_stale(root, PARTIAL)
    files_lib.remove_stale(tempfile.gettempdir(), SCRATCH)
    partial = tempfile.mkdtemp(dir=root, prefix=f"{PARTIAL}{os.getpid()}-")
    scratch = tempfile.mkdtemp(prefix=f"{SCRATCH}{os.getpid()}-")
    try:
        yield partial, scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(partial, ignore_errors=True)  # already renamed away when published
        for folder in created:
            with contextlib.suppress(OSError):  # not empty: published, or another export's
                os.rmdir(folder)


def _next_version(root) -> int:
    versions = [int(name) for name in os.listdir(root) if name.isdigit()]
    return max(versions, default=0) + 1


def publish(request, partial, manifest) -> str:
    """Renames `partial` to `request`'s version (the next free one by default) with `manifest`
    written into it; returns the version folder. One publisher at a time picks the version and
    renames into it, so concurrent exports of one name each get their own version; the long
    work before runs in parallel."""
    os.chmod(partial, 0o755)  # mkdtemp makes folders private
    root = request.root
    lock = os.path.join(request.out, f".{request.name}.lock")
    with files_lib.exclusive(lock, f"model folder {root}", wait=True):
        version = request.version or _next_version(root)
        target = os.path.join(root, str(version))
        if os.path.exists(target):
            raise FileExistsError(
                f"`version` {version} was published meanwhile at {target}; it is never overwritten."
            )
        manifest = dataclasses.replace(manifest, version=version)
        files_lib.write_json(os.path.join(partial, runtimes.MANIFEST), manifest.as_json())
        os.rename(partial, target)
    return target
