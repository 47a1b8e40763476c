"""The floor: the fast path's own batch sender and receiver, no protocol logic.

`fastvrrp bench steady` holds every daemon's CPU against what the kernel
itself costs on this machine: the same adverts (same sources, VRIDs, VIPs,
bytes) at the same rate, moved by the compiled fast path (fastvrrp._fastpath)
with nothing else running.

    python -m fastvrrp.bench.e2e_floor send --instances N --advert-int-cs C --src A0 --src A1..
    python -m fastvrrp.bench.e2e_floor recv --instances N --advert-int-cs C

send (in the master's namespace): one IP_HDRINCL socket per link
(fastvrrp.daemon.sockets.open_tx_v4, as the daemon opens them), one fast-path
slot per instance in MASTER with settling on, its Adver_Timer first armed at
start + j * interval / N (spread evenly over the interval); then a loop that
sleeps until the wheel's next deadline and calls tick(): every advert due in
a tick leaves in one sendmmsg per socket, the prebuilt packet patched in C,
the timer re-armed in C (RFC 5798 §6.4.3: the only "logic" left).

recv (in the backup's namespace): one receive socket per link
(open_rx_v4: 224.0.0.18 joined, 8 MB buffer), registered with the fast path
with no slot at all, drained with recvmmsg every millisecond: each packet is
read, parsed and validated, and counted as an unknown VRID.

Each prints "ready" once its sockets are set up, runs until SIGTERM, then
prints one JSON line with the fast path's counters and exits 0.
"""

import argparse
import json
import os
import select
import signal
import subprocess
import sys
import time

MASTER_STATE = 2          # fastvrrp.vrrp.State.MASTER
ADVER_TIMER = 1           # the fast path's timer kind for Adver_Timer
RECV_PERIOD_S = 0.001     # the receiver drains once per (1 ms) wheel tick


class _Stop:
    """Set by SIGTERM / SIGINT; the loops check it between ticks."""

    def __init__(self):
        self.flag = False
        signal.signal(signal.SIGTERM, self.set)
        signal.signal(signal.SIGINT, self.set)

    def set(self, signum, frame):
        self.flag = True


