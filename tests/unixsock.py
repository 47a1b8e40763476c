"""AF_UNIX datagram sockets for tests that play syslog or systemd.

    with short_dir("fvl-") as d:                       # AF_UNIX paths are at most 107 bytes
        sock = datagram_socket(os.path.join(d, "log"))  # bound, 5 s receive timeout
"""

import contextlib
import os
import socket
import tempfile


@contextlib.contextmanager
def short_dir(prefix):
    """A fresh directory under /tmp (pytest's tmp_path can be too long for
    AF_UNIX); removed afterwards with the files in it."""
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    yield d
    for name in os.listdir(d):
        os.unlink(os.path.join(d, name))
    os.rmdir(d)


def datagram_socket(address, timeout=5.0):
    """An AF_UNIX datagram socket bound to `address` (a path, or b"\\0name" in
    the abstract namespace), receiving with `timeout` seconds."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(timeout)
    return sock
