"""What the tracking tests that run keepalived side by side share.

    require(shutil.which("cc"), "a C compiler")   # skip (fail with FASTVRRP_REQUIRE_INTEROP=1)
    shim = compile_shim(directory)                 # LD_PRELOAD: proc connector in our netns
    env = shim_env(shim)                           # ... the environment that loads it
    world = World(directory, files=("plain",), processes=("one",), flags=("flag",))
    world.start("one")                             # a copy of sleep named world.names["one"]
    view = AdvertView(log, running, capture)       # FAULT or the advertised priority
    state = await view.settled("VI_1", 51, since, view.faults("VI_1"), marker, before)
    await until(lambda: tracker.up("eth1") is False, "eth1 down")

keepalived 2.2.7 from Debian has no `net_namespace`, and the kernel refuses
process-event subscriptions from any network namespace but the initial one
(keepalived logs "Failed to set/clear process event listen - errno 111" and
its track_process then counts nothing).  The LD_PRELOAD shim, compiled here
with cc, creates NETLINK_CONNECTOR sockets in the test's own network
namespace; everything else the daemon does stays in its lab namespace.  The
same shim works for fastvrrp (CPython's socket() is libc's).

A daemon's settled state after a step (AdvertView.settled): FAULT when its
log shows the instance entering FAULT since the step, and still in FAULT
SETTLE_S after the step (and its marker); otherwise the
priority of the adverts it sends from SETTLE_S after the step (and after the
step's log marker, when there is one) on.  The daemons run alone on their
segments, so an instance not in FAULT is MASTER and its adverts carry its
effective priority.
"""

import asyncio
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

SETTLE_S = 0.3          # adverts sent this long after a step show its outcome
ADVERTS = 3             # ... this many of them
STEP_TIMEOUT = 15.0
FAULT = "FAULT"

SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>

/* Create NETLINK_CONNECTOR sockets in the network namespace named by
 * $FASTVRRP_CONNECTOR_NETNS (the kernel's proc connector only serves the
 * initial one); every other socket is untouched. */
int socket(int domain, int type, int protocol)
{
    static int (*real)(int, int, int);
    const char *target = getenv("FASTVRRP_CONNECTOR_NETNS");
    int here, there, fd, saved;

    if (!real)
        real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
    if (domain != AF_NETLINK || protocol != NETLINK_CONNECTOR || !target)
        return real(domain, type, protocol);
    here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    there = open(target, O_RDONLY | O_CLOEXEC);
    if (here < 0 || there < 0 || setns(there, CLONE_NEWNET)) {
        fd = real(domain, type, protocol);
    } else {
        fd = real(domain, type, protocol);
        saved = errno;
        setns(here, CLONE_NEWNET);
        errno = saved;
    }
    if (here >= 0)
        close(here);
    if (there >= 0)
        close(there);
    return fd;
}
"""


def require(tool_ok, what):
    """Skip without `what` (fail when FASTVRRP_REQUIRE_INTEROP=1)."""
    if tool_ok:
        return
    if os.environ.get("FASTVRRP_REQUIRE_INTEROP") == "1":
        pytest.fail("%s is missing and FASTVRRP_REQUIRE_INTEROP=1" % what)
    pytest.skip("%s is missing" % what)


def compile_shim(directory):
    """Build the LD_PRELOAD shim in `directory`; its path."""
    cc = shutil.which("cc") or shutil.which("gcc")
    require(cc, "a C compiler (for the process-events shim)")
    src = os.path.join(directory, "cnshim.c")
    out = os.path.join(directory, "cnshim.so")
    with open(src, "w") as fh:
        fh.write(SHIM)
    res = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", out, src, "-ldl"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, "cannot build the shim: %s" % res.stderr
    return out


def shim_env(shim, base=None):
    """An environment that preloads `shim` and points it at this process's netns."""
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if k != "NOTIFY_SOCKET"}
    env.update(LD_PRELOAD=shim, FASTVRRP_CONNECTOR_NETNS="/proc/%d/ns/net" % os.getpid())
    return env


def write(path, text):
    with open(path, "w") as fh:
        fh.write(text)


