"""The seed scenario: two nginx hosts sharing one VIP, in a namespace lab.

DESIGN.md "The reference scenario": two CentOS hosts (.128 MASTER priority
100, .129 BACKUP priority 99) run nginx; keepalived on each holds VIP .130 on
`ens33` (VRID 66, advert_int 1, PASS 1111) and tracks `chk_http_port`
(interval 2, weight 2), a script that restarts nginx when it is gone and stops
keepalived when the restart fails.  This module rebuilds that in a lab:

    sw:br0 ─┬─ master:ens33 10.66.16.128/24  nginx, daemon, check script
            ├─ backup:ens33 10.66.16.129/24  nginx, daemon, check script
            └─ client:eth0  10.66.16.100/24  requests http://VIP/ every 20 ms
    VIP 10.66.16.130 (the seed's 192.168.16.0/24 host numbers, moved to a lab subnet)

and runs its steps, measuring each from events (VIP address notifications
over rtnetlink, the client's replies, adverts captured on the bridge):

    with SeedLab("keepalived", "keepalived", narrate=print) as seed:
        seed.step_start(); seed.step_nginx_restart(); seed.step_power_off()
        seed.step_master_returns()              # or seed.step_nginx_broken()

The daemon of each node is a parameter ("keepalived", "fastvrrp" or a
DaemonCommand): the same steps run keepalived today and fastvrrp once its
engine lands.  The seed's files (tests/data/seed/) run unchanged except for
textual substitutions, each recorded as a LineChange:
  keepalived.conf: the script path and the VIP;
  check_nginx_pid.sh: `systemctl start nginx` becomes this node's nginx
  command line, and `killall keepalived` becomes a kill by this node's daemon
  pid file (killall would also kill the other node's daemon and any other
  keepalived on the machine: the lab never kills by name).

Each node is a "host": the lab's network namespace plus its own PID (and
mount) namespace whose pid 1 is a tiny reaper.  That keeps the seed's
`ps -C nginx` to the node's own nginx (in one PID namespace it would count the
other node's), and makes "power off" exact: killing the host's pid 1 kills
every process on it at once.
"""

import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import nladdr, nlbatch
from .keepalived_proc import KeepalivedError, keepalived_path
from .lab import Lab, LinkSpec
from .pcap import PcapError
from .vrrpview import AdvertError, decode_frame
from .waitfor import WaitTimeout, wait_for

SEED_DIR = Path(__file__).resolve().parents[2] / "tests" / "data" / "seed"
SEED_FILES = {"master": "keepalived.conf", "backup": "keepalived-backup.conf",
              "script": "check_nginx_pid.sh"}
SEED_SUBNET = "192.168.16."             # the seed's hosts .128, .129 and VIP .130
DEFAULT_SUBNET = "10.66.16."            # the lab's (66: the seed's VRID)
HOSTS = {"master": 128, "backup": 129, "client": 100}
VIP_HOST = 130
SEED_SCRIPT_PATH = "/usr/local/src/check_nginx_pid.sh"
NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/bin/nginx")
PROBE_INTERVAL = 0.02                   # the client's request period (s)
PROBE_TIMEOUT = 0.25                    # per request: connect + reply (s)
SAMPLE_PERIOD = 0.05                    # VIP holder sampling period (s)
SLACK = 5.0                             # added to every computed wait (s)


class SeedError(RuntimeError):
    """The seed scenario cannot be set up or run; the message says why."""


class StepFailed(SeedError):
    """A step's awaited event did not happen (or a daemon died first)."""


# -- RFC timers ----------------------------------------------------------------
# RFC 3768 §6.1: Skew_Time = (256 - Priority) / 256 seconds
def skew_time(priority):
    """Skew_Time in seconds for a VRRPv2 router of `priority`."""
    if not 1 <= priority <= 255:
        raise SeedError("priority %r is outside 1-255" % (priority,))
    return (256 - priority) / 256.0


# RFC 3768 §6.1: Master_Down_Interval = 3 * Advertisement_Interval + Skew_Time
def master_down_interval(priority, advertisement_interval):
    """Master_Down_Interval in seconds."""
    return 3 * advertisement_interval + skew_time(priority)


# -- the seed's files and their substitution -----------------------------------
@dataclass(frozen=True)
class LineChange:
    """One line of a seed file changed for the lab (1-based line number)."""

    file: str
    line: int
    before: str
    after: str


def substitute(text, replacements, *, name):
    """Replace each (old, new) in `text` textually; return (text, [LineChange]).

    Every `old` must occur; neither side may span lines, so the line numbers
    of the result are the seed's and every other line stays byte-identical.
    """
    out = text
    for old, new in replacements:
        if not old or "\n" in old or "\n" in new:
            raise SeedError("%s: a substitution must be one non-empty line, got %r -> %r"
                            % (name, old, new))
        if old not in out:
            raise SeedError("%s: the seed text %r is not there (is this the seed's file?)"
                            % (name, old))
        out = out.replace(old, new)
    changes = [LineChange(name, n, a, b)
               for n, (a, b) in enumerate(zip(text.split("\n"), out.split("\n")), 1) if a != b]
    return out, changes


def read_seed(seed_dir=SEED_DIR):
    """{"master": text, "backup": text, "script": text} from the seed directory."""
    texts = {}
    for key, fname in SEED_FILES.items():
        path = Path(seed_dir) / fname
        try:
            texts[key] = path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise SeedError("seed file %s is missing (a clean clone has tests/data/seed/)"
                            % path) from None
        except UnicodeDecodeError as exc:
            raise SeedError("seed file %s is not UTF-8: %s" % (path, exc)) from None
    return texts


def config_value(text, keyword, *, name="keepalived.conf"):
    """The first argument of the one line starting with `keyword` in a seed file."""
    found = re.findall(r"^[ \t]*%s[ \t]+([^\s#]+)" % re.escape(keyword), text, re.M)
    if len(found) != 1:
        raise SeedError("%s: expected one %r line, found %d" % (name, keyword, len(found)))
    return found[0]


