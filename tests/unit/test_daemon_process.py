"""fastvrrp.daemon.process: the daemon's life cycle, run for real.

Most tests start `python -m fastvrrp` as a subprocess with the NullEngine
(FASTVRRP_TEST_ENGINE=null: no VRRP, no network), a fake systemd on
$NOTIFY_SOCKET and a fake syslog on FASTVRRP_TEST_SYSLOG, and wait for
events (READY=1, a log line, the exit) rather than for time.  Every process
a test starts is tracked by pid and killed in a finally.
"""

import asyncio
import os
import queue
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from fastvrrp.daemon import engine_api, process
from fastvrrp.daemon.engine_api import EngineStartError, NullEngine
from fastvrrp.daemon.options import parse
from fastvrrp.daemon.sdnotify import Notifier

import unixsock

TIMEOUT = 20.0

CONF = """\
global_defs {
  router_id %s
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 66
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.9.9.100/24
  }
}
"""
BROKEN = CONF.replace("virtual_router_id 66", "virtual_router_id 300")   # line 7


# ---------------------------------------------------------------- harness

class Work:
    """A short directory (AF_UNIX paths are short) with a config, a fake
    systemd and a fake syslog."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fvp-", dir="/tmp")
        self.conf = self.path("keepalived.conf")
        self.write_conf(CONF % "first_rid")
        self.pid_a = self.path("a.pid")
        self.pid_b = self.path("b.pid")
        self.notify = self._bind("notify")
        self.syslog = self._bind("log")
        self.syslog.settimeout(0.05)
        self.syslog_lines = queue.Queue()
        self._closing = threading.Event()
        self._syslogd = threading.Thread(target=self._read_syslog, daemon=True)
        self._syslogd.start()

    def _read_syslog(self):
        """Read /dev/log at once, as a syslog daemon does (an unread socket
        takes only 10 datagrams)."""
        while not self._closing.is_set():
            try:
                self.syslog_lines.put(self.syslog.recv(8192).decode())
            except socket.timeout:
                pass
            except OSError:
                return

    def path(self, name):
        return os.path.join(self.dir, name)

    def write_conf(self, text):
        with open(self.conf, "w") as fh:
            fh.write(text)

    def _bind(self, name):
        return unixsock.datagram_socket(self.path(name), TIMEOUT)

    def env(self, **extra):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "FASTVRRP_TEST_ENGINE": "null", "TMPDIR": self.dir,
               "NOTIFY_SOCKET": self.path("notify"), "FASTVRRP_TEST_SYSLOG": self.path("log")}
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def next_note(self, prefix):
        """The next sd_notify datagram starting with `prefix` (others skipped)."""
        while True:
            data = self.notify.recv(4096).decode()
            if data.startswith(prefix):
                return dict(line.split("=", 1) for line in data.split("\n"))

    def next_syslog(self, contains):
        while True:
            data = self.syslog_lines.get(timeout=TIMEOUT)
            if contains in data:
                return data

    def close(self):
        self._closing.set()
        self._syslogd.join(TIMEOUT)
        self.notify.close()
        self.syslog.close()
        for name in os.listdir(self.dir):
            os.unlink(self.path(name))
        os.rmdir(self.dir)


class Fastvrrp:
    """`python -m fastvrrp ARGS` with its stderr read line by line."""

    def __init__(self, work, args, **env):
        self.work = work
        self.proc = subprocess.Popen([sys.executable, "-m", "fastvrrp", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=work.env(**env), cwd=work.dir, text=True)
        self.pids = {self.proc.pid}
        self.lines = []
        self._queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_line(self, text):
        """The first stderr line (from now on) containing `text`."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            line = self._queue.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                raise AssertionError("stderr ended before %r; got %r" % (text, self.lines))
            self.lines.append(line)
            if text in line:
                return line

    def rest(self):
        """Everything on stderr until the process closes it."""
        while True:
            line = self._queue.get(timeout=TIMEOUT)
            if line is None:
                return self.lines
            self.lines.append(line)

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def wait(self):
        return self.proc.wait(timeout=TIMEOUT)

    def kill_all(self):
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=TIMEOUT)
        finally:
            self.proc.stdout.close()
            self.proc.stderr.close()


@pytest.fixture
def work():
    w = Work()
    yield w
    w.close()


