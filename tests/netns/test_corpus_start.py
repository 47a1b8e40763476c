"""Every corpus config that keepalived accepts starts under the fastvrrp daemon.

For each config of tests/data/corpus/keepalived/ (and conditional_conf under
each of its config ids), a fresh namespace holds one veth end (up, with an
IPv4 address, and its peer up too: a carrier) per interface the config
names, as in test_corpus_verdicts.py.
keepalived 2.2.7's `-t` run in that namespace says whether keepalived
accepts the config there (without keepalived: `fastvrrp check`, whose
verdicts test_corpus_verdicts.py holds to keepalived's); a config it rejects
is skipped with keepalived's exit code.  An accepted one runs as
`fastvrrp -n -l -D -f CONF` in its namespace (with `-s NS` when the config
names a `net_namespace`: ours stands in for it); every daemon starts at once
(the module fixture), so the slow ones (conditional_conf's advert_int 12)
wait in parallel.  Each test then waits for every instance to log
"Entering MASTER STATE" (it is alone on its segments, so MASTER is where it
settles), checks that nothing was logged at syslog severity err or worse
(the daemon's syslog goes to a socket of ours; EXPECTED_ERRORS lists the
config errors keepalived reports as well) and that it did not crash,
stops it with SIGTERM (exit code 0) and checks that no VIP, macvlan, route
or rule of its own is left in the namespace.
"""

import contextlib
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading

import pytest

from fastvrrp.bench import netns, nldump, nsproc
from fastvrrp.bench.config import interface_namespace
from fastvrrp.bench.waitfor import wait_for
from fastvrrp.config import load
from paths import CORPUS

pytestmark = [pytest.mark.netns, pytest.mark.timeout(180)]

NS_PREFIX = "fvT1-c-"
KEEPALIVED = shutil.which("keepalived")
RTPROT_KEEPALIVED = 18               # keepalived's (and fastvrrp's) routes and rules
IFF_RUNNING = 0x40
LOG_ERR = 3                          # syslog severities 0..3: emerg, alert, crit, err
SETTLE_TIMEOUT = 90.0                # conditional_conf: advert_int 12, master down after ~37 s
# err-level lines keepalived 2.2.7 logs too when it runs the same config (checked in a
# namespace): the config names a check script this host does not have
EXPECTED_ERRORS = {
    "keepalived.conf.conditional_conf": (
        r"Disabling track script check_VI_0 since not found/accessible$",),
}
FILES = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*")
               if p.is_file() and p.name != "INDEX.md")
CASES = [(f, "high") for f in FILES] + [
    ("keepalived.conf.conditional_conf", "low"), ("keepalived.conf.conditional_conf", None)]
IDS = ["%s-%s" % case for case in CASES]


def _fastvrrp():
    beside = os.path.join(os.path.dirname(sys.executable), "fastvrrp")
    return beside if os.access(beside, os.X_OK) else shutil.which("fastvrrp")


def _id_args(config_id):
    return ["-i", config_id] if config_id else []


class Syslog:
    """AF_UNIX datagram sockets standing in for /dev/log, one per daemon, read by
    one thread (the daemon's syslog sender blocks when a socket's queue is full)."""

    def __init__(self, directory):
        self.dir = directory
        self.lines = {}
        self._socks = {}
        self._wake_r, self._wake_w = os.pipe()
        self._lock = threading.Lock()
        self._thread = None

    def add(self, key):
        path = os.path.join(self.dir, "log%d" % len(self._socks))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        self._socks[sock.fileno()] = (key, sock)
        self.lines[key] = []
        return path

    def start(self):
        self._thread = threading.Thread(target=self._run, name="fake-syslog", daemon=True)
        self._thread.start()

    def _run(self):
        fds = [self._wake_r] + list(self._socks)
        while True:
            readable, _, _ = select.select(fds, [], [])
            if self._wake_r in readable:
                return
            for fd in readable:
                key, sock = self._socks[fd]
                data = sock.recv(65536).decode(errors="replace")
                with self._lock:
                    self.lines[key].append(data)

    def of(self, key):
        with self._lock:
            return list(self.lines[key])

    def close(self):
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(10)
        for _key, sock in self._socks.values():
            sock.close()
        os.close(self._wake_r)
        os.close(self._wake_w)