def config_int(text, keyword, *, name="keepalived.conf"):
    value = config_value(text, keyword, name=name)
    try:
        return int(value)
    except ValueError:
        raise SeedError("%s: %s %r is not an integer" % (name, keyword, value)) from None


@dataclass(frozen=True)
class SeedParams:
    """What the steps compute with, read from the seed configs."""

    instance: str
    vrid: int
    advert_int: int
    script_interval: int
    weight: int
    priority: dict              # role -> base priority

    @classmethod
    def from_texts(cls, texts):
        master, backup = texts["master"], texts["backup"]
        params = cls(instance=config_value(master, "vrrp_instance"),
                     vrid=config_int(master, "virtual_router_id"),
                     advert_int=config_int(master, "advert_int"),
                     script_interval=config_int(master, "interval"),
                     weight=config_int(master, "weight"),
                     priority={"master": config_int(master, "priority"),
                               "backup": config_int(backup, "priority", name="backup")})
        if config_int(backup, "virtual_router_id", name="backup") != params.vrid:
            raise SeedError("the seed's master and backup configs have different VRIDs")
        return params

    def effective(self, role):
        """Base priority + the script weight while chk_http_port succeeds (keepalived §3.2)."""
        return min(254, self.priority[role] + max(self.weight, 0))


# -- the daemons ---------------------------------------------------------------
@dataclass(frozen=True)
class DaemonCommand:
    """A VRRP daemon's command line: {keepalived} {fastvrrp} {config} {pid}
    {vrrp_pid} {checkers_pid} are filled in per node."""

    name: str
    argv: tuple

    def resolve(self, **paths):
        exe = {}
        if any("{keepalived}" in a for a in self.argv):
            try:
                exe["keepalived"] = keepalived_path()
            except KeepalivedError as exc:
                raise SeedError(str(exc)) from None
        if any("{fastvrrp}" in a for a in self.argv):
            exe["fastvrrp"] = fastvrrp_path()
        try:
            return [a.format(**exe, **paths) for a in self.argv]
        except (KeyError, IndexError, ValueError) as exc:
            raise SeedError("daemon %s: bad placeholder in %r: %s" % (self.name, self.argv, exc)) \
                from None


# keepalived_proc's foreground form: VRRP child only (-P), no respawn (-R), no syslog (-G)
KEEPALIVED = DaemonCommand("keepalived", (
    "{keepalived}", "-n", "-l", "-D", "-G", "-P", "-R", "-f", "{config}",
    "-p", "{pid}", "-r", "{vrrp_pid}", "-c", "{checkers_pid}"))
# keepalived's own command line, which fastvrrp accepts (issue 4, point 1); the same
# logging as keepalived's above (console, detailed, no syslog)
FASTVRRP = DaemonCommand("fastvrrp", (
    "{fastvrrp}", "-f", "{config}", "-n", "-l", "-D", "-G",
    "-p", "{pid}", "-r", "{vrrp_pid}", "-c", "{checkers_pid}"))
DAEMONS = {"keepalived": KEEPALIVED, "fastvrrp": FASTVRRP}


def daemon_command(spec):
    """A DaemonCommand from a name in DAEMONS or a DaemonCommand."""
    if isinstance(spec, DaemonCommand):
        return spec
    if spec in DAEMONS:
        return DAEMONS[spec]
    raise SeedError("unknown daemon %r: use one of %s or a DaemonCommand"
                    % (spec, ", ".join(sorted(DAEMONS))))


def fastvrrp_path():
    beside = Path(sys.executable).parent / "fastvrrp"
    path = str(beside) if os.access(beside, os.X_OK) else shutil.which("fastvrrp")
    if not path:
        raise SeedError("the fastvrrp command is not installed (make build)")
    return path


def nginx_path():
    path = shutil.which("nginx") or next(
        (p for p in NGINX_CANDIDATES if os.access(p, os.X_OK)), None)
    if path is None:
        raise SeedError("nginx is not installed (Debian: apt-get install nginx-light, "
                        "or make system-deps)")
    return path


def _require_tools():
    for tool in ("unshare", "nsenter", "ps", "kill"):
        if not shutil.which(tool):
            raise SeedError("%s is not installed (Debian: util-linux / procps)" % tool)
    nginx_path()


# -- who holds the VIP: rtnetlink address notifications -----------------------
class VipWatch:
    """Which nodes hold `vip`, from RTM_NEWADDR/RTM_DELADDR notifications
    (nladdr.AddressWatch on IPv4).  `events` are (t_ns, node, held); `sample()`
    asks the kernel afresh (a dump per node), independently of the notifications.
    """

    def __init__(self, namespaces, vip):
        self.vip = vip
        self.namespaces = dict(namespaces)
        self._watch = nladdr.AddressWatch(self.namespaces, groups=nladdr.RTMGRP_IPV4_IFADDR,
                                          name="seed-vip-watch")

    @property
    def events(self):
        return self._watch.changes(self.vip, 0)

    def holders(self):
        """The nodes holding the VIP, as the notifications tell."""
        return frozenset(self._watch.holders(self.vip))

    def sample(self):
        """The nodes holding the VIP, from a fresh dump of each namespace."""
        return frozenset(n for n, ns in self.namespaces.items()
                         if any(addr == self.vip for _i, addr, _p in nladdr.ipv4_addresses(ns)))

    def change(self, node, held, since_ns):
        """Time (ns) of the first change of `node` to `held` at or after since_ns, or None."""
        try:
            return self._watch.change(node, self.vip, held, since_ns)
        except nladdr.WatchStopped as exc:
            raise StepFailed(str(exc)) from None

    def changes_between(self, t0_ns, t1_ns):
        return self._watch.changes(self.vip, t0_ns, t1_ns)

    def close(self):
        self._watch.close()


