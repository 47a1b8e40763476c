"""track_file: a number read from a file, followed with inotify (keepalived 2.2.7).

keepalived (trackers/track_file.c; reference §2.5):

- the file holds a number, read as `strtol(buf, NULL, 0)` from its first
  127 bytes: leading white space, a sign, `0x` hex or `0` octal, and any
  trailing junk ignored; a missing, unreadable or empty file counts as 0; a
  number outside [INT32_MIN, INT32_MAX + 1] (or beyond a C long) is logged
  ("Invalid number N read from PATH - ignoring") and the previous value kept;
- the file's *directory* is watched with inotify, so a file that does not
  exist yet is picked up when it appears; a delete or a move away sets the
  value to 0 at once, a close after writing or a move into place re-reads it;
- the path is resolved with realpath when the tracker starts (a symlinked
  file is followed to its target's directory);
- `init_file [VAL] [overwrite]` writes VAL (default 0) as "%d\\n" when the file
  does not exist, or also over an existing regular file with `overwrite`
  (never on a reload), through a private temporary file renamed into place.

What the value does to an instance (value × weight, clamped, FAULT) is
aggregate.py's business; this module only reports values through
`on_change(name, old, new)`.

Deliberate differences from 2.2.7: a file changed by a writer that keeps it
open (IN_MODIFY without IN_CLOSE_WRITE) and a file made by `ln` (IN_CREATE
only) are re-read after a short settle time (`settle_s`, default 0.1 s) instead
of being missed; an inotify queue overflow re-reads every file instead of
being ignored; a watched directory that is removed or moved is logged and its
files read as 0 (2.2.7 silently stops seeing changes).
"""

from __future__ import annotations

import ctypes
import logging
import os
import stat
import struct
import tempfile
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from .registry import by_name, lookup, report_change

log = logging.getLogger("fastvrrp.track.files")

ChangeCallback = Callable[[str, int, int], None]

READ_SIZE = 127                 # keepalived reads sizeof(buf) - 1 = 127 bytes
INT32_MIN = -(2 ** 31)
INT32_MAX = 2 ** 31 - 1
LONG_MIN = -(2 ** 63)           # strtol's range on LP64 Linux
LONG_MAX = 2 ** 63 - 1
SETTLE_S = 0.1

# inotify(7)
IN_MODIFY = 0x00000002
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC

