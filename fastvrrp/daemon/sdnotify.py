"""systemd's readiness protocol (sd_notify(3)), by hand, no dependency.

    notifier = Notifier.from_environ()      # reads and unsets $NOTIFY_SOCKET
    notifier.ready(status="3 VRRP instances")   # READY=1 + MAINPID
    notifier.reloading()                     # RELOADING=1 + MONOTONIC_USEC
    notifier.stopping()                      # STOPPING=1
    notifier.errno(2)                        # ERRNO=2 (fatal error)

The protocol: one AF_UNIX datagram per notification, newline-separated
`KEY=VALUE` lines, sent to the path in $NOTIFY_SOCKET, or, when it starts
with `@`, to that name in the abstract namespace (the `@` becomes a NUL).
systemd accepts it from the unit's main process (NotifyAccess=main).

keepalived 2.2.7 sends `READY=1\\nMAINPID=<pid>` once the configuration is
read and the VRRP process runs, `RELOADING=1` when a reload starts and READY
again when it ends, `STOPPING=1` on shutdown and `ERRNO=<n>` on a fatal
error (lib/systemd.c; observed in a namespace with a fake systemd).
fastvrrp sends the same, with MONOTONIC_USEC after RELOADING=1 (which
systemd ≥ 253 needs for Type=notify-reload) and an optional STATUS= line.
Deliberate difference: keepalived only notifies when its parent is pid 1
named systemd; fastvrrp notifies whenever $NOTIFY_SOCKET is set, as
sd_notify(3) does (the variable is only set by a service manager that wants
to hear).

Nothing here raises: a notification that cannot be sent returns False and
the reason is kept in `last_error` (systemd not listening must not stop a
router).  $NOTIFY_SOCKET is removed from the environment so that the scripts
the daemon runs do not inherit it (sd_notify's unset_environment).
"""

from __future__ import annotations

import os
import socket
import time
from typing import Optional, Union

ENV = "NOTIFY_SOCKET"
SEND_TIMEOUT_S = 2.0


def parse_address(value: str) -> Union[str, bytes]:
    """$NOTIFY_SOCKET -> a socket address: '/path' stays a path, '@name' is the
    abstract name b'\\0name'.  ValueError for anything else (systemd's vsock
    form `vsock:CID:PORT` included: not supported)."""
    if not value:
        raise ValueError("NOTIFY_SOCKET is empty")
    if value.startswith("/"):
        return value
    if value.startswith("@") and len(value) > 1:
        return b"\0" + value[1:].encode()
    raise ValueError("unsupported NOTIFY_SOCKET address %r (want /path or @abstract)" % value)


def format_state(fields) -> bytes:
    """[(KEY, value), ...] -> b'KEY=value\\n...' (no trailing newline, as
    keepalived sends).  Newlines in a value would start a new assignment:
    they become spaces."""
    lines = []
    for key, value in fields:
        if not key or "=" in key or "\n" in key:
            raise ValueError("bad sd_notify key %r" % (key,))
        lines.append("%s=%s" % (key, str(value).replace("\n", " ")))
    return "\n".join(lines).encode("utf-8", "replace")


class Notifier:
    """Sends sd_notify datagrams to one address; disabled when None."""

    def __init__(self, address: Optional[Union[str, bytes]]):
        self.address = address
        self.last_error: Optional[str] = None
        self._sock: Optional[socket.socket] = None

    @classmethod
    def from_environ(cls, environ=None, unset: bool = True) -> "Notifier":
        """The notifier $NOTIFY_SOCKET asks for (disabled when unset or bad;
        a bad value leaves its reason in `last_error`)."""
        env = os.environ if environ is None else environ
        value = env.get(ENV)
        if unset and value is not None:
            env.pop(ENV, None)
        if value is None:
            return cls(None)
        try:
            return cls(parse_address(value))
        except ValueError as exc:
            notifier = cls(None)
            notifier.last_error = str(exc)
            return notifier

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *fields) -> bool:
        """Send one datagram of (KEY, value) pairs; True when it left."""
        if self.address is None:
            return False
        data = format_state(fields)
        try:
            if self._sock is None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                sock.settimeout(SEND_TIMEOUT_S)
                self._sock = sock
            self._sock.sendto(data, self.address)
        except OSError as exc:
            self.last_error = "sd_notify to %r failed: %s" % (self.address, exc)
            self.close()
            return False
        self.last_error = None
        return True

    # the notifications keepalived sends ------------------------------

    def ready(self, status: Optional[str] = None, pid: Optional[int] = None) -> bool:
        return self._send_with_status(status, ("READY", 1),
                                      ("MAINPID", os.getpid() if pid is None else pid))

    def reloading(self, status: Optional[str] = None) -> bool:
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self._send_with_status(status, ("RELOADING", 1), ("MONOTONIC_USEC", usec))

    def stopping(self, status: Optional[str] = None) -> bool:
        return self._send_with_status(status, ("STOPPING", 1))

    def status(self, text: str) -> bool:
        return self.send(("STATUS", text))

    def errno(self, code: int, status: Optional[str] = None) -> bool:
        return self._send_with_status(status, ("ERRNO", int(code)))

    def _send_with_status(self, status: Optional[str], *fields) -> bool:
        """`fields`, then STATUS=`status` when there is one."""
        if status:
            fields += (("STATUS", status),)
        return self.send(*fields)

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
