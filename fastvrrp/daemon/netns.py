"""Entering the config's network namespace (keepalived set_namespaces).

    enter_netns("blue")      # setns(2) into /run/netns/blue; OSError when it cannot
"""

from __future__ import annotations

import ctypes
import os

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000


def enter_netns(name: str) -> None:
    """setns(2) into /run/netns/NAME (keepalived set_namespaces); OSError."""
    if not name or "/" in name or name in (".", ".."):
        raise OSError(22, "invalid network namespace name %r" % name)
    fd = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY | os.O_CLOEXEC)
    try:
        if hasattr(os, "setns"):
            os.setns(fd, CLONE_NEWNET)
        else:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)


__all__ = ["CLONE_NEWNET", "NETNS_DIR", "enter_netns"]
