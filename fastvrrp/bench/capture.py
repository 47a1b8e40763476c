"""Packet capture in a lab namespace with tcpdump, read back with the pcap reader.

    cap = lab.capture(lab.ns("sw"), "br0")          # returns once tcpdump listens
    adverts = cap.wait_frames(3, timeout=10)          # polls the -U written file
    frames = cap.stop()                               # everything captured

`start()` returns only after tcpdump printed "listening on" (its socket and
filter are in place), so nothing sent afterwards is missed.
"""

import os
import select
import shutil
import signal
import subprocess
import time

from .pcap import read_pcap
from .waitfor import wait_for

VRRP_FILTER = "ip proto 112 or ip6 proto 112"


class CaptureError(RuntimeError):
    """tcpdump could not start, or stopped on its own."""


def tcpdump_path():
    path = shutil.which("tcpdump") or next(
        (p for p in ("/usr/bin/tcpdump", "/usr/sbin/tcpdump") if os.access(p, os.X_OK)), None)
    if path is None:
        raise CaptureError("tcpdump is not installed (Debian: apt-get install tcpdump)")
    return path


class Capture:
    """tcpdump -i IFNAME -w PATH -U FILTER, run through `lab` (anything with popen/stop)."""

    def __init__(self, lab, ns, ifname, path, bpf=VRRP_FILTER):
        self.lab, self.ns, self.ifname, self.path, self.bpf = lab, ns, ifname, path, bpf
        self.proc = None
        self.stderr = ""
        self._frames = None

    def start(self, timeout=10.0):
        argv = [tcpdump_path(), "-i", self.ifname, "-w", self.path, "-U", "-n",
                "-Z", "root", "--immediate-mode"]
        if self.bpf:
            argv.append(self.bpf)
        self.proc = self.lab.popen(self.ns, argv, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            self._await_listening(timeout)
        except BaseException:
            self.lab.stop(self.proc, grace=1.0)
            self.proc.stderr.close()
            raise
        return self

    def _await_listening(self, timeout):
        fd = self.proc.stderr.fileno()
        deadline = time.monotonic() + timeout
        buf = b""
        while b"listening on" not in buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CaptureError("tcpdump on %s in %s did not start listening within %.3gs; "
                                   "stderr: %r" % (self.ifname, self.ns, timeout, buf.decode()))
            readable, _, _ = select.select([fd], [], [], remaining)
            if readable:
                chunk = os.read(fd, 4096)
                if not chunk:
                    self.proc.wait()
                    raise CaptureError("tcpdump on %s in %s exited (status %s): %s"
                                       % (self.ifname, self.ns, self.proc.returncode,
                                          buf.decode(errors="replace").strip()))
                buf += chunk
        self.stderr = buf.decode(errors="replace")

    def frames(self):
        """Frames captured so far (all of them once stopped)."""
        if self._frames is not None:
            return list(self._frames)
        return self._read()

    def _read(self):
        try:
            return read_pcap(self.path)
        except FileNotFoundError:
            return []  # tcpdump creates the file when it opens the interface

    def wait_frames(self, count, *, match=None, timeout=10.0):
        """Wait until `count` frames (those where match(frame) is true) were captured."""
        def enough():
            if self._frames is None and self.proc is not None and self.proc.poll() is not None:
                raise CaptureError("tcpdump on %s in %s exited (status %s) while waiting"
                                   % (self.ifname, self.ns, self.proc.returncode))
            got = [f for f in self.frames() if match is None or match(f)]
            return got if len(got) >= count else None
        return wait_for(enough, timeout, what="%d frame(s) on %s in %s" % (count, self.ifname, self.ns))

    def stop(self):
        """Stop tcpdump (SIGINT flushes the file) and return every captured frame."""
        if self._frames is not None:
            return list(self._frames)
        if self.proc is not None:
            self.lab.stop(self.proc, sig=signal.SIGINT, grace=5.0)
            try:
                self.stderr += self.proc.stderr.read().decode(errors="replace")
            except (OSError, ValueError):
                pass
            self.proc.stderr.close()
        self._frames = self._read()
        return list(self._frames)