@pytest.fixture
def started(work):
    procs = []

    def start(*args, **env):
        p = Fastvrrp(work, list(args), **env)
        procs.append(p)
        return p
    yield start
    for p in procs:
        p.kill_all()


def foreground(work, start, *extra, **env):
    """A foreground daemon (-n -l -D) that has sent READY=1."""
    p = start("-n", "-l", "-D", "-f", work.conf, "-p", work.pid_a, "-r", work.pid_b, *extra, **env)
    ready = work.next_note("READY=1")
    assert int(ready["MAINPID"]) == p.proc.pid
    return p


def read(path):
    with open(path) as fh:
        return fh.read()


def gone_or_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_for(predicate, what):
    """Poll a condition the test cannot be told about (an orphan's exit)."""
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.01)


# ---------------------------------------------------------------- foreground life cycle

def test_foreground_start_and_stop(work, started):
    p = foreground(work, started)
    assert read(work.pid_a) == read(work.pid_b) == "%d\n" % p.proc.pid
    assert stat.S_IMODE(os.stat(work.pid_a).st_mode) == 0o644
    p.wait_line("Startup complete")
    p.signal(signal.SIGTERM)
    assert work.next_note("STOPPING=1") == {"STOPPING": "1"}
    assert p.wait() == 0
    lines = p.rest()
    assert lines[-1].endswith("Stopped fastvrrp v" + __import__("fastvrrp").__version__)
    assert any(line.endswith(": Stopping") for line in lines)
    assert not os.path.exists(work.pid_a) and not os.path.exists(work.pid_b)


def test_console_lines_read_like_keepalived(work, started):
    p = foreground(work, started, "-c", work.path("c.pid"))
    p.wait_line("Option -c accepted and ignored: there is no checker process")
    line = p.wait_line("Startup complete")
    stamp, _, message = line.partition(": ")
    assert message == "Startup complete"
    assert time.strptime(stamp, "%a %b %d %H:%M:%S %Y")            # %c in the C locale
    p.signal(signal.SIGTERM)
    assert p.wait() == 0


def test_sigint_stops(work, started):
    p = foreground(work, started)
    p.signal(signal.SIGINT)
    work.next_note("STOPPING=1")
    assert p.wait() == 0


def test_ignore_sigint(work, started):
    p = foreground(work, started, "--ignore-sigint")
    p.signal(signal.SIGINT)
    p.signal(signal.SIGHUP)
    p.wait_line("Reload complete")          # a stop would have dropped the reload,
    p.signal(signal.SIGUSR1)                # or this dump, if it came after it
    p.wait_line("Printing VRRP data")
    assert not any(line.endswith(": Stopping") for line in p.lines)
    p.signal(signal.SIGTERM)
    assert p.wait() == 0


def test_syslog_idents_as_keepalived(work, started):
    p = started("-n", "-f", work.conf, "-p", work.pid_a, "-r", work.pid_b)   # syslog only
    first = work.next_syslog("Starting fastvrrp")
    engine = work.next_syslog("NullEngine started")
    work.next_note("READY=1")
    assert first.startswith("<30>") and (" Keepalived[%d]: " % p.proc.pid) in first
    assert (" Keepalived_vrrp[%d]: " % p.proc.pid) in engine
    p.signal(signal.SIGTERM)
    assert p.wait() == 0
    assert p.rest() == []                    # no -l: nothing on the console


def test_dump_conf_logs_the_configuration(work, started):
    p = foreground(work, started, "-d")
    p.wait_line("------< Configuration (-d) >------")
    p.wait_line("virtual_router_id 66")
    p.signal(signal.SIGTERM)
    assert p.wait() == 0


def umask_of(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)


@pytest.mark.parametrize("args, conf_umask, expected", [
    ((), None, 0o177),                    # keepalived's default
    (("-u", "027"), None, 0o027),
    ((), "0022", 0o022),                  # global_defs umask
    (("-u", "077"), "0022", 0o077),       # the command line wins
])
def test_umask(work, started, args, conf_umask, expected):
    if conf_umask:
        work.write_conf((CONF % "r").replace("global_defs {", "global_defs {\n  umask %s" % conf_umask))
    p = foreground(work, started, *args)
    assert umask_of(p.proc.pid) == expected
    p.signal(signal.SIGTERM)
    assert p.wait() == 0