def send(layout, priority, sources):
    from fastvrrp._fastpath import FastPath
    from fastvrrp.daemon.sockets import open_tx_v4
    stop = _Stop()
    escalations = []
    # a tick that wakes late still sends what was due and re-arms from the deadline
    # (late_slack: one interval), so the rate holds exactly
    fp = FastPath(tick_ns=1_000_000, capacity=layout.instances,
                  late_slack_ns=layout.advert_int_ns)
    fp.set_escalation(lambda slot, what, now_ns, arg: escalations.append((slot, what)))
    socks, sids = [], {}
    for k, src in enumerate(sources):
        tx = open_tx_v4("eth%d" % k)
        socks.append(tx)
        sids[k] = (fp.add_socket(tx.fileno(), 4, ifindex=tx.ifindex, receive=False,
                                 check_ttl=False), src)
    start = FastPath.clock() + 10_000_000
    interval = layout.advert_int_ns
    for j in range(layout.instances):
        link, vrid = layout.place(j)
        sid, src = sids[link]
        # RFC 5798 §5.1: the same advert the daemons send (v3, one VIP)
        fp.configure_slot(j, family=4, version=3, vrid=vrid, rx_socket=-1, tx_socket=sid,
                          src=src, addresses=(layout.vip(j),), advert_int_cs=layout.advert_int_cs)
        fp.update_slot(j, state=MASTER_STATE, priority=priority, tx_settle=True)
        fp.arm_timer(j, ADVER_TIMER, start + j * interval // layout.instances)
    print("ready", flush=True)
    clock = FastPath.clock
    while not stop.flag:
        deadline = fp.next_deadline()
        delay = (deadline - clock()) / 1e9 if deadline is not None else 0.01
        if delay > 0:
            time.sleep(delay)
        fp.tick()
    stats = fp.stats()
    stats["escalations_seen"] = len(escalations)
    for s in socks:
        s.close()
    return stats


def recv(layout):
    from fastvrrp._fastpath import FastPath
    from fastvrrp.daemon.sockets import open_rx_v4
    stop = _Stop()
    fp = FastPath(tick_ns=1_000_000, capacity=1)
    socks = []
    for k in range(layout.links):
        rx = open_rx_v4("eth%d" % k)
        socks.append(rx)
        fp.add_socket(rx.fileno(), 4, ifindex=rx.ifindex, receive=True)
    print("ready", flush=True)
    while not stop.flag:
        time.sleep(RECV_PERIOD_S)
        fp.drain()
    stats = fp.stats()
    for s in socks:
        s.close()
    return stats


class FloorError(RuntimeError):
    """A floor program failed to start or to report."""


def _read_line(proc, timeout, what):
    """The next stdout line of `proc` (bytes, stripped), waiting at most `timeout` s."""
    fd = proc.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FloorError("%s: no line within %.0f s" % (what, timeout))
        readable, _, _ = select.select([fd], [], [], remaining)
        if readable:
            chunk = os.read(fd, 4096)
            if not chunk:
                proc.wait()
                raise FloorError("%s exited with status %s before reporting"
                                 % (what, proc.returncode))
            buf += chunk
    line, _, rest = buf.partition(b"\n")
    if rest.strip():
        raise FloorError("%s: unexpected output %r" % (what, rest[:200]))
    return line.strip()


class Floor:
    """Runs the floor's sender (master namespace) and receiver (backup namespace)
    in an E2ELab: start() returns once both have their sockets, stop() returns
    their counters."""

    def __init__(self, e2e):
        self.e2e = e2e
        self.procs = {}

    def _argv(self, role):
        layout = self.e2e.layout
        argv = [sys.executable, "-m", "fastvrrp.bench.e2e_floor", role,
                "--instances", str(layout.instances), "--advert-int-cs", str(layout.advert_int_cs)]
        if role == "send":
            for link in self.e2e.links["master"]:
                argv += ["--src", link.ip4]
        return argv

    def start(self, timeout=30.0):
        for role, node in (("recv", "backup"), ("send", "master")):
            log = open(self.e2e.lab.path("floor-%s.log" % role), "wb")
            try:
                self.procs[role] = self.e2e.lab.popen(node, self._argv(role),
                                                      stdin=subprocess.DEVNULL,
                                                      stdout=subprocess.PIPE, stderr=log)
            finally:
                log.close()
            line = _read_line(self.procs[role], timeout, "the floor %s program" % role)
            if line != b"ready":
                raise FloorError("the floor %s program said %r, not ready" % (role, line))
        return self

    def pid(self, role):
        return self.procs[role].pid

    def stop(self):
        """SIGTERM both; {"send": counters, "recv": counters}."""
        out = {}
        for role in ("send", "recv"):
            proc = self.procs.pop(role, None)
            if proc is None:
                continue
            code = self.e2e.lab.stop(proc, grace=10.0)
            data = proc.stdout.read()
            proc.stdout.close()
            if code != 0:
                raise FloorError("the floor %s program exited with status %s: %s"
                                 % (role, code, self._log(role)))
            try:
                out[role] = json.loads(data.decode().strip().splitlines()[-1])
            except (ValueError, IndexError):
                raise FloorError("the floor %s program printed no counters (%r)"
                                 % (role, data[-200:])) from None
        return out

    def _log(self, role):
        try:
            with open(self.e2e.lab.path("floor-%s.log" % role), errors="replace") as fh:
                return fh.read()[-2000:]
        except FileNotFoundError:
            return ""


def main(argv=None):
    from fastvrrp.bench.e2e_lab import MASTER_PRIORITY, E2EError, Layout
    ap = argparse.ArgumentParser(prog="python -m fastvrrp.bench.e2e_floor",
                                 description="the bench floor: batch send or receive only")
    ap.add_argument("role", choices=("send", "recv"))
    ap.add_argument("--instances", type=int, required=True)
    ap.add_argument("--advert-int-cs", type=int, required=True)
    ap.add_argument("--priority", type=int, default=MASTER_PRIORITY)
    ap.add_argument("--src", action="append", default=[], metavar="ADDR",
                    help="send: the source address of link eth<k>, once per link in order")
    args = ap.parse_args(argv)
    try:
        layout = Layout(args.instances, args.advert_int_cs)
    except E2EError as exc:
        ap.error(str(exc))
    if args.role == "send":
        if len(args.src) != layout.links:
            ap.error("send needs --src once per link (%d), got %d" % (layout.links, len(args.src)))
        stats = send(layout, args.priority, args.src)
    else:
        stats = recv(layout)
    print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
