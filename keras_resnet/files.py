"""Writing files so that a crash or `kill -9` never leaves one half-written."""

import json
import os
import tempfile


def atomic_write(path, write) -> None:
    """Calls `write(temporary path)` beside `path`, then renames the result onto `path`.

    Example:
        >>> atomic_write("model.keras", model.save)
    """
    directory = os.path.dirname(os.fspath(path)) or "."
    fd, partial = tempfile.mkstemp(dir=directory, prefix=".partial-", suffix=os.path.basename(path))
    os.close(fd)
    try:
        write(partial)
        os.chmod(partial, 0o644)  # mkstemp makes files private
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def write_json(path, value) -> None:
    """`value` as indented JSON at `path`, atomically."""

    def write(partial):
        with open(partial, "w") as file:
            json.dump(value, file, indent=2)

    atomic_write(path, write)
