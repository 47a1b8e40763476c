"""/proc as vrrp_track_process reads it: one process's stat line, every live process.

    scan_proc("/proc", cmdline_size=64)   # [ProcInfo(pid, ppid, comm, cmdline)], no zombies
    parse_stat(b"42 (nginx) S 1 ...")    # ("nginx", "S", 1)
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Optional

log = logging.getLogger("fastvrrp.track.processes")


def read_proc(path: str, size: int) -> Optional[bytes]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, size)
    except OSError:
        return None
    finally:
        os.close(fd)


def parse_stat(data: bytes) -> Optional[tuple[str, str, int]]:
    """(comm, state, ppid) from a /proc/PID/stat line, or None if malformed."""
    start = data.find(b"(")
    end = data.rfind(b")")
    if start < 0 or end < start:
        return None
    fields = data[end + 1:].split()
    if len(fields) < 2:
        return None
    try:
        ppid = int(fields[1])
    except ValueError:
        return None
    return os.fsdecode(data[start + 1:end]), fields[0].decode("ascii", "replace"), ppid


@dataclass(frozen=True, slots=True)
class ProcInfo:
    pid: int
    ppid: int
    comm: Optional[str]
    cmdline: Optional[bytes]


def scan_proc(proc: str = "/proc", *, cmdline_size: int = 0) -> list[ProcInfo]:
    """Every live (non-zombie) process: comm and ppid, and the first
    `cmdline_size` bytes of the command line when that is > 0."""
    out = []
    try:
        entries = os.scandir(proc)
    except OSError as exc:
        log.error("cannot scan %s: %s", proc, exc.strerror)
        return out
    with entries:
        for entry in entries:
            name = entry.name
            if not name.isdigit():
                continue
            stat = read_proc("%s/%s/stat" % (proc, name), 512)
            parsed = parse_stat(stat) if stat else None
            if parsed is None or parsed[1] == "Z":
                continue                      # gone, or a zombie (keepalived skips those)
            cmdline = None
            if cmdline_size:
                cmdline = read_proc("%s/%s/cmdline" % (proc, name), cmdline_size)
                if cmdline is None:
                    continue
            out.append(ProcInfo(int(name), parsed[2], parsed[0], cmdline))
    return out


__all__ = ["ProcInfo", "parse_stat", "read_proc", "scan_proc"]