class World:
    """The files, flag files and processes the trackers watch, in `directory`.

    files: names of track files (made holding "0"); flags: names of files a
    check script tests for (made empty); processes: keys of programs, each a
    copy of /bin/sleep with a unique name (`names[key]`), or a mapping of
    keys to the binary to copy."""

    def __init__(self, directory, *, files=(), flags=(), processes=()):
        self.dir = directory
        os.chmod(directory, 0o755)
        sources = dict(processes) if isinstance(processes, dict) else \
            {key: "/bin/sleep" for key in processes}
        self.names = {key: "fv" + os.urandom(5).hex() for key in sources}
        for key, name in self.names.items():
            shutil.copy(sources[key], os.path.join(directory, name))
        for name in flags:
            write(self.path(name), "")
        for name in files:
            write(self.path(name), "0\n")
        self.procs = {}

    def path(self, name):
        return os.path.join(self.dir, name)

    def start(self, key, program=None, args=("300",)):
        """Run program `program` (a key of `names`, default `key`) as `key`, in a
        session of its own; its stdin is a pipe nobody writes to."""
        name = self.names[program or key]
        self.procs[key] = subprocess.Popen([self.path(name)] + list(args), start_new_session=True,
                                           stdin=subprocess.PIPE)

    def kill(self, key):
        """SIGKILL to the process group of `key` (what it forked dies with it)."""
        proc = self.procs.pop(key)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        proc.stdin.close()

    def kill_all(self):
        for key in list(self.procs):
            self.kill(key)


class AdvertView:
    """A daemon's settled state after a step, from its log and a capture of its segment.

    log: () -> the daemon's log text; running: () -> bool; capture: a
    fastvrrp.bench.capture.Capture of the segment it advertises on."""

    STATE = r"\(%s\) Entering (MASTER|BACKUP|FAULT) STATE"

    def __init__(self, log, running, capture, name="daemon"):
        self.log, self.running, self.capture, self.name = log, running, capture, name
        self._adverts = []         # (ts, vrid, priority) decoded so far
        self._offset = 0           # of the capture file: what was read

    def adverts(self):
        """(ts, vrid, priority) of every advert captured so far; only the records
        written since the last call are read and decoded."""
        from fastvrrp.bench.pcap import parse_pcap
        from fastvrrp.bench.vrrpview import decode_frame
        try:
            with open(self.capture.path, "rb") as fh:
                header = fh.read(24)
                fh.seek(max(self._offset, 24))
                tail = fh.read()
        except FileNotFoundError:
            return self._adverts     # tcpdump creates it when it opens the interface
        if len(header) < 24:
            return self._adverts
        if self._offset == 0:
            self._offset = 24
        used = 0
        for frame in parse_pcap(header + tail):
            advert = decode_frame(frame)
            self._adverts.append((frame.ts, advert.vrid, advert.priority))
            used += 16 + len(frame.data)
        self._offset += used
        return self._adverts

    def count(self, pattern):
        return len(re.findall(pattern, self.log()))

    def faults(self, instance):
        return self.count(r"\(%s\) Entering FAULT STATE" % re.escape(instance))

    async def settled(self, instance, vrid, since, faults_before, marker=None, marker_before=0):
        """FAULT, or the priority of the adverts of `vrid` sent after the step at
        `since` (time.time()) settled; waits for `marker` first (a regex whose
        count in the log must exceed `marker_before`)."""
        state_rx = re.compile(self.STATE % re.escape(instance))
        deadline = time.monotonic() + STEP_TIMEOUT
        seen = None      # when the marker was first seen in the log: adverts sent
        while time.monotonic() < deadline:   # after it carry the new priority
            assert self.running(), "%s exited; log tail:\n%s" % (self.name, self.log()[-3000:])
            if marker is None or self.count(marker) > marker_before:
                seen = seen or time.time()
                states = state_rx.findall(self.log())
                # FAULT once it held SETTLE_S past the step and its marker: a FAULT
                # passed through (a check script not reported at start: the
                # silent FAULT (init)) is left behind by then
                if (self.faults(instance) > faults_before and states and states[-1] == FAULT
                        and time.time() >= max(since, seen) + SETTLE_S):
                    return FAULT
                after = max(since + SETTLE_S, seen)
                adverts = [prio for ts, vr, prio in self.adverts()
                           if ts >= after and vr == vrid and prio]
                if len(adverts) >= ADVERTS:
                    return adverts[-1]
            await asyncio.sleep(0.05)
        adverts = self.adverts()
        raise AssertionError("%s (%s) did not settle within %gs (%d adverts captured, the last "
                             "at %s, step at %.3f, marker %r); log tail:\n%s"
                             % (self.name, instance, STEP_TIMEOUT, len(adverts),
                                adverts[-1][0] if adverts else None, since, marker,
                                self.log()[-3000:]))


async def until(condition, what, timeout=STEP_TIMEOUT):
    """Await a condition that raises no event of its own (polled every 20 ms)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        await asyncio.sleep(0.02)