def severity(line):
    """The syslog severity of `<PRI>...`, or None."""
    match = re.match(r"<(\d+)>", line)
    return int(match.group(1)) & 7 if match else None


def host_state(ns):
    """What a daemon may add to namespace `ns`: addresses (IPv6 link-locals aside),
    links, routes and rules with keepalived's protocol."""
    from pyroute2 import IPRoute
    with netns.inside(ns):
        ipr = IPRoute()
    try:
        links = {(m.get_attr("IFLA_IFNAME"),
                  (m.get_attr("IFLA_LINKINFO").get_attr("IFLA_INFO_KIND")
                   if m.get_attr("IFLA_LINKINFO") is not None else None))
                 for m in ipr.get_links()}
        addrs = {(m["index"], m.get_attr("IFA_ADDRESS"), m["prefixlen"]) for m in ipr.get_addr()
                 if not str(m.get_attr("IFA_ADDRESS")).startswith("fe80:")}
        routes, rules = set(), set()
        for family in (socket.AF_INET, socket.AF_INET6):
            for m in ipr.route("dump", family=family):
                if m["proto"] == RTPROT_KEEPALIVED:
                    routes.add((family, m.get_attr("RTA_TABLE"), m.get_attr("RTA_DST"),
                                m["dst_len"], m["type"]))
            for m in ipr.get_rules(family=family):
                if m.get_attr("FRA_PROTOCOL") == RTPROT_KEEPALIVED:
                    rules.add((family, m.get_attr("FRA_PRIORITY"), m.get_attr("FRA_TABLE")))
    finally:
        ipr.close()
    return {"links": links, "addresses": addrs, "routes": routes, "rules": rules}


def _peers_up(ns, count):
    """interface_namespace leaves the veth peers (vp0, vp1, ...) down: no carrier,
    so every instance would sit in FAULT.  Set them up and wait for the carriers."""
    from pyroute2 import IPRoute
    with netns.inside(ns):
        ipr = IPRoute()
    try:
        for k in range(count):
            ipr.link("set", index=ipr.link_lookup(ifname="vp%d" % k)[0], state="up")
    finally:
        ipr.close()

    def running():
        flags = nldump.link_flags(ns)
        return sum(1 for f in flags.values() if f & IFF_RUNNING) >= 2 * count
    wait_for(running, 10, what="the veth carriers in %s" % ns)