@pytest.mark.netns
def test_namespace_option_enters_the_namespace(work, started):
    name = "fvp-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
    try:
        p = foreground(work, started, "-s", name)
        daemon_ns = os.stat("/proc/%d/ns/net" % p.proc.pid).st_ino
        assert daemon_ns == os.stat("/run/netns/" + name).st_ino
        assert daemon_ns != os.stat("/proc/self/ns/net").st_ino
        p.wait_line("Changing syslog ident to Keepalived_vrrp_" + name)
        assert (" Keepalived_vrrp_%s[%d]: " % (name, p.proc.pid)) in work.next_syslog("NullEngine started")
        p.signal(signal.SIGTERM)
        assert p.wait() == 0
    finally:
        subprocess.run(["ip", "netns", "del", name], timeout=30)


def test_missing_namespace_is_fatal(work, started):
    p = started("-n", "-l", "-s", "fvp-no-such-ns", "-f", work.conf, "-p", work.pid_a,
                "-r", work.pid_b)
    assert p.wait() == 1
    assert any("Unable to set network namespace fvp-no-such-ns" in line for line in p.rest())


# ---------------------------------------------------------------- reload

def test_sighup_reloads_and_a_broken_config_keeps_the_old_one(work, started):
    p = foreground(work, started)
    work.write_conf(CONF % "second_rid")
    p.signal(signal.SIGHUP)
    assert "MONOTONIC_USEC" in work.next_note("RELOADING=1")
    work.next_note("READY=1")
    p.wait_line("Reloading ...")
    p.wait_line("NullEngine reloaded")
    p.wait_line("Reload complete")

    work.write_conf(BROKEN.replace("%s", "third_rid"))
    p.signal(signal.SIGHUP)
    work.next_note("RELOADING=1")
    assert "reload failed" in work.next_note("READY=1")["STATUS"]
    diag = p.wait_line("error:")
    assert "keepalived.conf:7:" in diag and "virtual_router_id" in diag
    p.wait_line("Reload failed")

    p.signal(signal.SIGUSR1)
    p.wait_line("Printing VRRP data")
    p.signal(signal.SIGTERM)
    assert p.wait() == 0
    data = read(work.path("keepalived.data"))
    assert "Router ID = second_rid" in data         # the engine still has the good config


# ---------------------------------------------------------------- dumps

