"""vrrp_track_process: real processes (renamed copies of /bin/sleep, a Python
helper that renames itself and forks) counted through the kernel's proc
connector (we are root in the initial namespaces), or by scanning /proc.

Changes are awaited through on_change.  Where a delayed tracker must be seen
*not* to change yet, an undelayed tracker of the same processes is the
barrier: its change proves the event was handled.
"""

import asyncio
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid

import pytest

from fastvrrp.config import loads
from fastvrrp.track.processes import (ProcessSpec, ProcessTracker, parse_stat, proc_event_filter,
                                      process_spec_from_config, scan_proc)

from track_helpers import run_on

pytestmark = pytest.mark.timeout(60)

WAIT = 10.0

HELPER = r"""
import ctypes, os, sys, time
libc = ctypes.CDLL(None)
children = []
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "name":
        libc.prctl(15, arg.encode(), 0, 0, 0)          # PR_SET_NAME
    elif cmd == "fork":
        pid = os.fork()
        if pid == 0:
            time.sleep(3600)
            os._exit(0)
        children.append(pid)
    elif cmd == "reap":
        for pid in children:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        children.clear()
    sys.stdout.write("ok\n")
    sys.stdout.flush()
"""


def unique(prefix="fv"):
    return prefix + uuid.uuid4().hex[:10]