class Run:
    """One corpus config: its namespace, keepalived's verdict, the daemon."""

    def __init__(self, rel, config_id, stack, syslog, workdir):
        self.rel, self.config_id = rel, config_id
        self.path = str(CORPUS / rel)
        config, _diags = load(self.path, config_id)
        self.instances = [i.name for i in config.instances]
        self.net_namespace = config.net_namespace
        names = sorted(set(config.interfaces()) | {"eth0"})
        self.ns = stack.enter_context(interface_namespace(names, prefix=NS_PREFIX))
        _peers_up(self.ns, len(names))
        self.verdict, self.verdict_text = self._verdict()
        self.proc = None
        self.log_path = os.path.join(workdir, "%s-%s.log" % (rel.replace("/", "_"), config_id))
        self.key = (rel, config_id)
        self.syslog = syslog
        self.syslog_path = syslog.add(self.key)
        self.before = None
        self.workdir = workdir

    def _verdict(self):
        if KEEPALIVED:
            argv = [KEEPALIVED, "-t", "-l", "-f", self.path] + _id_args(self.config_id)
        else:
            argv = [_fastvrrp(), "check", "-f", self.path] + _id_args(self.config_id)
        proc = nsproc.popen_in(self.ns, argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
        try:
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.returncode is None:
                nsproc.stop(proc)
        return proc.returncode, out

    def start(self):
        self.before = host_state(self.ns)
        files = os.path.join(self.workdir, "%s-%s" % (self.rel.replace("/", "_"), self.config_id))
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        env.update(FASTVRRP_TEST_SYSLOG=self.syslog_path, TMPDIR=self.workdir)
        argv = [_fastvrrp(), "-n", "-l", "-D", "-f", self.path, "-p", files + ".pid",
                "-r", files + "-vrrp.pid"] + _id_args(self.config_id)
        if self.net_namespace:      # `net_namespace NAME`: ours stands in for it
            argv += ["-s", self.ns]
        with open(self.log_path, "w") as log:
            self.proc = nsproc.popen_in(self.ns, argv, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, env=env)

    def log(self):
        with open(self.log_path, errors="replace") as fh:
            return fh.read()

    def stop(self):
        if self.proc is not None and self.proc.returncode is None:
            return nsproc.stop(self.proc, grace=10.0)
        return self.proc.returncode if self.proc is not None else None


@pytest.fixture(scope="module")
def runs():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    if _fastvrrp() is None:
        pytest.fail("the fastvrrp command is not installed (make build)")
    workdir = tempfile.mkdtemp(prefix="fvT1-corpus-")
    os.chmod(workdir, 0o755)
    syslog = Syslog(workdir)
    made = {}
    try:
        with contextlib.ExitStack() as stack:
            for rel, config_id in CASES:
                made[(rel, config_id)] = Run(rel, config_id, stack, syslog, workdir)
            syslog.start()
            try:
                for run in made.values():
                    run.start()
                yield made
            finally:
                for run in made.values():
                    run.stop()
    finally:
        syslog.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.parametrize("rel,config_id", CASES, ids=IDS)
def test_corpus_config_starts(runs, rel, config_id):
    run = runs[(rel, config_id)]
    if run.verdict == 6:
        # keepalived -t exit 6: only its script-security check failed; keepalived
        # still runs such a config, and so does fastvrrp (then stops clean)
        wait_for(lambda: "Startup complete" in run.log() or run.proc.poll() is not None,
                 SETTLE_TIMEOUT, what="%s started" % rel)
        assert run.proc.poll() is None, run.log()[-4000:]
        code = nsproc.stop(run.proc, grace=10.0, sig=signal.SIGTERM)
        log = run.log()
        assert code == 0 and "Traceback" not in log, log[-4000:]
        assert "SECURITY VIOLATION" in log, log[-4000:]
        after = host_state(run.ns)
        for what in ("addresses", "routes", "rules", "links"):
            assert after[what] == run.before[what], (what, after[what] ^ run.before[what])
        return
    if run.verdict != 0:
        # keepalived -t refuses it here: the daemon refuses to start (DESIGN: a
        # config error is fatal), says why as file:line:col, and touches nothing
        wait_for(lambda: run.proc.poll() is not None, SETTLE_TIMEOUT, what="%s refused" % rel)
        code, log = run.proc.returncode, run.log()
        assert code != 0, log[-4000:]
        assert re.search(r"%s:\d+:\d+: error: " % re.escape(run.path), log), log[-4000:]
        assert "Traceback" not in log, log[-4000:]
        after = host_state(run.ns)
        for what in ("addresses", "routes", "rules", "links"):
            assert after[what] == run.before[what], (what, after[what] ^ run.before[what])
        return
    assert run.instances, "an accepted config with no instance: nothing to check"

    def settled():
        if run.proc.poll() is not None:
            raise AssertionError("fastvrrp exited (%s) before settling; log:\n%s"
                                 % (run.proc.returncode, run.log()[-4000:]))
        text = run.log()
        return all(re.search(r"\(%s\) Entering MASTER STATE" % re.escape(name), text)
                   for name in run.instances)
    wait_for(settled, SETTLE_TIMEOUT, what="every instance of %s MASTER" % rel)
    assert run.proc.poll() is None
    code = nsproc.stop(run.proc, grace=10.0, sig=signal.SIGTERM)
    log = run.log()
    assert code == 0, log[-4000:]
    assert "Traceback" not in log, log[-4000:]
    lines = run.syslog.of(run.key)
    assert any("Entering MASTER STATE" in line for line in lines), \
        "the fake syslog got no transition: %r" % lines[:5]
    expected = EXPECTED_ERRORS.get(rel, ())
    errors = [line for line in lines if severity(line) is not None and severity(line) <= LOG_ERR
              and not any(re.search(rx, line) for rx in expected)]
    assert errors == [], errors
    after = host_state(run.ns)
    for what in ("addresses", "routes", "rules", "links"):
        assert after[what] == run.before[what], (what, after[what] ^ run.before[what])
    assert not any(kind == "macvlan" for _name, kind in after["links"])