@pytest.mark.parametrize("sig, log, name, content", [
    (signal.SIGUSR1, "Printing VRRP data", "keepalived.data", "Router ID = first_rid"),
    (signal.SIGUSR2, "Printing VRRP stats", "keepalived.stats", "VRRP Instance: VI_1"),
    (signal.SIGRTMAX - 1, "Printing VRRP stats", "keepalived.stats", "VRRP Instance: VI_1"),
    (signal.SIGRTMIN + 2, "Printing VRRP as json", "keepalived.json", "[]"),
])
def test_dump_signals_write_keepalived_files_in_tmpdir(work, started, sig, log, name, content):
    p = foreground(work, started)
    p.signal(sig)
    p.wait_line(log)
    p.signal(signal.SIGTERM)              # handled after the dump: the file is complete
    assert p.wait() == 0
    path = work.path(name)
    assert content in read(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [n for n in os.listdir(work.dir) if n.startswith(name) and n != name] == []


# ---------------------------------------------------------------- pid files

def test_already_running_is_refused(work, started):
    first = foreground(work, started)
    second = started("-n", "-l", "-f", work.conf, "-p", work.pid_a, "-r", work.pid_b)
    assert second.wait() == 0                              # keepalived exits 0 here
    assert any(line.endswith(": daemon is already running") for line in second.rest())
    assert first.proc.poll() is None
    assert read(work.pid_a) == "%d\n" % first.proc.pid
    first.signal(signal.SIGTERM)
    assert first.wait() == 0


def test_stale_pid_file_is_removed_and_the_start_goes_on(work, started):
    dead = subprocess.Popen(["true"])
    dead.wait()
    with open(work.pid_a, "w") as fh:
        fh.write("%d\n" % dead.pid)
    p = foreground(work, started)
    assert read(work.pid_a) == "%d\n" % p.proc.pid
    p.signal(signal.SIGTERM)
    assert p.wait() == 0
    assert any("Remove a zombie pid file %s" % work.pid_a in line for line in p.rest())


# ---------------------------------------------------------------- daemonized

def test_daemonizes_and_the_parent_exits_0_once_started(work, started):
    p = started("-f", work.conf, "-p", work.pid_a, "-r", work.pid_b)
    daemon = None
    try:
        assert p.wait() == 0
        assert p.rest() == [] and p.proc.stdout.read() == ""      # stdio closed by the daemon
        daemon = int(read(work.pid_a))
        p.pids.add(daemon)
        assert read(work.pid_b) == "%d\n" % daemon
        assert daemon != p.proc.pid and not gone_or_zombie(daemon)
        assert int(work.next_note("READY=1")["MAINPID"]) == daemon
        assert os.readlink("/proc/%d/cwd" % daemon) == "/"
        assert os.getsid(daemon) != daemon                         # double fork: no tty ever
        assert os.getsid(daemon) != os.getsid(0)
        os.kill(daemon, signal.SIGTERM)
        work.next_note("STOPPING=1")
        wait_for(lambda: gone_or_zombie(daemon), "the daemon to exit")
        assert not os.path.exists(work.pid_a) and not os.path.exists(work.pid_b)
    finally:
        if daemon is not None and not gone_or_zombie(daemon):
            os.kill(daemon, signal.SIGKILL)


def test_daemon_start_failure_reaches_the_parent(work, started):
    missing = work.path("no-such-dir/a.pid")
    p = started("-f", work.conf, "-p", missing, "-r", work.pid_b)
    assert p.wait() == 1
    assert any(line.startswith("fastvrrp: cannot write pid file %s" % missing)
               for line in p.rest())
    assert work.next_note("ERRNO=")["ERRNO"] == "1"


# ---------------------------------------------------------------- config problems

def test_missing_config_exits_6(work, started):
    p = started("-n", "-l", "-f", work.path("nope.conf"), "-p", work.pid_a, "-r", work.pid_b)
    assert p.wait() == 6
    assert work.next_note("ERRNO=")["ERRNO"] == "6"
    assert any("nope.conf" in line and "error:" in line for line in p.rest())
    assert not os.path.exists(work.pid_a)


def test_config_errors_exit_1_and_every_diagnostic_is_logged(work, started):
    work.write_conf(BROKEN.replace("%s", "x") + "vrrp_instance VI_2 {\n  priority 999\n}\n")
    p = started("-n", "-l", "-f", work.conf, "-p", work.pid_a, "-r", work.pid_b)
    assert p.wait() == process.EXIT_CONFIG == 1
    errors = [line for line in p.rest() if "keepalived.conf:" in line and "error:" in line]
    assert len(errors) >= 2 and any(":7:" in line for line in errors)
    assert work.next_note("ERRNO=")["ERRNO"] == str(process.EXIT_CONFIG)


def test_config_errors_in_daemon_mode_are_told_on_the_terminal(work, started):
    work.write_conf(BROKEN.replace("%s", "x"))
    p = started("-f", work.conf, "-p", work.pid_a, "-r", work.pid_b)
    assert p.wait() == process.EXIT_CONFIG == 1
    assert p.rest() == ["fastvrrp: configuration %s: 1 error(s)" % work.conf]


# ---------------------------------------------------------------- the command line

def test_cli_version_and_bad_option(work, started):
    assert started("-v").wait() == 0
    bad = started("--bogus", "-n")
    assert bad.wait() == 1 and bad.rest() == ["Unknown option --bogus"]


def test_cli_config_test_goes_to_check(work, started):
    work.write_conf(BROKEN.replace("%s", "x"))
    log = work.path("t.log")
    p = started("-t" + log, "-f", work.conf)
    assert p.wait() == 5                                  # fastvrrp check's status
    assert "virtual_router_id" in read(log)
    assert not os.path.exists(work.pid_a)


# ---------------------------------------------------------------- the shell in-process

class FakeEngine:
    """Scripted engines for the failure paths."""
    calls = []

    def __init__(self, config, options, proc, behaviour):
        self.proc = proc
        self.behaviour = behaviour

    async def start(self):
        FakeEngine.calls.append("start")
        b = self.behaviour
        if b == "start-fails":
            raise EngineStartError("no interface eth9", 4)
        if b == "start-crashes":
            raise ZeroDivisionError("bug")
        if b == "reload-fails":
            self.proc._request("reload")
        if b == "request-stop":
            asyncio.get_running_loop().call_soon(self.proc.request_stop, 3, "engine says so")
        if b == "stop-fails":
            asyncio.get_running_loop().call_soon(self.proc.request_stop)
        if b == "start-hangs":
            asyncio.get_running_loop().call_soon(self.proc.request_stop)
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                FakeEngine.calls.append("start cancelled")
                raise

    async def reload(self, config):
        FakeEngine.calls.append("reload")
        self.proc.request_stop(0)
        raise RuntimeError("cannot reload")

    async def stop(self):
        FakeEngine.calls.append("stop")
        if self.behaviour == "stop-fails":
            raise OSError("netlink gone")

    def dump_data(self, fp):
        pass

    def dump_stats(self, fp, clear):
        pass

    def dump_json(self, fp):
        pass


def run_shell(work, behaviour):
    """Shell.main on a uvloop loop in this process; signal state restored."""
    import uvloop
    from fastvrrp.config import load
    FakeEngine.calls = []
    config, _ = load(work.conf)
    rfd, wfd = os.pipe()
    shell = process.Shell(parse(["-n", "-f", work.conf]), config,
                          Notifier(work.path("notify")), process.StartupReport(wfd))
    saved = {s: signal.getsignal(s) for s in process.HANDLED_SIGNALS}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            code = runner.run(asyncio.wait_for(
                shell.main(lambda c, o, p: FakeEngine(c, o, p, behaviour)), TIMEOUT))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for s, h in saved.items():
            signal.signal(s, h)
    with os.fdopen(rfd) as fh:
        report = fh.read()
    return code, report, FakeEngine.calls


def test_engine_start_error_exit_code_and_errno(work):
    code, report, calls = run_shell(work, "start-fails")
    assert code == 4 and calls == ["start"]
    assert report == "4 no interface eth9\n"
    assert work.next_note("ERRNO=") == {"ERRNO": "4", "STATUS": "start failed: no interface eth9"}


def test_engine_crash_at_start_is_fatal_not_a_traceback_exit(work):
    code, report, _ = run_shell(work, "start-crashes")
    assert code == 1 and report.startswith("1 ZeroDivisionError: bug")


def test_engine_reload_failure_keeps_running(work):
    code, report, calls = run_shell(work, "reload-fails")
    assert code == 0 and report.startswith("0 started")
    assert calls == ["start", "reload", "stop"]
    work.next_note("RELOADING=1")
    assert work.next_note("READY=1")["STATUS"] == "reload failed in the engine"


def test_engine_requests_a_stop_with_its_exit_code(work):
    code, _, calls = run_shell(work, "request-stop")
    assert code == 3 and calls == ["start", "stop"]


def test_stop_during_a_hanging_start_cancels_it_and_stops(work):
    code, report, calls = run_shell(work, "start-hangs")
    assert code == 0 and calls == ["start", "start cancelled", "stop"]
    assert report == "0 stopped while starting\n"
    assert work.next_note("STOPPING=1") == {"STOPPING": "1"}


def test_engine_stop_failure_is_exit_1(work):
    code, _, calls = run_shell(work, "stop-fails")
    assert code == 1 and calls == ["start", "stop"]
    work.next_note("STOPPING=1")


# ---------------------------------------------------------------- pieces

def test_default_pid_paths_as_keepalived():
    o = parse([])
    assert process.pid_paths(o, None, None, "/r") == process.PidPaths("/r/keepalived.pid",
                                                                      "/r/vrrp.pid", ())
    assert process.pid_paths(o, None, "lb1", "/r") == process.PidPaths(
        "/r/keepalived/keepalived_lb1.pid", "/r/keepalived/vrrp_lb1.pid", ("/r/keepalived",))
    assert process.pid_paths(o, "blue", None, "/r") == process.PidPaths(
        "/r/keepalived/blue/keepalived.pid", "/r/keepalived/blue/vrrp.pid",
        ("/r/keepalived", "/r/keepalived/blue"))
    assert process.pid_paths(o, "blue", "lb1", "/r").main == "/r/keepalived/blue/keepalived_lb1.pid"


def test_explicit_pid_paths_win():
    o = parse(["-p", "/x/a.pid", "-r", "/x/a.pid"])
    paths = process.pid_paths(o, "blue", None, "/r")
    assert (paths.main, paths.vrrp, paths.directories) == ("/x/a.pid", "/x/a.pid", ())
    assert paths.files() == ("/x/a.pid",)


def test_running_pid(tmp_path):
    f = str(tmp_path / "k.pid")
    assert process.running_pid(f) is None                       # no file
    live = subprocess.Popen(["sleep", "30"])
    try:
        process.write_pid(f, live.pid)
        assert process.running_pid(f) == live.pid
    finally:
        live.kill()
        live.wait()
    assert process.running_pid(f) is None and not os.path.exists(f)   # dead: removed
    for junk in ("", "garbage\n", "-5\n", "0\n"):
        with open(f, "w") as fh:
            fh.write(junk)
        assert process.running_pid(f) is None and not os.path.exists(f)
    process.write_pid(f, os.getpid())
    assert process.running_pid(f) is None                       # names us: stale


def test_write_pid_refuses_a_symlink(tmp_path):
    target = tmp_path / "target"
    target.write_text("keep\n")
    link = tmp_path / "k.pid"
    link.symlink_to(target)
    with pytest.raises(OSError):
        process.write_pid(str(link), 1)
    assert target.read_text() == "keep\n"


def test_remove_pid_only_removes_our_pid(tmp_path):
    f = str(tmp_path / "k.pid")
    process.write_pid(f, 4242)
    process.remove_pid(f, 4343)
    assert os.path.exists(f)
    process.remove_pid(f, 4242)
    assert not os.path.exists(f)


def test_dump_paths():
    from fastvrrp.config import loads
    plain, _ = loads(CONF % "r")
    assert process.dump_path("data", plain, "/t") == "/t/keepalived.data"
    assert process.dump_path("stats_clear", plain, "/t") == "/t/keepalived.stats"
    assert process.dump_path("json", plain, "/t") == "/t/keepalived.json"
    named, _ = loads("global_defs {\n data_use_instance\n}\ninstance lb1\nnet_namespace blue\n")
    assert process.dump_path("data", named, "/t") == "/t/keepalived.blue_lb1.data"
    assert process.dump_path("stats", named, "/t") == "/t/keepalived.stats"


def test_write_dump_is_atomic_and_private(tmp_path):
    path = str(tmp_path / "keepalived.data")
    process.write_dump(path, lambda fp: fp.write("one\n"))
    assert read(path) == "one\n" and stat.S_IMODE(os.stat(path).st_mode) == 0o600

    def broken(fp):
        fp.write("half")
        raise RuntimeError("engine bug")
    with pytest.raises(RuntimeError):
        process.write_dump(path, broken)
    assert read(path) == "one\n" and os.listdir(tmp_path) == ["keepalived.data"]


def test_config_exit_codes(work):
    _, diags = process.load_config(work.path("nope.conf"), None)
    assert process.config_exit_code(diags) == 6
    work.write_conf(BROKEN.replace("%s", "x"))
    _, diags = process.load_config(work.conf, None)
    assert process.config_exit_code(diags) == process.EXIT_CONFIG
    work.write_conf(CONF % "x")
    config, diags = process.load_config(work.conf, None)
    assert process.config_exit_code(diags) is None and config.instances[0].name == "VI_1"


def test_a_reader_crash_is_a_diagnostic(monkeypatch, work):
    import fastvrrp.config as cfg

    def crash(*a, **k):
        raise KeyError("bug")
    monkeypatch.setattr(cfg, "load", crash)
    config, diags = process.load_config(work.conf, None)
    assert config is None and process.config_exit_code(diags) == process.EXIT_CONFIG
    assert "internal error" in diags.errors[0].message


def test_config_umask():
    from fastvrrp.config import loads
    assert process.config_umask(loads("global_defs {\n umask 027\n}\n")[0]) == 0o27
    assert process.config_umask(loads("global_defs {\n umask 0x1ff\n}\n")[0]) == 0o777
    assert process.config_umask(loads("global_defs {\n umask 9999\n}\n")[0]) is None
    assert process.config_umask(loads("")[0]) is None


@pytest.mark.parametrize("name", ["", "a/b", "..", "."])
def test_enter_netns_rejects_bad_names(name):
    with pytest.raises(OSError):
        process.enter_netns(name)


def test_enter_netns_missing_namespace():
    with pytest.raises(FileNotFoundError):
        process.enter_netns("fvp-no-such-namespace-here")


def test_engine_choice(monkeypatch):
    monkeypatch.delenv(process.TEST_ENGINE_ENV, raising=False)
    assert process.engine_factory(parse(["-C"])) is NullEngine
    monkeypatch.setenv(process.TEST_ENGINE_ENV, "null")
    assert process.engine_factory(parse([])) is NullEngine
    monkeypatch.delenv(process.TEST_ENGINE_ENV)
    try:
        import fastvrrp.daemon.engine  # noqa: F401
    except ImportError:
        with pytest.raises(EngineStartError):
            process.engine_factory(parse([]))


def test_null_engine_satisfies_the_protocol():
    assert isinstance(NullEngine(None), engine_api.EngineProtocol)


# ---------------------------------------------------------------- packaging

UNIT = os.path.join(os.path.dirname(__file__), "..", "..", "packaging", "fastvrrp.service")


def unit_settings():
    out = {}
    with open(UNIT) as fh:
        for line in fh:
            if "=" in line and not line.startswith("#"):
                key, _, value = line.strip().partition("=")
                out.setdefault(key, []).append(value)
    return out


def test_unit_is_keepalived_debian_unit_for_fastvrrp():
    u = unit_settings()
    assert u["Type"] == ["notify"]                       # fastvrrp sends READY=1
    assert u["ExecStart"][0].split()[1:] == ["--dont-fork", "$DAEMON_ARGS"]
    assert u["EnvironmentFile"] == ["-/etc/default/keepalived"]
    assert u["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert u["ConditionFileNotEmpty"] == ["/etc/keepalived/keepalived.conf"]
    assert u["Conflicts"] == ["keepalived.service"]
    assert parse(u["ExecStart"][0].split()[1:-1]).dont_fork


@pytest.mark.skipif(not os.path.exists("/usr/bin/systemd-analyze"), reason="no systemd-analyze")
def test_unit_verifies(tmp_path):
    fastvrrp = os.path.join(os.path.dirname(sys.executable), "fastvrrp")
    with open(UNIT) as fh:
        text = fh.read().replace("/usr/local/bin/fastvrrp", fastvrrp)
    unit = tmp_path / "fastvrrp.service"
    unit.write_text(text)
    res = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "fastvrrp.service" not in res.stderr, res.stderr


# ---------------------------------------------------------------- side by side with keepalived

KEEPALIVED = "/usr/sbin/keepalived"
MS_BIND = 4096
CONSOLE_LINE = r"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}: "
SAME_IDENT = ("Startup complete", "Printing VRRP data", "Printing VRRP stats",
              "Printing VRRP as json", "Stopping")


def _private_dev(dev_dir):
    """preexec_fn: bind a directory over /dev in the child's own mount
    namespace (the lab gives it one), so /dev/log is our socket."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)

    def enter():
        if libc.mount(dev_dir.encode(), b"/dev", None, MS_BIND, None) != 0:
            raise OSError(ctypes.get_errno(), "mount --bind %s /dev" % dev_dir)
    return enter


def _run_side(lab, impl, base, ifname):
    """Run keepalived or fastvrrp -n -l -D in the lab's node `k`; what it did."""
    import re
    d = os.path.join(base, impl)
    dev, tmp = os.path.join(d, "dev"), os.path.join(d, "tmp")
    for path in (d, dev, tmp):
        os.mkdir(path)
    for node in ("null", "zero", "urandom", "random", "full"):
        os.mknod(os.path.join(dev, node), 0o666 | stat.S_IFCHR, os.stat("/dev/" + node).st_rdev)
    syslog = unixsock.datagram_socket(os.path.join(dev, "log"), 0.2)
    received, reading = [], threading.Event()

    def syslogd():                      # read at once, as a syslog daemon does
        while not reading.is_set():
            try:
                received.append(syslog.recv(8192))
            except socket.timeout:
                pass
    reader = threading.Thread(target=syslogd, daemon=True)
    reader.start()
    conf = os.path.join(d, "k.conf")
    with open(conf, "w") as fh:
        fh.write((CONF % "side_rid").replace("eth0", ifname))
    args = ["-n", "-l", "-D", "-P", "-f", conf, "-p", os.path.join(d, "a.pid"),
            "-r", os.path.join(d, "b.pid"), "-c", os.path.join(d, "c.pid")]
    argv = [KEEPALIVED] + args if impl == "keepalived" else [sys.executable, "-m", "fastvrrp"] + args
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TMPDIR": tmp,
           "FASTVRRP_TEST_ENGINE": "null", "PYTHONPATH": os.pathsep.join(sys.path)}

    def start():
        return lab.popen("k", argv, preexec_fn=_private_dev(dev), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    out = {}
    proc = start()
    try:
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x.rstrip("\n")) for x in proc.stderr]
                         + [lines.put(None)], daemon=True).start()
        seen = []

        def wait_line(text):
            while True:
                try:
                    line = lines.get(timeout=TIMEOUT)
                except queue.Empty:
                    raise AssertionError("%s: no %r in time: %r" % (impl, text, seen)) from None
                assert line is not None, "%s: stderr ended before %r: %r" % (impl, text, seen)
                seen.append(line)
                if text in line:
                    return
        wait_line("Startup complete")
        out["pid_files"] = [read(os.path.join(d, n)) for n in ("a.pid", "b.pid")]
        second = start()
        _, second_err = second.communicate(timeout=TIMEOUT)
        out["second"] = (second.returncode, "daemon is already running" in second_err)
        lab.stop(second)
        for sig, text in ((signal.SIGUSR1, "Printing VRRP data"),
                          (signal.SIGUSR2, "Printing VRRP stats"),
                          (signal.SIGRTMIN + 2, "Printing VRRP as json")):
            os.kill(proc.pid, sig)
            wait_line(text)
        os.kill(proc.pid, signal.SIGTERM)
        out["exit"] = proc.wait(timeout=TIMEOUT)
        while lines.get(timeout=TIMEOUT) is not None:
            pass
    finally:
        lab.stop(proc)
    out["console_ok"] = all(re.match(CONSOLE_LINE, line) for line in seen)
    out["pid_files_left"] = [n for n in ("a.pid", "b.pid") if os.path.exists(os.path.join(d, n))]
    out["dumps"] = {n: stat.S_IMODE(os.stat(os.path.join(tmp, n)).st_mode)
                    for n in os.listdir(tmp) if n in ("keepalived.data", "keepalived.stats",
                                                      "keepalived.json")}
    reading.set()
    reader.join(TIMEOUT)
    idents = {}
    for datagram in received:
        m = re.match(rb"^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d ([^\[]+)\[\d+\]: (.*)$", datagram)
        for text in SAME_IDENT:
            if m and m.group(3).decode().startswith(text):
                idents.setdefault(text, (m.group(1), m.group(2)))
    syslog.close()
    out["idents"] = idents
    return out


