"""Writing files so that a crash or `kill -9` never leaves one half-written, and one writer at a
time: folder locks, and the removal of what dead writers left behind."""

import contextlib
import datetime
import json
import os
import shutil
import socket
import sys
import tempfile

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the folders are unlocked there
    fcntl = None


def atomic_write(path, write) -> None:
    """Calls `write(temporary path)` beside `path`, then renames the result onto `path`.

    The file's bytes reach the disk before the rename, and the rename before this returns
    (`fsync` of the file, then of its folder): after a crash or a power cut, `path` holds the
    old file or the new one, whole, never an empty or a half-written one.

    Example:
        >>> atomic_write("model.keras", model.save)  # doctest: +SKIP
    """
    directory = os.path.dirname(os.fspath(path)) or "."
    fd, partial = tempfile.mkstemp(
        dir=directory, prefix=f".partial-{os.getpid()}-", suffix=os.path.basename(path)
    )
    os.close(fd)
    try:
        write(partial)
        os.chmod(partial, 0o644)  # mkstemp makes files private
        _fsync(partial)
        os.replace(partial, path)
        _fsync_folder(directory)
    except OSError as error:  # a full disk, a file size limit: name the file it was writing
        if error.filename is None:
            error.filename = os.fspath(path)
        raise
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(path):
    """Makes a rename in `path` durable, where the platform can (not on Windows, nor on
    filesystems that refuse to sync a folder)."""
    try:
        _fsync(path)
    except OSError:
        pass


def write_json(path, value) -> None:
    """`value` as indented JSON at `path`, atomically."""

    def write(partial):
        with open(partial, "w") as file:
            json.dump(value, file, indent=2)

    atomic_write(path, write)


def read_json(path, default=None):
    """The JSON at `path` (`default` where there is no file), or a ValueError that names the file:
    files written here are atomic, so a damaged one was damaged elsewhere (a full disk, an edit)."""
    if default is not None and not os.path.exists(path):
        return default
    try:
        with open(path) as file:
            return json.load(file)
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{path} is damaged ({error}): restore it, or start afresh in another folder."
        ) from None


class LockedError(OSError):
    """A folder another process is writing."""


@contextlib.contextmanager
def exclusive(path, what: str, *, wait: bool = False):
    """Holds an exclusive lock on the file `path` (created if needed) for the block.

    The lock dies with its process (`flock`), so a killed writer never leaves a folder locked.
    Without `wait`, a lock held elsewhere raises `LockedError` at once, naming the holder (its
    process, host, start time and command, which the holder writes into the file).

    Example:
        >>> with exclusive("runs/resnet20/.lock", "run folder runs/resnet20"):  # doctest: +SKIP
        ...     train_there()
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                raise _locked(what, fd) from None
        started = datetime.datetime.now().isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(
            fd,
            f"process {os.getpid()} on {socket.gethostname()} since {started} "
            f"({' '.join(sys.argv)})".encode(),
            0,
        )
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


def _locked(what, fd):
    holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "another process"
    return LockedError(
        f"{what} is in use by {holder}. "
        "Wait for it to finish or stop it; a killed process releases it."
    )


def check_unlocked(path, what: str) -> None:
    """Raises `LockedError` naming the holder if another process holds the lock `path`: a probe
    that takes and drops it, so that a second writer is refused before any slow start-up."""
    if fcntl is None or not os.path.exists(path):
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _locked(what, fd) from None
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def remove_stale(folder, prefix: str) -> list[str]:
    """Deletes the entries of `folder` named `<prefix><pid>-*` whose process no longer runs on this
    host (what a killed writer left behind); returns their paths. Entries of live processes, and
    names without a process id, are left alone."""
    removed = []
    if not os.path.isdir(folder):
        return removed
    for name in os.listdir(folder):
        pid = name[len(prefix) :].split("-", 1)[0] if name.startswith(prefix) else ""
        if pid.isdigit() and not _alive(int(pid)):
            path = os.path.join(folder, name)
            shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.remove(path)
            removed.append(path)
    return removed