# -- the client: requests http://VIP/ from the client namespace --------------
PROBE_PROGRAM = r"""
import http.client, sys, time
vip, period, timeout = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
while True:
    try:
        conn = http.client.HTTPConnection(vip, 80, timeout=timeout)
        conn.request("GET", "/")
        reply = conn.getresponse()
        body = reply.read(512).decode("utf-8", "replace").split("\n")[0]
        conn.close()
        line = "ok %d %s" % (reply.status, body)
    except Exception as exc:
        line = "err %s" % type(exc).__name__
    print(time.monotonic_ns(), line, flush=True)
    time.sleep(period)
"""


@dataclass(frozen=True)
class Reply:
    """One request of the client: when it ended, and whose page came back."""

    t_ns: int
    ok: bool
    node: str = None            # the node whose index page answered
    text: str = ""


class ClientProbe:
    """The client namespace requesting http://VIP/ every PROBE_INTERVAL.

    Each request's outcome is stamped with CLOCK_MONOTONIC in the client (one
    clock for every namespace), read back by a thread into `replies`.
    """

    def __init__(self, lab, node, vip, pages):
        self.pages = dict(pages)             # page first word (an address) -> node
        self.replies = []
        self._cond = threading.Condition()
        self.proc = lab.popen(node, [sys.executable, "-c", PROBE_PROGRAM, vip,
                                     str(PROBE_INTERVAL), str(PROBE_TIMEOUT)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
        self._thread = threading.Thread(target=self._read, name="seed-client", daemon=True)
        self._thread.start()

    def _read(self):
        for raw in self.proc.stdout:
            parts = raw.decode("utf-8", "replace").rstrip("\n").split(" ", 3)
            if len(parts) < 2 or not parts[0].isdigit():
                continue
            t_ns, ok = int(parts[0]), parts[1] == "ok"
            text = parts[3] if ok and len(parts) > 3 else " ".join(parts[2:])
            node = self.pages.get(text.split(" ")[0]) if ok and parts[2] == "200" else None
            with self._cond:
                self.replies.append(Reply(t_ns, ok and node is not None, node, text))
                self._cond.notify_all()

    def first(self, node, since_ns):
        """The first reply from `node`'s page at or after since_ns, or None."""
        with self._cond:
            return next((r for r in self.replies if r.t_ns >= since_ns and r.node == node), None)

    def between(self, t0_ns, t1_ns):
        with self._cond:
            return [r for r in self.replies if t0_ns <= r.t_ns <= t1_ns]

    def running(self):
        return self.proc.poll() is None


# -- a node's host: its own PID namespace, nginx, the daemon ------------------
# pid 1 of a node: reaps every orphan (nginx daemonizes; a zombie would still be
# counted by the seed's `ps -C nginx`).  Killing it kills the whole host.
INIT_PROGRAM = r"""
import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
sys.stdout.write("ready\n")
sys.stdout.flush()
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
while True:
    signal.sigwait({signal.SIGCHLD})
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
"""


def _children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as fh:
                    stat = fh.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def _await_exit(pid, timeout):
    """True once process `pid` (any process, not only our children) is gone."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([pidfd], [], [], timeout)[0])
    finally:
        os.close(pidfd)


class Host:
    """One boot of a node: `unshare --pid --mount-proc` with INIT_PROGRAM as pid 1.

    Processes started with popen() run inside it (nsenter into its PID and
    mount namespaces, in the node's network namespace).
    """

    def __init__(self, lab, node, timeout=10.0):
        self.lab, self.node = lab, node
        log_path = lab.path("%s-host.log" % node)
        with open(log_path, "ab") as log:
            self.proc = lab.popen(node, ["unshare", "--pid", "--fork", "--kill-child",
                                         "--mount-proc", sys.executable, "-c", INIT_PROGRAM],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
        try:
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            line = self.proc.stdout.readline() if ready else b""
        finally:
            self.proc.stdout.close()
        if line != b"ready\n":
            lab.stop(self.proc, sig=signal.SIGKILL)
            with open(log_path, errors="replace") as fh:
                raise SeedError("the PID namespace of %s did not start: %s"
                                % (node, fh.read().strip() or "no output in %gs" % timeout))
        kids = _children(self.proc.pid)
        if len(kids) != 1:
            lab.stop(self.proc, sig=signal.SIGKILL)
            raise SeedError("the PID namespace of %s: expected one init, found %r" % (node, kids))
        self.init_pid = kids[0]

    def popen(self, argv, **kwargs):
        return self.lab.popen(self.node, ["nsenter", "-t", str(self.init_pid), "-p", "-m", "--"]
                              + list(argv), private_sysfs=False, **kwargs)

    def run(self, argv, timeout=10.0):
        """Run argv inside the host; (exit code, output)."""
        proc = self.popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.lab.stop(proc)
            raise SeedError("%s on %s did not finish within %gs" % (argv[0], self.node, timeout)) \
                from None
        return self.lab.stop(proc), out.decode("utf-8", "replace").strip()

    def power_off(self, timeout=10.0):
        """SIGKILL pid 1: the kernel kills every process of this host.

        unshare, its parent, reaps it (no zombie is left to the machine's
        init), then the lab reaps unshare.
        """
        if self.proc.poll() is None and self.init_pid in _children(self.proc.pid):
            os.kill(self.init_pid, signal.SIGKILL)
            if not _await_exit(self.proc.pid, timeout):
                raise SeedError("unshare of %s did not exit after its init was killed"
                                % self.node)
        self.lab.stop(self.proc, sig=signal.SIGKILL, grace=timeout)
        if not _await_exit(self.init_pid, timeout):
            raise SeedError("the PID namespace of %s outlived its init" % self.node)


@dataclass
class NodeFiles:
    """The files of one node, all in the lab's work directory."""

    config: str
    script: str
    pid: str
    vrrp_pid: str
    checkers_pid: str
    daemon_log: str
    nginx_conf: str
    nginx_pid: str
    nginx_log: str
    nginx_dir: str

    @classmethod
    def for_node(cls, lab, role):
        p = lambda suffix: lab.path("%s-%s" % (role, suffix))  # noqa: E731
        return cls(config=p("keepalived.conf"), script=p("check_nginx_pid.sh"),
                   pid=p("daemon.pid"), vrrp_pid=p("daemon-vrrp.pid"),
                   checkers_pid=p("daemon-checkers.pid"), daemon_log=p("daemon.log"),
                   nginx_conf=p("nginx.conf"), nginx_pid=p("nginx.pid"),
                   nginx_log=p("nginx-error.log"), nginx_dir=p("nginx"))


NGINX_CONF = """\
# nginx of lab node {role}: the seed's web server, private to this node.
user root;
worker_processes 1;
pid {pid};
error_log {log};
events {{
    worker_connections 64;
}}
http {{
    access_log off;
    default_type text/plain;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 80;
        root {dir}/html;
        index index.html;
    }}
}}
"""
BROKEN_NGINX_CONF = "# lab: a config nginx refuses, so the check script cannot restart it\n" \
                    "this_is_not_an_nginx_directive;\n"


def node_texts(texts, role, *, script_path, vip, nginx_cmd, kill_cmd):
    """The seed's keepalived.conf of `role` and check script, as the lab runs them.

    Returns (config text, script text, [LineChange]).  Only these change:
    keepalived.conf: the script path, and the VIP moved into the lab subnet;
    check_nginx_pid.sh, two commands swapped for a lab node:
    - `systemctl start nginx`: no systemd here; this node's nginx is started
      with its own config (the script keeps its logic and exit status);
    - `killall keepalived`: it would kill every keepalived on the machine (the
      other node's too) and would not stop fastvrrp at all; this node's daemon
      gets the same SIGTERM through its pid file.
    """
    config, changes = substitute(
        texts[role], [(SEED_SCRIPT_PATH, script_path), (SEED_SUBNET + str(VIP_HOST), vip)],
        name="%s keepalived.conf" % role)
    script, script_changes = substitute(
        texts["script"], [("systemctl start nginx", nginx_cmd),
                          ("killall keepalived",
                           kill_cmd + "  # lab: was killall keepalived; by pid file")],
        name="%s check_nginx_pid.sh" % role)
    return config, script, changes + script_changes


class SeedNode:
    """A seed host in the lab: its link, seed files, nginx and VRRP daemon."""

    def __init__(self, lab, role, link, daemon, texts, vip):
        self.lab, self.role, self.link = lab, role, link
        self.daemon = daemon_command(daemon)
        self.address = link.ip4
        self.vip = vip
        self.files = f = NodeFiles.for_node(lab, role)
        self.host = None
        self.daemon_proc = None
        self._log_mark = 0
        self.nginx_cmd = shlex.join([nginx_path(), "-c", f.nginx_conf, "-e", f.nginx_log])
        self.kill_cmd = "kill $(cat %s)" % shlex.quote(f.pid)
        self.config_text, self.script_text, self.changes = node_texts(
            texts, role, script_path=f.script, vip=vip, nginx_cmd=self.nginx_cmd,
            kill_cmd=self.kill_cmd)
        with open(f.config, "w", encoding="utf-8") as fh:
            fh.write(self.config_text)
        with open(f.script, "w", encoding="utf-8") as fh:
            fh.write(self.script_text)
        os.chmod(f.script, 0o775)                      # the seed: chmod 775 check_nginx_pid.sh
        os.makedirs(os.path.join(f.nginx_dir, "html"), exist_ok=True)
        with open(os.path.join(f.nginx_dir, "html", "index.html"), "w") as fh:
            fh.write("%s %s\n" % (self.address, role))  # the seed: each page names its host
        self.write_nginx_conf()

    # -- host life ---------------------------------------------------------
    def boot(self):
        """Power on: a fresh PID namespace, then nginx as systemd would start it."""
        self.host = Host(self.lab, self.role)
        code, out = self.start_nginx()
        if code != 0:
            raise SeedError("nginx did not start on %s (exit %d): %s" % (self.role, code, out))

    def power_off(self):
        """Every process of the host SIGKILLed, ens33 down, runtime state gone.

        A powered-off host keeps no addresses and an empty /run: the VIP the
        killed daemon could not remove and the pid files go with it.
        """
        if self.host is not None:
            self.host.power_off()
            self.host = None
        self.set_link(False)
        for index, addr, plen in nladdr.ipv4_addresses(self.link.ns):
            if index == self.link.ifindex and addr != self.address:
                nladdr.delete_ipv4(self.link.ns, index, addr, plen)
        for path in (self.files.pid, self.files.vrrp_pid, self.files.checkers_pid,
                     self.files.nginx_pid):
            if os.path.exists(path):
                os.unlink(path)
        if self.daemon_proc is not None:
            self.lab.stop(self.daemon_proc)
            self.daemon_proc = None

    def set_link(self, up):
        batch = nlbatch.RtnlBatch(self.link.ns)
        batch.link_set(self.link.ifindex, up=up, what="set %s %s on %s"
                       % (self.link.ifname, "up" if up else "down", self.role))
        try:
            batch.commit()
        except nlbatch.NetlinkBatchError as exc:
            raise SeedError(str(exc)) from None
        if up:
            self.lab.wait_links([self.link])

    # -- nginx -------------------------------------------------------------
    def write_nginx_conf(self, broken=False):
        f = self.files
        text = BROKEN_NGINX_CONF if broken else NGINX_CONF.format(
            role=self.role, pid=f.nginx_pid, log=f.nginx_log, dir=f.nginx_dir)
        with open(f.nginx_conf, "w") as fh:
            fh.write(text)

    def start_nginx(self):
        return self.host.run(shlex.split(self.nginx_cmd))

    def nginx_pid(self):
        try:
            with open(self.files.nginx_pid) as fh:
                return int(fh.read().strip() or 0) or None
        except (FileNotFoundError, ValueError):
            return None

    def stop_nginx(self):
        """`systemctl stop nginx`: SIGTERM to the pid in nginx's pid file."""
        pid = self.nginx_pid()
        if pid is None:
            raise SeedError("nginx is not running on %s (no pid file)" % self.role)
        code, out = self.host.run(["kill", "-TERM", str(pid)])
        if code != 0:
            raise SeedError("stopping nginx (pid %d) on %s failed: %s" % (pid, self.role, out))
        return pid

    def nginx_errors(self):
        try:
            with open(self.files.nginx_log, errors="replace") as fh:
                return [l.strip() for l in fh if "[emerg]" in l]
        except FileNotFoundError:
            return []

    # -- the VRRP daemon ---------------------------------------------------
    def start_daemon(self):
        f = self.files
        argv = self.daemon.resolve(config=f.config, pid=f.pid, vrrp_pid=f.vrrp_pid,
                                   checkers_pid=f.checkers_pid)
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        self._log_mark = os.path.getsize(f.daemon_log) if os.path.exists(f.daemon_log) else 0
        with open(f.daemon_log, "a") as log:
            self.daemon_proc = self.host.popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                               stderr=subprocess.STDOUT, env=env)
        return argv

    def daemon_status(self):
        """None while the daemon runs, else its exit status."""
        return None if self.daemon_proc is None else self.daemon_proc.poll()

    def log_since_start(self):
        try:
            with open(self.files.daemon_log, "rb") as fh:
                fh.seek(self._log_mark)
                return fh.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=15):
        return "\n".join(self.log_since_start().splitlines()[-lines:])


# -- results -------------------------------------------------------------------
@dataclass
class Check:
    what: str
    ok: bool
    detail: str = ""


@dataclass
class StepResult:
    """What a step did and saw.  `observed` holds the facts tests assert on."""

    number: int
    title: str
    checks: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)     # label -> (ms, expected ms or None)
    observed: dict = field(default_factory=dict)
    error: str = None

    @property
    def passed(self):
        return self.error is None and bool(self.checks) and all(c.ok for c in self.checks)

    def summary(self):
        lines = ["step %d (%s): %s" % (self.number, self.title, "PASS" if self.passed else "FAIL")]
        lines += ["  %s %s%s" % ("ok  " if c.ok else "FAIL", c.what,
                                 " (%s)" % c.detail if c.detail else "") for c in self.checks]
        if self.error:
            lines.append("  error: %s" % self.error)
        return "\n".join(lines)