@pytest.fixture
def procs(tmp_path):
    """Start processes (own process groups); every one is killed at the end."""
    started = []

    class Procs:
        def binary(self, source="/bin/sleep"):
            name = unique()
            path = tmp_path / name
            shutil.copy(source, path)
            return name, str(path)

        def start(self, argv, **kw):
            p = subprocess.Popen(argv, start_new_session=True, **kw)
            started.append(p)
            return p

        def kill(self, p):
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()

        def helper(self):
            p = self.start([sys.executable, "-c", HELPER], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
            return Helper(p)

    yield Procs()
    for p in started:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()


class Helper:
    def __init__(self, proc):
        self.proc = proc

    def say(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline() == "ok\n"


class Run:
    def __init__(self, specs, **kw):
        self.changes = asyncio.Queue()
        self.tracker = ProcessTracker(specs, on_change=lambda *c: self.changes.put_nowait(c), **kw)

    async def next(self):
        return await asyncio.wait_for(self.changes.get(), WAIT)


# ------------------------------------------------------------ specs and matching

def test_spec_defaults_and_normalisation():
    s = ProcessSpec("p", "/usr/sbin/nginx", ["-g", "daemon off;"])
    assert (s.params, s.param_match, s.full_command) == (("-g", "daemon off;"), "exact", True)
    s = ProcessSpec("p", "nginx", param_match="partial")
    assert s.full_command and s.params == ()
    s = ProcessSpec("p", "nginx")
    assert (s.quorum, s.quorum_max, s.full_command, s.param_match) == (1, 65535, False, None)
    assert ProcessSpec("p", "x", quorum=0, quorum_max=0).in_quorum(0)


@pytest.mark.parametrize("kw,match", [
    (dict(name=""), "name"), (dict(process=""), "process"), (dict(params=("a\0",)), "NUL"),
    (dict(param_match="fuzzy"), "param_match"), (dict(quorum=70000), "quorum"),
    (dict(quorum=3, quorum_max=2), "greater than quorum_max"), (dict(fork_delay_s=-1), "fork"),
    (dict(terminate_delay_s=4000), "terminate"), (dict(quorum=True), "quorum"),
])
def test_spec_validation(kw, match):
    args = dict(name="p", process="x")
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        ProcessSpec(**args)


def test_spec_from_config():
    config, diags = loads("vrrp_track_process tp {\n process /bin/app -a 1\n param_match partial\n"
                          " quorum 2\n quorum_max 4\n delay 1.5\n fork_delay 0.25\n}\n")
    assert not diags.errors
    spec = process_spec_from_config(config.track_processes["tp"])
    assert spec == ProcessSpec("tp", "/bin/app", ("-a", "1"), "partial", True, 2, 4, 0.25, 1.5)


C = b"\0".join


@pytest.mark.parametrize("match,params,cmdline,expected", [
    (None, (), C([b"/bin/app", b"x", b""]), True),          # no param check
    (None, (), C([b"/bin/appx", b""]), False),              # argv[0] is exact
    ("exact", (), C([b"/bin/app", b""]), True),
    ("exact", (), C([b"/bin/app", b"x", b""]), False),
    ("exact", ("a", "b"), C([b"/bin/app", b"a", b"b", b""]), True),
    ("exact", ("a", "b"), C([b"/bin/app", b"a", b"b", b"c", b""]), False),
    ("exact", ("a", "b"), C([b"/bin/app", b"a", b"bc", b""]), False),
    ("partial", ("a", "b"), C([b"/bin/app", b"a", b"b", b"c", b""]), True),
    ("partial", ("a", "b"), C([b"/bin/app", b"a", b"bc", b""]), False),
    ("partial", ("a", "b"), C([b"/bin/app", b"a", b""]), False),
    ("partial", (), C([b"/bin/app", b"z", b""]), True),
    ("initial", ("a", "b"), C([b"/bin/app", b"a", b"bcd", b""]), True),
    ("initial", ("a", "b"), C([b"/bin/app", b"a", b"b", b"x", b""]), True),
    ("initial", ("a", "b"), C([b"/bin/app", b"ab", b""]), False),
    ("initial", ("a", "b"), C([b"/bin/app", b"a", b""]), False),
    ("initial", ("a", "b"), C([b"/bin/app", b"ax", b"b", b""]), False),
    ("initial", ("",), C([b"/bin/app", b"q", b""]), True),
    ("initial", ("",), C([b"/bin/app", b""]), False),
])
def test_param_match(match, params, cmdline, expected):
    spec = ProcessSpec("p", "/bin/app", params, match, full_command=True)
    assert spec.matches_cmdline(cmdline) is expected


def test_comm_and_cmdline_matching_are_separate():
    comm = ProcessSpec("p", "nginx")
    full = ProcessSpec("p", "nginx", full_command=True)
    assert comm.matches_comm("nginx") and not comm.matches_cmdline(b"nginx\0")
    assert full.matches_cmdline(b"nginx\0") and not full.matches_comm("nginx")


def test_parse_stat_handles_odd_names():
    assert parse_stat(b"123 (a) b (c)) S 45 123 123 0") == ("a) b (c)", "S", 45)
    assert parse_stat(b"garbage") is None
    assert parse_stat(b"1 (x) S notanumber") is None


def test_scan_skips_zombies_and_reads_names(procs):
    name, path = procs.binary()
    p = procs.start([path, "60"])
    found = {i.pid: i for i in scan_proc(cmdline_size=256)}
    assert found[p.pid].comm == name and found[p.pid].cmdline == path.encode() + b"\x0060\x00"
    assert found[p.pid].ppid == os.getpid()
    procs.kill(p)                       # reaped: gone; a zombie would be skipped too
    assert p.pid not in {i.pid for i in scan_proc()}


def test_socket_filter_program_shape():
    prog = proc_event_filter()
    assert len(prog) == 16 * 8


# ------------------------------------------------------------ live: the connector

def test_initial_scan_exec_and_exit(procs):
    name, path = procs.binary()
    first = procs.start([path, "60"])
    second = procs.start([path, "60"])

    async def main():
        r = Run([ProcessSpec("two", name, quorum=2), ProcessSpec("one", name)])
        await r.tracker.start()
        assert r.tracker.mode == "connector", r.tracker.fallback_reason
        assert r.tracker.states() == {"two": True, "one": True}
        assert r.tracker.pids("two") == {first.pid, second.pid}
        procs.kill(first)
        assert await r.next() == ("two", True, False)
        procs.kill(second)
        assert await r.next() == ("one", True, False)
        third = procs.start([path, "60"])
        assert await r.next() == ("one", False, True)
        assert r.tracker.pids("one") == {third.pid}
        await r.tracker.stop()
    run_on("uvloop", main)


def test_quorum_max(procs):
    name, path = procs.binary()

    async def main():
        r = Run([ProcessSpec("p", name, quorum=1, quorum_max=2)])
        await r.tracker.start()
        assert not r.tracker.up("p")
        running = [procs.start([path, "60"])]
        assert await r.next() == ("p", False, True)
        running += [procs.start([path, "60"]), procs.start([path, "60"])]
        assert await r.next() == ("p", True, False)        # 3 > quorum_max
        procs.kill(running.pop())
        assert await r.next() == ("p", False, True)
        assert r.tracker.count("p") == 2
        await r.tracker.stop()
    run_on("asyncio", main)


def test_must_not_run_with_quorum_max_0(procs):
    name, path = procs.binary()

    async def main():
        r = Run([ProcessSpec("absent", name, quorum=0, quorum_max=0)])
        await r.tracker.start()
        assert r.tracker.up("absent")
        p = procs.start([path, "60"])
        assert await r.next() == ("absent", True, False)
        procs.kill(p)
        assert await r.next() == ("absent", False, True)
        await r.tracker.stop()
    run_on("asyncio", main)


def test_full_command_with_parameters(procs):
    name, path = procs.binary()

    async def main():
        r = Run([ProcessSpec("exact", path, ("1000",)),
                 ProcessSpec("initial", path, ("10",), "initial"),
                 ProcessSpec("bare", path, full_command=True)])
        await r.tracker.start()
        procs.start([path, "2000"])
        assert await r.next() == ("bare", False, True)
        procs.start([path, "1000"])
        assert {await r.next(), await r.next()} == {("exact", False, True),
                                                    ("initial", False, True)}
        assert r.tracker.count("exact") == 1 and r.tracker.count("bare") == 2
        await r.tracker.stop()
    run_on("asyncio", main)


def test_exec_into_another_program_is_a_loss(procs):
    name, path = procs.binary("/bin/sh")

    async def main():
        r = Run([ProcessSpec("sh", name)])
        await r.tracker.start()
        p = procs.start([path, "-c", "read x; exec /bin/sleep 60"], stdin=subprocess.PIPE)
        assert await r.next() == ("sh", False, True)
        p.stdin.write(b"go\n")
        p.stdin.flush()
        assert await r.next() == ("sh", True, False)     # comm is now "sleep"
        assert p.poll() is None
        await r.tracker.stop()
    run_on("asyncio", main)


def test_rename_fork_and_fork_delay(procs):
    name = unique()

    async def main():
        r = Run([ProcessSpec("one", name), ProcessSpec("now", name, quorum=2),
                 ProcessSpec("later", name, quorum=2, fork_delay_s=0.2)])
        await r.tracker.start()
        helper = procs.helper()
        helper.say("name " + name)                          # PROC_EVENT_COMM
        assert await r.next() == ("one", False, True)
        helper.say("fork")                                  # PROC_EVENT_FORK: same name
        assert await r.next() == ("now", False, True)
        status = r.tracker.status("later")
        assert (status.up, status.count, status.delay_pending) == (False, 2, "fork")
        assert await r.next() == ("later", False, True)      # once the delay ends
        helper.say("reap")
        assert {await r.next(), await r.next()} == {("now", True, False), ("later", True, False)}
        helper.say("name other")                            # renamed away
        assert await r.next() == ("one", True, False)
        await r.tracker.stop()
    run_on("asyncio", main)


def test_fork_cancelled_by_an_exit_inside_the_delay(procs):
    name = unique()

    async def main():
        r = Run([ProcessSpec("now", name, quorum=2),
                 ProcessSpec("later", name, quorum=2, fork_delay_s=30)])
        await r.tracker.start()
        helper = procs.helper()
        helper.say("name " + name)
        helper.say("fork")
        assert await r.next() == ("now", False, True)
        helper.say("reap")
        assert await r.next() == ("now", True, False)
        status = r.tracker.status("later")
        assert (status.up, status.delay_pending) == (False, None)   # the delay is cancelled
        await r.tracker.stop()
    assert run_on("asyncio", main) is None


def test_terminate_delay_rides_out_a_restart_and_delays_a_loss(procs):
    name, path = procs.binary()
    first = procs.start([path, "60"])

    async def main():
        r = Run([ProcessSpec("now", name), ProcessSpec("patient", name, terminate_delay_s=30),
                 ProcessSpec("brief", name, terminate_delay_s=0.2)])
        await r.tracker.start()
        assert set(r.tracker.states().values()) == {True}
        procs.kill(first)
        assert await r.next() == ("now", True, False)
        assert r.tracker.status("patient").delay_pending == "terminate"
        assert r.tracker.up("patient") and r.tracker.up("brief")
        second = procs.start([path, "60"])                  # back within the delay
        assert await r.next() == ("now", False, True)
        assert r.tracker.status("patient").delay_pending is None
        assert r.tracker.up("patient") and r.tracker.up("brief")
        procs.kill(second)
        assert await r.next() == ("now", True, False)
        assert await r.next() == ("brief", True, False)      # after its 0.2 s
        assert r.tracker.up("patient")                       # 30 s: still waiting
        await r.tracker.stop()
    run_on("asyncio", main)


def test_lost_events_are_recovered_by_a_rescan(procs):
    name, path = procs.binary()
    started = []

    def flood():
        for _ in range(60):
            subprocess.run(["/bin/true"], check=True)
        started.append(procs.start([path, "60"]))

    async def main():
        r = Run([ProcessSpec("p", name)], rcvbuf=1)           # the kernel's minimum
        await r.tracker.start()
        worker = threading.Thread(target=flood)
        worker.start()
        worker.join()                                        # the loop is blocked meanwhile
        assert await r.next() == ("p", False, True)
        assert r.tracker.resyncs >= 1
        assert r.tracker.pids("p") == {started[0].pid}
        await r.tracker.stop()
    run_on("asyncio", main)


# ------------------------------------------------------------ fallback: scanning /proc

def test_scan_mode_when_told(procs, caplog):
    name, path = procs.binary()

    async def main():
        r = Run([ProcessSpec("p", name)], use_connector=False, scan_interval_s=0.05)
        await r.tracker.start()
        assert r.tracker.mode == "scan"
        p = procs.start([path, "60"])
        assert await r.next() == ("p", False, True)
        procs.kill(p)
        assert await r.next() == ("p", True, False)
        await r.tracker.stop()
    with caplog.at_level(logging.WARNING, "fastvrrp.track.processes"):
        run_on("asyncio", main)
    assert ("track_process: process events unavailable (process events disabled by "
            "configuration) - scanning /proc every 0.05 s") in caplog.messages


def test_scan_mode_restart_between_scans_does_not_flap(procs):
    name, path = procs.binary()
    first = procs.start([path, "60"])

    async def main():
        r = Run([ProcessSpec("p", name), ProcessSpec("q", name, quorum=2)],
                use_connector=False, scan_interval_s=0.05)
        await r.tracker.start()
        r.tracker._scan_timer.cancel()                       # scans by hand from here
        procs.kill(first)
        second = procs.start([path, "60"])
        third = procs.start([path, "60"])
        r.tracker._rescan()
        assert await r.next() == ("q", False, True)
        assert r.tracker.pids("p") == {second.pid, third.pid}
        assert r.changes.empty()                             # p never went down
        await r.tracker.stop()
    run_on("asyncio", main)


@pytest.mark.netns
def test_other_network_namespace_falls_back_to_scanning():
    """The connector refuses sockets outside the initial network namespace."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:                                             # child: a namespace of its own
        try:
            os.close(read_end)
            if ctypes.CDLL(None, use_errno=True).unshare(0x40000000) != 0:   # CLONE_NEWNET
                raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed")

            async def main():
                t = ProcessTracker([ProcessSpec("p", "nothing-runs-this")])
                await t.start()
                mode, reason = t.mode, t.fallback_reason
                await t.stop()
                return "%s|%s" % (mode, reason)
            os.write(write_end, asyncio.run(main()).encode())
        except BaseException as exc:                         # shown by the assert below
            os.write(write_end, ("child failed: %r" % (exc,)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        got = fh.read().decode()
    os.waitpid(pid, 0)
    assert got == ("scan|cannot subscribe to process events: this is not the initial network "
                   "namespace")


def test_tracker_argument_errors():
    with pytest.raises(ValueError, match="scan_interval_s"):
        ProcessTracker([], scan_interval_s=0)
    with pytest.raises(ValueError, match="rcvbuf"):
        ProcessTracker([], rcvbuf=0)
    with pytest.raises(ValueError, match="defined twice"):
        ProcessTracker([ProcessSpec("p", "a"), ProcessSpec("p", "b")])
    with pytest.raises(KeyError, match="no vrrp_track_process named 'x'"):
        ProcessTracker([]).up("x")
