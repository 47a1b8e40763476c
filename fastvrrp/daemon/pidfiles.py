"""keepalived's pid files (main.c, pidfile.c): where they are, who is running, ours.

    paths = pid_paths(options, namespace, instance)   # -p / -r, or keepalived's defaults
    running_pid(path)                                 # a live pid, or None (stale files removed)
    files = PidFiles(paths, os.getpid())
    files.write()                                     # OSError names the file
    ...
    files.remove()                                    # what write() made, if still ours
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Optional

from .logsetup import PARENT_LOGGER
from .options import Options

log = logging.getLogger(PARENT_LOGGER)             # keepalived's parent: ident Keepalived

RUN_DIR = "/run"                    # keepalived's RUNSTATEDIR on Debian


@dataclass(frozen=True)
class PidPaths:
    main: str                      # -p (keepalived.pid)
    vrrp: str                      # -r (vrrp.pid)
    directories: tuple = ()        # directories to create (and remove when empty)

    def files(self) -> tuple:
        return (self.main,) if self.vrrp == self.main else (self.main, self.vrrp)


def pid_paths(options: Options, namespace: Optional[str], instance: Optional[str],
              run_dir: str = RUN_DIR) -> PidPaths:
    """keepalived's pid file names (main.c, pidfile.c): /run/keepalived.pid and
    /run/vrrp.pid; with `instance` or a namespace, under /run/keepalived/
    (keepalived bind-mounts /run/keepalived/NS there: the same files)."""
    if namespace or instance:
        top = os.path.join(run_dir, "keepalived")
        base = os.path.join(top, namespace) if namespace else top
        suffix = "_" + instance if instance else ""
        dirs = (top, base) if namespace else (top,)
        main = os.path.join(base, "keepalived%s.pid" % suffix)
        vrrp = os.path.join(base, "vrrp%s.pid" % suffix)
    else:
        dirs = ()
        main = os.path.join(run_dir, "keepalived.pid")
        vrrp = os.path.join(run_dir, "vrrp.pid")
    main = options.pid_file or main
    vrrp = options.vrrp_pid_file or vrrp
    needed = tuple(d for d in dirs if any(p.startswith(d + "/") for p in (main, vrrp)))
    return PidPaths(main, vrrp, needed)


def running_pid(path: str) -> Optional[int]:
    """keepalived process_running: the live pid a pid file names, or None.
    A file naming no live process, or unreadable, is removed (and logged)."""
    try:
        with open(path) as fh:
            text = fh.read(64)
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.info("Error reading pid file %s (%s)", path, exc.strerror)
        return None
    try:
        pid = int(text.split()[0])
        if pid <= 0:
            raise ValueError(pid)
    except (ValueError, IndexError):
        log.info("Error reading pid file %s", path)
        _unlink(path)
        return None
    if pid == os.getpid():
        return None        # a file from an earlier boot naming us: stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        log.info("Remove a zombie pid file %s", path)
        _unlink(path)
        return None
    except PermissionError:
        pass               # it exists, it is not ours to signal
    return pid


def write_pid(path: str, pid: int) -> None:
    """keepalived pidfile_write: '<pid>\\n', mode 0644, never through a symlink."""
    old = os.umask(0o022)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o644)
    finally:
        os.umask(old)
    with os.fdopen(fd, "w") as fh:
        fh.write("%d\n" % pid)


def remove_pid(path: str, pid: int) -> None:
    """Remove a pid file, unless it no longer holds our pid."""
    try:
        with open(path) as fh:
            if fh.read(64).strip() != str(pid):
                return
    except OSError:
        return
    _unlink(path)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class PidFiles:
    """The pid files of this run: every file of `paths` gets `pid` (keepalived's
    -p holds the parent's pid, -r the VRRP child's: fastvrrp is both)."""

    def __init__(self, paths: PidPaths, pid: int):
        self.paths = paths
        self.pid = pid
        self._created_dirs: list = []
        self._written: list = []

    def write(self) -> None:
        """Create the missing directories, then write the files; OSError on the
        first failure (remove() undoes what was done)."""
        for directory in self.paths.directories:
            if not os.path.isdir(directory):
                os.mkdir(directory, 0o755)
                self._created_dirs.append(directory)
        for path in self.paths.files():
            write_pid(path, self.pid)
            self._written.append(path)

    def remove(self) -> None:
        """Remove the files written (if they still hold our pid), then the
        directories created, when empty."""
        for path in self._written:
            remove_pid(path, self.pid)
        for directory in reversed(self._created_dirs):
            try:
                os.rmdir(directory)
            except OSError:
                pass


__all__ = ["RUN_DIR", "PidFiles", "PidPaths", "pid_paths", "remove_pid", "running_pid",
           "write_pid"]