WATCH_MASK = (IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_CREATE | IN_MODIFY
              | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
_EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (+ name)

# ----------------------------------------------------------------- the number


_C_SPACE = frozenset(b" \t\n\v\f\r")
_DIGITS = {8: frozenset(b"01234567"), 10: frozenset(b"0123456789"),
           16: frozenset(b"0123456789abcdefABCDEF")}


def strtol0(data: bytes) -> tuple[int, bool]:
    """C `strtol(data, NULL, 0)` on LP64 glibc (C locale): (value, out_of_range).

    The string ends at the first NUL.  No digits gives 0; an overflow gives
    LONG_MAX / LONG_MIN with out_of_range True (errno ERANGE).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("strtol0 takes bytes, not %s" % type(data).__name__)
    data = bytes(data)
    nul = data.find(b"\0")
    if nul >= 0:
        data = data[:nul]
    n = len(data)
    i = 0
    while i < n and data[i] in _C_SPACE:
        i += 1
    negative = False
    if i < n and data[i] in b"+-":
        negative = data[i] == 0x2D
        i += 1
    base = 10
    if i < n and data[i] == 0x30:                       # "0"
        if i + 2 < n and data[i + 1] in b"xX" and data[i + 2] in _DIGITS[16]:
            base = 16
            i += 2
        else:
            base = 8                                    # the 0 is itself an octal digit
    digits = _DIGITS[base]
    start = i
    while i < n and data[i] in digits:
        i += 1
    if i == start:
        return 0, False
    magnitude = int(data[start:i], base)
    if negative:
        if magnitude > -LONG_MIN:
            return LONG_MIN, True
        return -magnitude, False
    if magnitude > LONG_MAX:
        return LONG_MAX, True
    return magnitude, False


def parse_value(data: bytes) -> Optional[int]:
    """The track-file value of `data` as keepalived reads it, or None when
    keepalived ignores it (out of range: the previous value stays)."""
    if not data:
        return 0
    value, overflow = strtol0(data)
    if overflow or value < INT32_MIN or value > INT32_MAX + 1:
        return None
    return value


def read_value(path: str) -> tuple[Optional[int], int]:
    """Read `path` as keepalived does: (value or None if invalid, the raw strtol result).

    A file that cannot be opened or read, or is empty, is 0.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return 0, 0
    try:
        data = os.read(fd, READ_SIZE)
    except OSError:
        data = b""
    finally:
        os.close(fd)
    raw = strtol0(data)[0] if data else 0
    return parse_value(data), raw


# ----------------------------------------------------------------- the files


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One `track_file NAME { file PATH; init_file [VAL] [overwrite] }`."""
    name: str
    path: str
    init_file: bool = False
    init_value: int = 0
    init_overwrite: bool = False

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("track_file name must be a non-empty string, not %r" % (self.name,))
        if not isinstance(self.path, str) or not self.path or "\0" in self.path:
            raise ValueError("track_file %s: file must be a non-empty path, not %r"
                             % (self.name, self.path))
        if isinstance(self.init_value, bool) or not isinstance(self.init_value, int) \
                or not INT32_MIN <= self.init_value <= INT32_MAX:
            raise ValueError("track_file %s: init_file value must be a 32-bit integer, not %r"
                             % (self.name, self.init_value))


def file_spec_from_config(tf) -> FileSpec:
    """A FileSpec from a config model `TrackFileDef` (fastvrrp.config.model)."""
    return FileSpec(tf.name, tf.path, bool(tf.init_file), int(tf.init_value),
                    bool(tf.init_overwrite))


def initialise_file(spec: FileSpec, *, reload: bool = False) -> Optional[str]:
    """`init_file`: write the initial value if keepalived would; the error text, or None."""
    if not spec.init_file:
        return None
    try:
        st = os.stat(spec.path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        return "Unable to initialise track file %s (%s)" % (spec.name, exc.strerror)
    if st is not None:
        if not spec.init_overwrite:
            return None                     # exists: only created when missing
        if not stat.S_ISREG(st.st_mode):
            return "Cannot initialise track file %s - it is not a regular file" % spec.name
        if reload:
            return None                     # never overwritten on a reload
    directory, base = os.path.split(spec.path)
    try:
        # keepalived fopen_safe: a 0600 temporary file renamed over the target.
        fd, tmp = tempfile.mkstemp(prefix=base, dir=directory or ".")
    except OSError as exc:
        return "Unable to initialise track file %s (%s)" % (spec.name, exc.strerror)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write("%d\n" % spec.init_value)
        os.rename(tmp, spec.path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return "Unable to initialise track file %s (%s)" % (spec.name, exc.strerror)
    return None


class Inotify:
    """inotify_init1 / inotify_add_watch / inotify_rm_watch through ctypes on libc."""

    _libc = None

    @classmethod
    def _lib(cls):
        if cls._libc is None:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.inotify_init1.argtypes = [ctypes.c_int]
            libc.inotify_init1.restype = ctypes.c_int
            libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
            libc.inotify_add_watch.restype = ctypes.c_int
            libc.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
            libc.inotify_rm_watch.restype = ctypes.c_int
            cls._libc = libc
        return cls._libc

    def __init__(self):
        fd = self._lib().inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            code = ctypes.get_errno()
            raise OSError(code, "inotify_init1: %s" % os.strerror(code))
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def add_watch(self, path: str, mask: int) -> int:
        wd = self._lib().inotify_add_watch(self.fd, os.fsencode(path), mask)
        if wd < 0:
            code = ctypes.get_errno()
            raise OSError(code, "inotify_add_watch %s: %s" % (path, os.strerror(code)))
        return wd

    def rm_watch(self, wd: int) -> None:
        self._lib().inotify_rm_watch(self.fd, wd)   # EINVAL: already gone, fine

    def read_events(self) -> list[tuple[int, int, str]]:
        """Every queued event as (wd, mask, name); [] when none is queued."""
        events = []
        while True:
            try:
                buf = os.read(self.fd, 64 * 1024)
            except (BlockingIOError, InterruptedError):
                return events
            if not buf:
                return events
            offset = 0
            while offset + _EVENT.size <= len(buf):
                wd, mask, _cookie, length = _EVENT.unpack_from(buf, offset)
                raw = buf[offset + _EVENT.size: offset + _EVENT.size + length]
                events.append((wd, mask, os.fsdecode(raw.split(b"\0", 1)[0])))
                offset += _EVENT.size + length

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@dataclass(frozen=True, slots=True)
class FileStatus:
    """A snapshot for the status API and the data dump."""
    name: str
    path: str               # as configured
    watched_path: str       # after realpath, "" when the file could not be tracked
    value: int
    available: bool
    error: str


class _Tracked:
    __slots__ = ("spec", "path", "directory", "part", "value", "available", "error", "timer")

    def __init__(self, spec: FileSpec):
        self.spec = spec
        self.path = ""
        self.directory = ""
        self.part = ""
        self.value = 0
        self.available = False
        self.error = ""
        self.timer = None


def _resolve(spec: FileSpec) -> tuple[str, str, bool]:
    """keepalived init_track_files: (resolved path, error, exists)."""
    try:
        return os.path.realpath(spec.path, strict=True), "", True
    except FileNotFoundError:
        pass
    except OSError:
        return "", "track file %s is not accessible - ignoring" % spec.name, False
    directory, base = os.path.split(spec.path)
    try:
        resolved = os.path.realpath(directory or ".", strict=True)
    except OSError:
        resolved = None
    if resolved is None or not os.path.isdir(resolved) or not base:
        return "", "Track file directory for %s does not exist - removing" % spec.name, False
    return os.path.join(resolved, base), "", False


class FileTracker:
    """Follows every FileSpec with one inotify descriptor on the loop.

    `start()` (inside a running loop, or with `loop=`) initialises the files,
    resolves their paths, adds the directory watches and reads the values;
    then `on_change(name, old, new)` reports each change.  A file whose
    directory does not exist cannot be tracked: it stays at 0 and is listed in
    `unavailable` (keepalived removes such a tracker from its instances).
    """

    def __init__(self, specs: Iterable[FileSpec], *, loop=None,
                 on_change: Optional[ChangeCallback] = None, settle_s: float = SETTLE_S):
        if isinstance(settle_s, bool) or not isinstance(settle_s, (int, float)) or settle_s < 0:
            raise ValueError("settle_s must be a number of seconds >= 0, not %r" % (settle_s,))
        self._files: dict[str, _Tracked] = by_name(specs, FileSpec, "track_file", _Tracked)
        self._loop = loop
        self._on_change = on_change
        self._settle_s = float(settle_s)
        self._inotify: Optional[Inotify] = None
        self._dirs: dict[int, dict[str, list[_Tracked]]] = {}   # wd -> file part -> files
        self._started = False
        self.overflows = 0

    # ------------------------------------------------------------ queries

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._files)

    def value(self, name: str) -> int:
        return self._get(name).value

    def values(self) -> dict[str, int]:
        return {name: t.value for name, t in self._files.items()}

    @property
    def unavailable(self) -> frozenset:
        """Files that could not be tracked (their directory does not exist, ...)."""
        return frozenset(name for name, t in self._files.items() if not t.available)

    def status(self, name: str) -> FileStatus:
        t = self._get(name)
        return FileStatus(name, t.spec.path, t.path, t.value, t.available, t.error)

    def _get(self, name: str) -> _Tracked:
        return lookup(self._files, name, "no track_file named %r")

    # ------------------------------------------------------------ lifecycle

    def start(self, *, reload: bool = False) -> None:
        """Initialise, watch and read every file (reload: init_file never overwrites)."""
        if self._started:
            raise RuntimeError("file tracker already started")
        if self._loop is None:
            import asyncio
            self._loop = asyncio.get_running_loop()
        self._started = True
        for t in self._files.values():
            problem = initialise_file(t.spec, reload=reload)
            if problem:
                log.error("%s", problem)
        if not self._files:
            return
        try:
            self._inotify = Inotify()
        except OSError as exc:
            log.error("Unable to monitor track files: %s", exc)
            for t in self._files.values():
                t.error = "Unable to monitor track files: %s" % exc
            return
        for t in self._files.values():
            path, error, exists = _resolve(t.spec)
            if error:
                log.error("%s", error)
                t.error = error
                continue
            t.path = path
            t.directory, t.part = os.path.split(path)
            try:
                wd = self._inotify.add_watch(t.directory, WATCH_MASK)
            except OSError as exc:
                t.error = "track file %s: cannot watch %s: %s" % (t.spec.name, t.directory,
                                                                   exc.strerror)
                log.error("%s", t.error)
                continue
            self._dirs.setdefault(wd, {}).setdefault(t.part, []).append(t)
            t.available = True
            if exists:
                value, raw = read_value(path)
                if value is None:
                    log.info("Invalid number %d read from %s - ignoring", raw, path)
                else:
                    t.value = value
        self._loop.add_reader(self._inotify.fileno(), self._readable)

    def stop(self) -> None:
        """Stop watching (values keep their last reading)."""
        for t in self._files.values():
            if t.timer is not None:
                t.timer.cancel()
                t.timer = None
        if self._inotify is not None:
            try:
                self._loop.remove_reader(self._inotify.fileno())
            except (ValueError, RuntimeError, OSError):
                pass                     # the loop is already closed
            self._inotify.close()
            self._inotify = None
        self._dirs.clear()

    def resync(self) -> None:
        """Re-read every tracked file now."""
        for t in self._files.values():
            if t.available:
                self._read(t)

    # ------------------------------------------------------------ events

    def _readable(self) -> None:
        if self._inotify is None:
            return
        try:
            events = self._inotify.read_events()
        except OSError as exc:
            log.error("inotify read() returned error %d - %s", exc.errno or 0, exc.strerror)
            return
        for wd, mask, name in events:
            if mask & IN_Q_OVERFLOW:
                self.overflows += 1
                log.warning("inotify queue overflowed: re-reading every track file")
                self.resync()
                continue
            files = self._dirs.get(wd)
            if files is None:
                continue
            if mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED):
                self._directory_gone(wd, mask)
                continue
            if mask & IN_ISDIR:
                continue
            for t in files.get(name, ()):
                self._event(t, mask)

    def _event(self, t: _Tracked, mask: int) -> None:
        if mask & (IN_DELETE | IN_MOVED_FROM):
            self._cancel_settle(t)
            self._set(t, 0)            # gone: as though the value were 0 (keepalived)
        elif mask & (IN_CLOSE_WRITE | IN_MOVED_TO):
            self._cancel_settle(t)
            self._read(t)
        elif mask & (IN_CREATE | IN_MODIFY) and t.timer is None:
            # Still being written: read once the writer is likely done (a
            # close_write or move cancels this and reads at once).
            t.timer = self._loop.call_later(self._settle_s, self._settled, t)

    def _settled(self, t: _Tracked) -> None:
        t.timer = None
        if t.available:
            self._read(t)

    def _cancel_settle(self, t: _Tracked) -> None:
        if t.timer is not None:
            t.timer.cancel()
            t.timer = None

    def _directory_gone(self, wd: int, mask: int) -> None:
        files = self._dirs.pop(wd, {})
        if mask & IN_MOVE_SELF and self._inotify is not None:
            self._inotify.rm_watch(wd)
        for ts in files.values():
            for t in ts:
                self._cancel_settle(t)
                t.available = False
                t.error = "track file %s: directory %s was %s" % (
                    t.spec.name, t.directory, "moved" if mask & IN_MOVE_SELF else "removed")
                log.error("%s - the file now reads as 0", t.error)
                self._set(t, 0)

    def _read(self, t: _Tracked) -> None:
        value, raw = read_value(t.path)
        if value is None:
            log.info("Invalid number %d read from %s - ignoring", raw, t.path)
            return
        self._set(t, value)

    def _set(self, t: _Tracked, value: int) -> None:
        old = t.value
        if value == old:
            return
        t.value = value
        log.debug("track_file %s: value %d -> %d", t.spec.name, old, value)
        report_change(log, self._on_change, "track_file", t.spec.name, old, value)


__all__ = ["FileSpec", "FileStatus", "FileTracker", "Inotify", "file_spec_from_config",
           "initialise_file", "parse_value", "read_value", "strtol0"]