@pytest.mark.interop
@pytest.mark.netns
def test_process_shell_behaves_like_keepalived(lab):
    if not os.path.exists(KEEPALIVED):
        if os.environ.get("FASTVRRP_REQUIRE_INTEROP") == "1":
            pytest.fail("keepalived is not installed and FASTVRRP_REQUIRE_INTEROP=1")
        pytest.skip("keepalived not installed")
    link = lab.star(("k",))["k"][0]
    base = tempfile.mkdtemp(prefix="fvp-", dir="/tmp")
    try:
        theirs = _run_side(lab, "keepalived", base, link.ifname)
        ours = _run_side(lab, "fastvrrp", base, link.ifname)
    finally:
        subprocess.run(["rm", "-rf", base], timeout=30)
    for side in (theirs, ours):
        assert all(__import__("re").match(r"^\d+\n$", text) for text in side["pid_files"])
    assert ours["exit"] == theirs["exit"] == 0
    assert ours["second"] == theirs["second"] == (0, True)
    assert ours["console_ok"] and theirs["console_ok"]
    assert ours["pid_files_left"] == theirs["pid_files_left"] == []
    assert ours["dumps"] == theirs["dumps"] == {"keepalived.data": 0o600,
                                                 "keepalived.stats": 0o600,
                                                 "keepalived.json": 0o600}
    assert set(theirs["idents"]) == set(SAME_IDENT)
    assert ours["idents"] == theirs["idents"]