def _ms(t_ns, t0_ns):
    return None if t_ns is None else (t_ns - t0_ns) / 1e6


# -- the scenario ----------------------------------------------------------------
class SeedLab:
    """The seed's lab and its steps; see the module docstring.

    `narrate(kind, text)` receives the story as it happens: kind is "lab",
    "change" (a line changed from the seed), "step", "do", "saw", "time" or
    "check".
    """

    def __init__(self, master="keepalived", backup="keepalived", *, subnet=DEFAULT_SUBNET,
                 seed_dir=SEED_DIR, narrate=None):
        if not re.fullmatch(r"(\d{1,3}\.){3}", subnet or "") or \
                any(int(x) > 255 for x in subnet.split(".")[:3]):
            raise SeedError("subnet %r: give the first three octets of a /24, like %r"
                            % (subnet, DEFAULT_SUBNET))
        self.daemons = {"master": daemon_command(master), "backup": daemon_command(backup)}
        self.subnet = subnet
        self.vip = subnet + str(VIP_HOST)
        self.texts = read_seed(seed_dir)
        self.params = SeedParams.from_texts(self.texts)
        self.narrate = narrate or (lambda kind, text: None)
        self.lab = self.watch = self.client = self.capture = None
        self.nodes = {}
        self._step = 0
        self._clock_offset_ns = 0
        self._owner_pid = os.getpid()

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- building ------------------------------------------------------------
    def open(self):
        _require_tools()
        self.lab = Lab()
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def _build(self):
        lab, sn = self.lab, self.subnet
        lab.add_switch("sw")
        for role in ("master", "backup", "client"):
            lab.add_node(role, ipv6=False)
        links = lab.connect(*[LinkSpec(role, ifname="ens33" if role != "client" else "eth0",
                                       ipv4=("%s%d/24" % (sn, HOSTS[role]),))
                              for role in ("master", "backup", "client")])
        by_role = {l.node: l for l in links}
        for role in ("master", "backup"):
            self.nodes[role] = SeedNode(lab, role, by_role[role], self.daemons[role],
                                        self.texts, self.vip)
        self.narrate("lab", "lab %s: switch sw/br0; master ens33 %s, backup ens33 %s, client eth0 "
                     "%s; VIP %s" % (lab.id, by_role["master"].ip4, by_role["backup"].ip4,
                                     by_role["client"].ip4, self.vip))
        for change in self.changes():
            self.narrate("change", "%s:%d  %s  ->  %s" % (change.file, change.line,
                                                         change.before.strip(),
                                                         change.after.strip()))
        self.narrate("lab", "check script: `systemctl start nginx` starts this node's nginx "
                     "(no systemd here); `killall keepalived` became a kill by this node's "
                     "daemon pid file (killall would hit every keepalived on the machine, the "
                     "other node's too)")
        self._clock_offset_ns = time.time_ns() - time.monotonic_ns()
        self.capture = lab.capture("sw", "br0", name="adverts.pcap")
        self.watch = VipWatch({r: n.link.ns for r, n in self.nodes.items()}, self.vip)
        for node in self.nodes.values():
            node.boot()
            self.narrate("lab", "%s: own PID namespace (pid 1 reaps orphans), nginx on *:80 "
                         "serving %r" % (node.role, "%s %s" % (node.address, node.role)))
        self.client = ClientProbe(lab, "client", self.vip,
                                  {n.address: r for r, n in self.nodes.items()})
        self.narrate("lab", "client: GET http://%s/ every %d ms (%d ms timeout)"
                     % (self.vip, PROBE_INTERVAL * 1000, PROBE_TIMEOUT * 1000))

    def changes(self):
        """Every line changed from the seed files, for every node."""
        return [c for node in self.nodes.values() for c in node.changes]

    def close(self):
        """Tear the lab down; Ctrl-C or SIGTERM arriving meanwhile waits until it is done."""
        if os.getpid() != self._owner_pid:
            return  # a forked copy of this process never touches the parent's lab
        main = threading.current_thread() is threading.main_thread()
        if main:
            saved = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            if self.watch is not None:
                self.watch.close()
                self.watch = None
            for node in self.nodes.values():
                if node.host is not None:   # unshare waits out SIGTERM: power off instead
                    try:
                        node.host.power_off()
                    except Exception:       # the lab's close() below still kills it
                        pass
                    node.host = None
            if self.lab is not None:
                lab, self.lab = self.lab, None
                lab.close()
        finally:
            if main:
                signal.pthread_sigmask(signal.SIG_SETMASK, saved)

    # -- helpers -------------------------------------------------------------
    def _adverts(self):
        """[(t_ns monotonic, Advert)] captured so far for the seed's VRID."""
        out = []
        for frame in self.capture.frames():
            try:
                advert = decode_frame(frame)
            except (AdvertError, PcapError):
                continue
            if advert.vrid == self.params.vrid:
                out.append((int(frame.ts * 1e9) - self._clock_offset_ns, advert))
        return out

    def _adverts_from(self, role, since_ns=0, until_ns=None):
        address = self.nodes[role].address
        return [(t, a) for t, a in self._adverts()
                if a.src == address and t >= since_ns and (until_ns is None or t <= until_ns)]

    def _await(self, what, condition, timeout, alive=()):
        """wait_for(condition) that fails at once when a daemon in `alive` exits."""
        def check():
            for role in alive:
                status = self.nodes[role].daemon_status()
                if status is not None:
                    raise StepFailed("%s; the %s daemon (%s) exited with status %s"
                                     % (what, role, self.nodes[role].daemon.name, status))
            if not self.client.running():
                raise StepFailed("%s; the client probe died" % what)
            return condition()
        try:
            return wait_for(check, timeout, interval=0.005, max_interval=0.02, what=what)
        except WaitTimeout as exc:
            raise StepFailed(str(exc)) from None

    def _wait_vip(self, role, held, since_ns, timeout, alive=()):
        verb = "on" if held else "gone from"
        return self._await("VIP %s %s" % (verb, role),
                           lambda: self.watch.change(role, held, since_ns), timeout, alive)

    def _wait_page(self, role, since_ns, timeout, alive=()):
        return self._await("the client served by %s" % role,
                           lambda: self.client.first(role, since_ns), timeout, alive).t_ns

    def _wait_advert(self, role, since_ns, timeout, alive=()):
        """The first advert from `role` captured at or after since_ns: (t_ns, Advert)."""
        def found():
            got = self._adverts_from(role, since_ns)
            return got[0] if got else None
        return self._await("an advert from %s" % role, found, timeout, alive)

    def _priority_check(self, step, role, advert):
        p = self.params
        step.observed["%s_priority" % role] = advert.priority
        self._check(step, "the %s advertises priority %d = %d + weight %d"
                    % (role, p.effective(role), p.priority[role], p.weight),
                    advert.priority == p.effective(role), "advertised %d" % advert.priority)

    def _wait_log(self, role, pattern, timeout):
        node = self.nodes[role]
        return self._await("%r in the %s daemon's log" % (pattern, role),
                           lambda: re.search(pattern, node.log_since_start()), timeout, (role,))

    def _timing(self, step, label, ms, expected=None, note=""):
        step.timings[label] = (ms, expected)
        text = "%s: %.0f ms" % (label, ms)
        if expected is not None:
            text += " (expected ~%.0f ms%s)" % (expected, "; " + note if note else "")
        elif note:
            text += " (%s)" % note
        self.narrate("time", text)

    def _check(self, step, what, ok, detail=""):
        step.checks.append(Check(what, bool(ok), detail))
        self.narrate("check", "%s %s%s" % ("PASS" if ok else "FAIL", what,
                                           " (%s)" % detail if detail else ""))

    def _holders_check(self, step, role):
        holders = self.watch.sample()
        step.observed["holders"] = holders
        self._check(step, "the VIP is on the %s only" % role, holders == {role},
                    "holders: %s" % (", ".join(sorted(holders)) or "none"))

    def _page_check(self, step, role, reply_ns):
        reply = self.client.first(role, reply_ns)
        step.observed["page"] = reply.node if reply else None
        self._check(step, "the client gets the %s's page" % role, reply is not None,
                    reply.text if reply else "")

    def _run_step(self, title, body):
        self._step += 1
        step = StepResult(self._step, title)
        self.narrate("step", "Step %d: %s" % (step.number, title))
        try:
            body(step)
        except SeedError as exc:      # StepFailed, or a node that cannot boot
            try:
                state = self.diagnose()
            except Exception as diag:  # the failure report must not hide the failure
                state = "(no diagnosis: %s)" % diag
            step.error = "%s\n%s" % (exc, state)
            self.narrate("check", "FAIL %s" % step.error)
        self.narrate("check", "step %d %s" % (step.number, "PASS" if step.passed else "FAIL"))
        return step

    def diagnose(self):
        """What the lab looks like now: for a failed step's message."""
        now = time.monotonic_ns()
        lines = ["-- state at failure: VIP holders (fresh dump): %s"
                 % (", ".join(sorted(self.watch.sample())) or "none")]
        lines += ["   VIP change %+.0f ms: %s %s"
                  % (_ms(t, now), node, "added" if held else "removed")
                  for t, node, held in self.watch.events[-6:]]
        lines += ["   advert %+.0f ms: from %s priority %d" % (_ms(t, now), a.src, a.priority)
                  for t, a in self._adverts()[-6:]]
        replies = self.client.replies[-1:]
        lines += ["   client %+.0f ms: %s" % (_ms(r.t_ns, now), r.text) for r in replies]
        for role, node in self.nodes.items():
            status = node.daemon_status()
            state = ("not running" if node.daemon_proc is None else
                     "running" if status is None else "exited with status %s" % status)
            lines.append("-- %s: %s %s; log tail:" % (role, node.daemon.name, state))
            lines += ["   " + l for l in node.log_tail(12).splitlines()]
        return "\n".join(lines)

    def _mdi_ms(self, role):
        p = self.params
        return master_down_interval(p.effective(role), p.advert_int) * 1000

    # -- the steps -------------------------------------------------------------
    def step_start(self):
        """Start the master's daemon, then (once it serves) the backup's."""
        return self._run_step("start both; the VIP goes to the master", self._start)

    def _start(self, step):
        p, master, backup = self.params, self.nodes["master"], self.nodes["backup"]
        limit = self._mdi_ms("master") / 1000 + p.advert_int + SLACK
        t0 = time.monotonic_ns()
        master.start_daemon()
        self.narrate("do", "start the master's %s (state MASTER, priority %d; chk_http_port "
                     "adds %d while nginx runs)" % (master.daemon.name, p.priority["master"],
                                                    p.weight))
        t_vip = self._wait_vip("master", True, t0, limit, ("master",))
        self._timing(step, "VIP on the master", _ms(t_vip, t0), self._mdi_ms("master"),
                     "2.2.7 waits 3 x advert_int + Skew_Time(%d) at start" % p.effective("master"))
        t_page = self._wait_page("master", t0, limit, ("master",))
        self._timing(step, "client served by the master", _ms(t_page, t0))
        _t, advert = self._wait_advert("master", t_vip - int(p.advert_int * 1e9),
                                       p.advert_int + SLACK, ("master",))
        self._priority_check(step, "master", advert)
        # The backup starts once the master serves: started in the same
        # instant, their Master_Down timers (priorities 102 and 101) differ by
        # 4 ms and either could win the first election.
        t1 = time.monotonic_ns()
        backup.start_daemon()
        self.narrate("do", "start the backup's %s (state BACKUP, priority %d)"
                     % (backup.daemon.name, p.priority["backup"]))
        self._wait_log("backup", r"\(%s\) Entering BACKUP STATE" % re.escape(p.instance),
                       SLACK + p.advert_int)
        self._timing(step, "backup in BACKUP state", _ms(time.monotonic_ns(), t1))
        self._holders_check(step, "master")
        self._page_check(step, "master", t0)

    def step_nginx_restart(self):
        """Stop nginx on the master: the check script restarts it, the VIP stays."""
        return self._run_step("stop nginx on the master; the check script restarts it and "
                              "the VIP stays", self._nginx_restart)

    def _nginx_restart(self, step):
        p, master = self.params, self.nodes["master"]
        window = 2 * p.script_interval + 0.2       # sample over two script intervals
        t0 = time.monotonic_ns()
        old = master.stop_nginx()
        self.narrate("do", "stop nginx on the master (systemctl stop nginx: SIGTERM to pid "
                     "%d)" % old)
        samples, t_back = [], None
        deadline = t0 + int(window * 1e9)
        while time.monotonic_ns() < deadline:
            if master.daemon_status() is not None:
                raise StepFailed("the master's daemon exited with status %s:\n%s"
                                 % (master.daemon_status(), master.log_tail()))
            samples.append((time.monotonic_ns(), self.watch.sample()))
            pid = master.nginx_pid()
            if t_back is None and pid is not None and pid != old:
                t_back = time.monotonic_ns()
            time.sleep(SAMPLE_PERIOD)
        t_end = time.monotonic_ns()
        step.observed["samples"] = [h for _t, h in samples]
        step.observed["sample_span_ms"] = _ms(samples[-1][0], samples[0][0]) if samples else 0
        step.observed["nginx_restarted"] = t_back is not None
        step.observed["vip_changes"] = self.watch.changes_between(t0, t_end)
        if t_back is not None:
            self._timing(step, "nginx running again (new pid file)", _ms(t_back, t0),
                         note="the script runs every %d s" % p.script_interval)
        self._check(step, "the check script restarted nginx", t_back is not None)
        bad = [h for h in step.observed["samples"] if h != {"master"}]
        self._check(step, "exactly one VIP holder, the master, in every sample",
                    samples and not bad and not step.observed["vip_changes"],
                    "%d samples over %.1f s, %d otherwise, %d VIP changes"
                    % (len(samples), step.observed["sample_span_ms"] / 1000, len(bad),
                       len(step.observed["vip_changes"])))
        if t_back is not None:
            t_page = self._wait_page("master", t_back, SLACK, ("master",))
            failed = [r for r in self.client.between(t0, t_page) if not r.ok]
            step.observed["client_errors"] = len(failed)
            self.narrate("saw", "the client had %d failed requests while nginx was down"
                         % len(failed))
            self._timing(step, "client served by the master again", _ms(t_page, t0))
            self._page_check(step, "master", t_back)
        self._holders_check(step, "master")

    def step_power_off(self):
        """SIGKILL everything on the master, link down: the backup takes over."""
        return self._run_step("power off the master; the backup takes the VIP", self._power_off)

    def _power_off(self, step):
        p, master = self.params, self.nodes["master"]
        # RFC 3768 §6.4.2: no advert for Master_Down_Interval -> the backup becomes master
        expected = self._mdi_ms("backup")
        t0 = time.monotonic_ns()
        master.power_off()
        self.narrate("do", "power off the master: SIGKILL to its pid 1 (the daemon, nginx, "
                     "everything), ens33 down, its runtime addresses and /run files gone")
        t_vip = self._wait_vip("backup", True, t0, expected / 1000 + SLACK, ("backup",))
        self._timing(step, "VIP on the backup (failover)", _ms(t_vip, t0))
        before = self._adverts_from("master", 0, t0)
        if before:
            self._timing(step, "the master's last advert to VIP on the backup",
                         _ms(t_vip, before[-1][0]), expected,
                         "Master_Down_Interval = 3 x advert_int + Skew_Time(%d)"
                         % p.effective("backup"))
            step.observed["failover_from_last_advert_ms"] = _ms(t_vip, before[-1][0])
        step.observed["failover_ms"] = _ms(t_vip, t0)
        _t, advert = self._wait_advert("backup", t0, SLACK, ("backup",))
        self._priority_check(step, "backup", advert)
        t_page = self._wait_page("backup", t0, SLACK, ("backup",))
        self._timing(step, "client served by the backup", _ms(t_page, t0))
        self._holders_check(step, "backup")
        self._page_check(step, "backup", t0)

    def step_master_returns(self):
        """Link up, boot, daemon started: the master preempts."""
        return self._run_step("the master returns and takes the VIP back", self._master_returns)

    def _master_returns(self, step):
        p, master = self.params, self.nodes["master"]
        expected = self._mdi_ms("master")
        t_on = time.monotonic_ns()
        master.set_link(True)
        master.boot()
        self.narrate("do", "power on the master: ens33 up, a fresh PID namespace, nginx started")
        t0 = time.monotonic_ns()
        self._timing(step, "boot (link running, nginx up)", _ms(t0, t_on))
        master.start_daemon()
        self.narrate("do", "start the master's %s again" % master.daemon.name)
        # RFC 3768 §6.4.2: a preempting backup discards lower-priority adverts, so its
        # Master_Down_Timer runs out and it takes over
        limit = expected / 1000 + 2 * p.advert_int + SLACK
        t_vip = self._wait_vip("master", True, t0, limit, ("master", "backup"))
        self._timing(step, "VIP on the master (preemption)", _ms(t_vip, t0), expected,
                     "%d + %d beats %d + %d: it ignores the backup's adverts until "
                     "Master_Down_Interval(%d) runs out"
                     % (p.priority["master"], p.weight, p.priority["backup"], p.weight,
                        p.effective("master")))
        t_gone = self._wait_vip("backup", False, t0, SLACK, ("master", "backup"))
        self._timing(step, "VIP gone from the backup", _ms(t_gone, t0))
        _t, advert = self._wait_advert("master", t0, SLACK, ("master",))
        self._priority_check(step, "master", advert)
        t_page = self._wait_page("master", t_vip, SLACK, ("master",))
        self._timing(step, "client served by the master", _ms(t_page, t0))
        self._holders_check(step, "master")
        self._page_check(step, "master", t_vip)

    def step_nginx_broken(self):
        """nginx cannot restart on the master: the script stops the daemon, the VIP moves."""
        return self._run_step("nginx cannot be restarted on the master; the check script "
                              "stops its daemon and the VIP moves", self._nginx_broken)

    def _nginx_broken(self, step):
        p, master = self.params, self.nodes["master"]
        master.write_nginx_conf(broken=True)
        t0 = time.monotonic_ns()
        old = master.stop_nginx()
        self.narrate("do", "break the master's nginx config, then stop nginx (pid %d)" % old)
        limit = p.script_interval + SLACK

        def zero_adverts():
            return [t for t, a in self._adverts_from("master", t0) if a.priority == 0]

        def stopping():   # RFC 3768 §6.4.3: a master shutting down sends priority 0
            zero = zero_adverts()
            return zero[0] if zero else (time.monotonic_ns()
                                         if master.daemon_status() is not None else None)
        t_stop = self._await("the master's daemon stopped by the check script", stopping, limit)
        errors = master.nginx_errors()
        if errors:
            self.narrate("saw", "nginx refused to start: %s" % errors[-1])
        self._timing(step, "the master's daemon stops (priority-0 advert or exit)",
                     _ms(t_stop, t0), note="the script runs every %d s" % p.script_interval)
        # RFC 3768 §6.4.2: on priority 0 the backup sets Master_Down_Timer to Skew_Time
        t_vip = self._wait_vip("backup", True, t0, SLACK, ("backup",))
        self._timing(step, "VIP on the backup", _ms(t_vip, t0))
        zero = zero_adverts()
        step.observed["priority0"] = bool(zero)
        if zero:
            self._timing(step, "priority-0 advert to VIP on the backup", _ms(t_vip, zero[0]),
                         skew_time(p.effective("backup")) * 1000,
                         "Skew_Time(%d)" % p.effective("backup"))
        t_page = self._wait_page("backup", t0, SLACK, ("backup",))
        self._timing(step, "client served by the backup", _ms(t_page, t0))
        self._await("the master's daemon to exit", lambda: master.daemon_status() is not None,
                    SLACK)
        status = master.daemon_status()
        step.observed["daemon_status"] = status
        self._timing(step, "the master's daemon exited (status %s)" % status,
                     _ms(time.monotonic_ns(), t0))
        self._check(step, "the stopping master sent a priority-0 advert", zero,
                    "%d captured" % len(zero))
        self._check(step, "the check script stopped the master's daemon", status is not None,
                    "exit status %s" % status)
        self._holders_check(step, "backup")
        self._page_check(step, "backup", t0)


STEPS = ("start", "nginx", "poweroff", "return")


def run_scenario(master="keepalived", backup="keepalived", *, failure=False, steps=STEPS,
                 narrate=None, subnet=DEFAULT_SUBNET, seed_dir=SEED_DIR):
    """Run the seed's steps (then the failure case if asked); [StepResult].

    Stops after the first failed step: the later ones depend on its outcome.
    """
    unknown = [s for s in steps if s not in STEPS]
    if unknown or not steps or steps[0] != "start":
        raise SeedError("steps must start with 'start' and come from %s, got %r"
                        % (", ".join(STEPS), steps))
    results = []
    with SeedLab(master, backup, subnet=subnet, seed_dir=seed_dir, narrate=narrate) as seed:
        calls = {"start": seed.step_start, "nginx": seed.step_nginx_restart,
                 "poweroff": seed.step_power_off, "return": seed.step_master_returns}
        plan = [calls[s] for s in steps] + ([seed.step_nginx_broken] if failure else [])
        for call in plan:
            results.append(call())
            if not results[-1].passed:
                break
    return results
