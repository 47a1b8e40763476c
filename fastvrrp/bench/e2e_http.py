"""HTTP behind the VIP, for the failover bench: who serves, and since when.

Each router runs Python's own `http.server` (the lightest thing to start:
no config, no package) serving one page, its role name.  A client in a third
namespace asks http://VIP/ over and over:

    python -m fastvrrp.bench.e2e_http probe VIP [--slow 0.05] [--fast 0.001]

It starts a new connection every `slow` seconds (or every `fast` seconds
after a "fast" line on stdin, until "slow"), several in flight at once,
non-blocking, each given up after --timeout; for every complete reply it
prints "<time.monotonic_ns()> <page>" and flushes.  So after a failover the
first reply from the new master is seen within `fast` of it being possible,
though the connections still aimed at the dead master hang.

The bench side: `Servers(e2e).start()` and `Prober(e2e, vip).start()`;
`prober.first(page, after_ns)` is the time of the first reply from `page`.
"""

import argparse
import errno
import os
import selectors
import socket
import subprocess
import sys
import threading
import time

from . import netns
from .waitfor import WaitTimeout, wait_for

PORT = 80
REQUEST = b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n"


# -- the probe program (runs in the client namespace) ---------------------------------
def probe(vip, port, slow, fast, timeout):
    sel = selectors.DefaultSelector()
    stdin = sys.stdin.buffer.raw
    os.set_blocking(stdin.fileno(), False)
    sel.register(stdin, selectors.EVENT_READ, None)
    period = slow
    next_start = time.monotonic()
    conns = {}                        # socket -> [started (s), reply bytes]
    out = sys.stdout
    pending = b""
    while True:
        now = time.monotonic()
        wait = max(0.0, next_start - now)
        if conns:
            wait = min(wait, max(0.0, min(c[0] for c in conns.values()) + timeout - now))
        for key, events in sel.select(wait):
            sock = key.fileobj
            if sock is stdin:
                data = stdin.read()
                if not data:
                    return 0                      # the bench went away
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    if line.strip() == b"fast":
                        period = fast
                        next_start = time.monotonic()
                    elif line.strip() == b"slow":
                        period = slow
                continue
            state = conns.get(sock)
            if state is None:
                continue
            if events & selectors.EVENT_WRITE and not state[2]:
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    _close(sel, conns, sock)
                    continue
                try:
                    sock.send(REQUEST)
                except OSError:
                    _close(sel, conns, sock)
                    continue
                state[2] = True
                sel.modify(sock, selectors.EVENT_READ)
                continue
            try:
                chunk = sock.recv(4096)
            except OSError:
                _close(sel, conns, sock)
                continue
            if chunk:
                state[1] += chunk
                continue
            t_ns = time.monotonic_ns()
            head, _, body = bytes(state[1]).partition(b"\r\n\r\n")
            _close(sel, conns, sock)
            if head.startswith(b"HTTP/") and b" 200 " in head.split(b"\r\n", 1)[0]:
                out.write("%d %s\n" % (t_ns, body.decode("ascii", "replace").strip()))
                out.flush()
        now = time.monotonic()
        for sock in [s for s, c in conns.items() if now - c[0] > timeout]:
            _close(sel, conns, sock)
        if now >= next_start:
            next_start = now + period
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            code = sock.connect_ex((vip, port))
            if code not in (0, errno.EINPROGRESS):
                sock.close()
                continue
            conns[sock] = [now, bytearray(), False]
            sel.register(sock, selectors.EVENT_WRITE)


