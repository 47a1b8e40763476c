"""Going into the background as keepalived does without -n.

    forked = daemonize()
    if isinstance(forked, int):          # the original process: the daemon's start-up code
        return forked
    report = forked                      # the daemon: StartupReport
    ...
    report.send(EXIT_OK, "started")      # the original process exits 0

Fork, setsid, fork again (no controlling tty ever again), chdir /, stdio to
/dev/null.  The original process waits on a pipe until the daemon reports
its start (or failure: it then exits with the daemon's code and prints why).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Optional

from .exitcodes import EXIT_FATAL, EXIT_OK


class StartupReport:
    """How the daemon tells the process that started it how the start went."""

    def __init__(self, fd: Optional[int] = None):
        self.fd = fd

    def send(self, code: int, message: str = "") -> None:
        if self.fd is None:
            return
        try:
            os.write(self.fd, ("%d %s\n" % (code, message.replace("\n", " "))).encode())
        except OSError:
            pass
        finally:
            os.close(self.fd)
            self.fd = None


def daemonize():
    """Fork into the background.  In the original process: wait for the
    daemon's report and return the exit code (int).  In the daemon: return
    the StartupReport to send it with."""
    sys.stdout.flush()
    sys.stderr.flush()
    for handler in logging.getLogger().handlers:
        handler.flush()            # else both processes would write the buffered lines
    rfd, wfd = os.pipe()
    first = os.fork()
    if first:
        os.close(wfd)
        os.waitpid(first, 0)
        return _wait_for_daemon(rfd)
    # the first child: new session, then the daemon is its child (no tty ever again)
    os.close(rfd)
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        os.chdir("/")
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        if null > 2:
            os.close(null)
    except BaseException:
        os._exit(EXIT_FATAL)
    return StartupReport(wfd)


def _wait_for_daemon(rfd: int) -> int:
    chunks = []
    while True:
        try:
            data = os.read(rfd, 4096)
        except InterruptedError:
            continue
        if not data:
            break
        chunks.append(data)
    os.close(rfd)
    text = b"".join(chunks).decode(errors="replace").strip()
    if not text:
        sys.stderr.write("fastvrrp: the daemon exited during start-up (see the log)\n")
        return EXIT_FATAL
    code_text, _, message = text.partition(" ")
    try:
        code = int(code_text)
    except ValueError:
        code, message = EXIT_FATAL, text
    if code != EXIT_OK and message:
        sys.stderr.write("fastvrrp: %s\n" % message)
    return code


__all__ = ["StartupReport", "daemonize"]
