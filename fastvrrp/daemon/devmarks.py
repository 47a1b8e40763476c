"""A developer's start-up timeline and memory marks: FASTVRRP_MARKS=PATH.

With the variable set, the daemon notes at each step of its life (the
command line parsed, the config read, the engine imported, the engine's
start phases, the start-up burst settled, the stop) the time since the
first mark, its anonymous RSS, the blocks Python has allocated
(sys.getallocatedblocks) and pymalloc's arenas; at exit the marks go to
PATH.<pid>, one line each:

    ms=0.0 rss_anon_kb=12800 blocks=98000 arenas=9 cli
    ms=61.3 rss_anon_kb=20100 blocks=150200 arenas=12 config read
    ...

This is how the start-up and memory profiles of issue 6 were taken: the
time from the first mark to "engine started", and the arenas the start-up
burst leaves behind ("engine started" against "settled"), are what a change
to the start-up path moves.  The benchmarks inherit the environment, so
`FASTVRRP_MARKS=/tmp/m fastvrrp bench startup ...` marks every daemon they
start.  Unset, mark() costs one dictionary lookup; it is never called on
the packet path.
"""

import os
import re
import sys
import time

ENV = "FASTVRRP_MARKS"

_marks = None          # [(ns, tag, rss_anon_kb, blocks, arenas)] once enabled
_path = None
_ARENAS = re.compile(rb"(\d+) arenas \* \d+ bytes/arena")


def enabled() -> bool:
    return _marks is not None


def mark(tag: str) -> None:
    """Note this step (nothing unless FASTVRRP_MARKS is set)."""
    global _marks, _path
    if _marks is None:
        path = os.environ.get(ENV)
        if not path:
            return
        _marks, _path = [], path
        import atexit
        atexit.register(write)
    _marks.append((time.monotonic_ns(), tag, _rss_anon_kb(), sys.getallocatedblocks(),
                   _arenas()))


def write() -> None:
    """The marks so far to PATH.<pid> (at exit; a test may call it)."""
    if not _marks:
        return
    t0 = _marks[0][0]
    lines = ["ms=%.1f rss_anon_kb=%d blocks=%d arenas=%s %s"
             % ((ns - t0) / 1e6, rss, blocks, arenas if arenas is not None else "?", tag)
             for ns, tag, rss, blocks, arenas in _marks]
    try:
        with open("%s.%d" % (_path, os.getpid()), "w") as out:
            out.write("\n".join(lines) + "\n")
    except OSError as exc:
        sys.stderr.write("fastvrrp: cannot write %s marks: %s\n" % (ENV, exc))


def _rss_anon_kb() -> int:
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def _arenas():
    """pymalloc's arenas now: sys._debugmallocstats() prints them on the C
    stderr only, so that descriptor points at a memfd for the call."""
    debug = getattr(sys, "_debugmallocstats", None)
    if debug is None:
        return None
    try:
        sys.stderr.flush()
        fd = os.memfd_create("fastvrrp-marks", os.MFD_CLOEXEC)
    except (AttributeError, OSError):
        return None
    try:
        saved = os.dup(2)
        os.dup2(fd, 2)
        try:
            debug()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        data = os.pread(fd, os.fstat(fd).st_size, 0)
    except OSError:
        return None
    finally:
        os.close(fd)
    found = _ARENAS.search(data)
    return int(found.group(1)) if found else None


__all__ = ["ENV", "enabled", "mark", "write"]