def _close(sel, conns, sock):
    sel.unregister(sock)
    del conns[sock]
    sock.close()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m fastvrrp.bench.e2e_http")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("probe", help="request http://VIP/ repeatedly; print each reply")
    p.add_argument("vip")
    p.add_argument("--port", type=int, default=PORT)
    p.add_argument("--slow", type=float, default=0.05, help="seconds between attempts")
    p.add_argument("--fast", type=float, default=0.001,
                   help="seconds between attempts after a 'fast' line on stdin")
    p.add_argument("--timeout", type=float, default=0.2, help="give up an attempt after (s)")
    args = ap.parse_args(argv)
    if not (0 < args.fast <= args.slow and args.timeout > 0):
        ap.error("need 0 < --fast <= --slow and --timeout > 0")
    return probe(args.vip, args.port, args.slow, args.fast, args.timeout)


# -- the bench side --------------------------------------------------------------------
class HttpError(RuntimeError):
    """A server or the prober did not come up."""


class Servers:
    """`python -m http.server` on each router, serving its role name."""

    def __init__(self, e2e, roles=("master", "backup")):
        self.e2e, self.roles = e2e, roles
        self.procs = {}

    def start(self, timeout=15.0):
        for role in self.roles:
            root = self.e2e.lab.path("www-%s" % role)
            os.makedirs(root, exist_ok=True)
            with open(os.path.join(root, "index.html"), "w") as fh:
                fh.write(role + "\n")
            self.procs[role] = self.e2e.lab.popen(
                role, [sys.executable, "-m", "http.server", str(PORT), "--bind", "0.0.0.0",
                       "--directory", root],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for role in self.roles:     # listening: a connect from the router's own namespace
            address = self.e2e.links[role][0].ip4
            try:
                wait_for(lambda: self._accepts(role, address), timeout,
                         what="the HTTP server on the %s" % role)
            except WaitTimeout as exc:
                raise HttpError(str(exc)) from None
        return self

    def _accepts(self, role, address):
        if self.procs[role].poll() is not None:
            raise HttpError("the HTTP server on the %s exited (%s)"
                            % (role, self.procs[role].returncode))
        sock = netns.socket_in(self.e2e.ns(role), socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(1.0)
            return sock.connect_ex((address, PORT)) == 0
        finally:
            sock.close()


class Prober:
    """The probe program in the client namespace; replies collected by a thread."""

    def __init__(self, e2e, vip):
        self.e2e, self.vip = e2e, vip
        self.replies = []           # (monotonic ns, page)
        self._cond = threading.Condition()
        self.proc = None
        self._thread = None

    def start(self):
        self.proc = self.e2e.lab.popen(
            "client", [sys.executable, "-m", "fastvrrp.bench.e2e_http", "probe", self.vip],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._thread = threading.Thread(target=self._read, name="bench-http-probe", daemon=True)
        self._thread.start()
        return self

    def _read(self):
        for raw in self.proc.stdout:
            parts = raw.decode("ascii", "replace").split()
            if len(parts) == 2 and parts[0].isdigit():
                with self._cond:
                    self.replies.append((int(parts[0]), parts[1]))
                    self._cond.notify_all()

    def _say(self, word):
        try:
            self.proc.stdin.write(word + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise HttpError("the HTTP prober exited (%s)" % self.proc.poll()) from None

    def fast(self):
        self._say(b"fast")

    def slow(self):
        self._say(b"slow")

    def first(self, page, after_ns):
        """Monotonic ns of the first reply from `page` at or after after_ns, or None."""
        with self._cond:
            for t_ns, p in self.replies:
                if t_ns >= after_ns and p == page:
                    return t_ns
        return None

    def wait_first(self, page, after_ns, timeout):
        """Like first(), waiting up to `timeout` s for it (on the reader's notifications)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for t_ns, p in self.replies:
                    if t_ns >= after_ns and p == page:
                        return t_ns
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.proc.poll() is not None:
                    return None
                self._cond.wait(remaining)

    def stop(self):
        if self.proc is not None and self.proc in self.e2e.lab.processes():
            with_stdin = self.proc.stdin
            self.e2e.lab.stop(self.proc, grace=2.0)
            with_stdin.close()
        if self._thread is not None:
            self._thread.join(2.0)


if __name__ == "__main__":
    sys.exit(main())
