"""The daemon's process shell: keepalived's process life cycle around an engine.

    exit_code = run(options)          # options: fastvrrp.daemon.options.Options

This module is the shell (the order of the steps, the signals, the request
queue); the steps are their own modules: configload.py (reading the config),
netns.py (entering the namespace), pidfiles.py, daemonize.py, dumpfiles.py,
exitcodes.py.  Their names stay importable from here.

What happens, in keepalived 2.2.7's order (main.c main, §3.1 of the notes):

1. umask (-u, else the config's `umask`, else keepalived's 0177); logging
   (logsetup); `Starting ...`, `Running on ...`, `Command line: ...`.
2. The config is read (fastvrrp.config.load).  Every diagnostic is logged as
   `file:line:col: severity: message`.  An unreadable or missing file exits
   6, errors exit 2 (keepalived's KEEPALIVED_EXIT_NO_CONFIG / _CONFIG).
3. `-s NAME` overrides `net_namespace`; with a namespace or `instance` the
   syslog idents and default pid files change as keepalived's; the process
   enters the namespace (/run/netns/NAME).
4. `daemon is already running` when a pid file (-p, then -r) names a live
   process: logged, exit 0 as keepalived.  Stale files are removed.
5. Without -n: daemonize (fork, setsid, fork, chdir /, stdio to /dev/null).
   The original process waits on a pipe until the daemon has started (or
   failed: it then exits with the daemon's code and prints why) and exits 0.
6. Both pid files get this one process's pid (keepalived's -p holds the
   parent's, -r the VRRP child's: fastvrrp is both).
7. A uvloop loop runs the engine.  Signals (keepalived's, lib/signals.c):
   SIGTERM / SIGINT stop (SIGINT not with --ignore-sigint); SIGHUP reloads;
   SIGUSR1 writes $TMPDIR/keepalived.data, SIGUSR2 keepalived.stats,
   SIGRTMAX-1 the stats then clears them, SIGRTMIN+2 keepalived.json
   ($TMPDIR when absolute, else /tmp).  systemd hears READY=1 when the
   engine has started, RELOADING=1 / READY=1 around a reload, STOPPING=1.
8. Requests run one at a time, in arrival order (a second SIGHUP while one
   waits is the same request); a stop goes first, and a stop that comes
   while the engine is starting cancels the start.  A reload reads the
   config again in a worker thread (the loop keeps sending adverts); with
   errors every diagnostic is logged and the running config stays.  A clean
   stop awaits engine.stop(), removes the pid files, logs `Stopped ...` and
   exits 0 (or the code the engine asked for with request_stop).

Exit codes (keepalived's scheduler.h): 0 ok, 1 fatal, 2 config error,
4 missing permission, 6 no or unreadable config file.  Deliberate
differences: keepalived exits 0 when it cannot enter the namespace or write
a pid file (an unset exit code); fastvrrp exits 1.  A pid file that cannot
be read is removed and the start goes on (keepalived removes it and refuses
this once).

Test-only: FASTVRRP_TEST_ENGINE=null selects the NullEngine (engine_api.py),
which runs no VRRP; it exists so the process life cycle can be tested end to
end.  Nothing else reads it.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import gc
import logging
import os
import resource
import signal
import sys
from typing import Optional

from .. import __version__
from . import logsetup
from .configload import (apply_namespace_option, config_exit_code, config_umask, load_config,
                         log_diagnostics)
from .daemonize import StartupReport, daemonize
from .devmarks import mark
from .engine_api import EngineStartError, NullEngine, render_dump
from .exitcodes import (EXIT_CONFIG, EXIT_FATAL, EXIT_MISSING_PERMISSION, EXIT_NO_CONFIG,
                        EXIT_OK)
from .options import Options, ignore_reason, with_absolute_paths
from .pidfiles import (RUN_DIR, PidFiles, PidPaths, pid_paths, remove_pid, running_pid,
                       write_pid)
from .sdnotify import Notifier

log = logging.getLogger(logsetup.PARENT_LOGGER)    # keepalived's parent: ident Keepalived
# what keepalived's VRRP process logs (dumps, its stop line): ident Keepalived_vrrp
vlog = logging.getLogger("fastvrrp.daemon.vrrp_process")

DEFAULT_UMASK = 0o177               # keepalived lib/utils.c umask_val
TEST_ENGINE_ENV = "FASTVRRP_TEST_ENGINE"

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
SIG_STATS_CLEAR = int(signal.SIGRTMAX) - 1      # 63 on glibc
SIG_JSON = int(signal.SIGRTMIN) + 2             # 36 on glibc
HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1,
                   signal.SIGUSR2, SIG_STATS_CLEAR, SIG_JSON)
# keepalived signals_ignore(): a reload or dump request before the loop runs
# must not kill the process (their default action is to terminate)
EARLY_IGNORED = (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, SIG_STATS_CLEAR, SIG_JSON)


# ------------------------------------------------------------------ the engine

def engine_factory(options: Options):
    """The engine class to run: the real one, or NullEngine (test-only
    FASTVRRP_TEST_ENGINE=null, or -C: VRRP off and no health checker)."""
    if not options.vrrp:
        log.info("VRRP disabled by -C/--check, and fastvrrp has no health checker: "
                 "nothing will run")
        return NullEngine
    if os.environ.get(TEST_ENGINE_ENV) == "null":
        log.warning("%s=null: running the NullEngine (test only, no VRRP)", TEST_ENGINE_ENV)
        return NullEngine
    try:
        from .engine import Engine
    except ImportError as exc:
        raise EngineStartError("the VRRP engine is not available (%s)" % exc, EXIT_FATAL)
    return Engine


# ------------------------------------------------------------------ the run

_STOP = object()


class Shell:
    """The running daemon around one engine (the engine's ProcessHandle)."""

    def __init__(self, options: Options, config, notifier: Notifier, report: StartupReport):
        self.options = options
        self.config = config
        self.notifier = notifier
        self.report = report
        self.engine = None
        self.exit_code = EXIT_OK
        self.stopping = False
        self._queue: collections.deque = collections.deque()
        self._wakeup: Optional[asyncio.Event] = None

    # ProcessHandle -------------------------------------------------
    def request_stop(self, exit_code: int = 0, reason: str = "") -> None:
        if self.stopping:
            return
        if reason:
            (log.error if exit_code else log.info)("Stopping: %s", reason)
        self.exit_code = exit_code
        self.stopping = True
        self._queue.appendleft(_STOP)
        self._wake()

    def set_status(self, text: str) -> None:
        self.notifier.status(text)

    # signals -------------------------------------------------------
    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    def _request(self, what) -> None:
        if self.stopping or what in self._queue:
            return            # a reload or dump already waiting covers this one
        self._queue.append(what)
        self._wake()

    def _install_signals(self, loop) -> None:
        loop.add_signal_handler(signal.SIGTERM, self.request_stop, 0)
        if self.options.ignore_sigint:
            # a handler, not SIG_IGN: the scripts we run must not inherit an ignored SIGINT
            loop.add_signal_handler(signal.SIGINT, log.log, logsetup.DETAIL,
                                    "SIGINT ignored (--ignore-sigint)")
        else:
            loop.add_signal_handler(signal.SIGINT, self.request_stop, 0)
        loop.add_signal_handler(signal.SIGHUP, self._request, "reload")
        loop.add_signal_handler(signal.SIGUSR1, self._request, "data")
        loop.add_signal_handler(signal.SIGUSR2, self._request, "stats")
        loop.add_signal_handler(SIG_STATS_CLEAR, self._request, "stats_clear")
        loop.add_signal_handler(SIG_JSON, self._request, "json")

    # life cycle ----------------------------------------------------
    async def main(self, factory) -> int:
        loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._install_signals(loop)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)
        try:
            started = await self._start(factory)
            if started is None:            # stopped while starting
                await self._stop()
                return self.exit_code
            if not started:
                return self.exit_code
            while True:
                while not self._queue:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                what = self._queue.popleft()
                if what is _STOP:
                    break
                if what == "reload":
                    await self._reload()
                else:
                    await self._dump(what)
            await self._stop()
            return self.exit_code
        finally:
            # from here a signal must not kill us before the pid files are gone
            signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
            for sig in HANDLED_SIGNALS:
                loop.remove_signal_handler(sig)

    async def _start(self, factory) -> Optional[bool]:
        """True: started; False: failed (exit_code set); None: a stop came
        first (the start was cancelled; the engine is then stopped)."""
        # the engine lets go of the model instances once running (issue 6 memory)
        count = len(getattr(self.config, "instances", ()))
        try:
            self.engine = factory(self.config, self.options, self)
            task = asyncio.ensure_future(self.engine.start())
            while not task.done():
                waiter = asyncio.ensure_future(self._wakeup.wait())
                await asyncio.wait((task, waiter), return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                self._wakeup.clear()
                if self.stopping and not task.done():
                    task.cancel()
                    try:
                        await task
                    except asyncio.CancelledError:
                        pass
                    except Exception:
                        log.exception("The VRRP engine failed while its start was cancelled")
                    log.info("Start interrupted by a stop request")
                    self._queue.clear()
                    self.report.send(self.exit_code, "stopped while starting")
                    return None
            task.result()
        except EngineStartError as exc:
            return self._failed_start(exc.exit_code, str(exc))
        except Exception as exc:
            log.exception("Unable to start the VRRP engine")
            return self._failed_start(EXIT_FATAL, "%s: %s" % (type(exc).__name__, exc))
        if not getattr(self.engine, "settles_gc", False):
            gc.enable()                # the engine does not turn it back on itself
        log.info("Startup complete")
        self.notifier.ready(status="running %d VRRP instance(s)" % count)
        self._notify_failed()
        self.report.send(EXIT_OK, "started, pid %d" % os.getpid())
        return True

    def _failed_start(self, code: int, message: str) -> bool:
        gc.enable()
        log.error("Unable to start: %s", message)
        self.exit_code = _start_failed(self.notifier, self.report, code,
                                       "start failed: %s" % message, message)
        return False

    async def _reload(self) -> None:
        log.info("Reloading ...")
        self.notifier.reloading(status="reloading")
        loop = asyncio.get_running_loop()
        config, diags = await loop.run_in_executor(
            None, load_config, self.options.config_file, self.options.config_id,
            self.options.all_config)
        log_diagnostics(diags)
        code = config_exit_code(diags)
        if code is not None or config is None:
            log.error("Reload failed: the configuration has %d error(s); keeping the running "
                      "configuration", len(diags.errors))
            self.notifier.ready(status="reload failed (%d config errors); running the previous "
                                "configuration" % len(diags.errors))
            return
        config = apply_namespace_option(config, self.options)
        if (config.net_namespace, config.instance_name) != (self.config.net_namespace,
                                                             self.config.instance_name):
            log.warning("net_namespace and instance only change on a restart; keeping %s / %s",
                        self.config.net_namespace, self.config.instance_name)
            config = dataclasses.replace(config, net_namespace=self.config.net_namespace,
                                         instance_name=self.config.instance_name)
        vlog.info("Reloading")
        count = len(config.instances)      # the engine lets go of them (issue 6 memory)
        try:
            await self.engine.reload(config)
        except Exception:
            log.exception("Reload failed in the engine")
            self.notifier.ready(status="reload failed in the engine")
            return
        self.config = config
        log.info("Reload complete")
        self.notifier.ready(status="running %d VRRP instance(s)" % count)

    async def _dump(self, kind: str) -> None:
        what = {"data": "data", "stats": "stats", "stats_clear": "stats",
                "json": "as json"}[kind]
        vlog.info("Printing VRRP %s for process(%d) on signal", what, os.getpid())
        from .dumpfiles import dump_path, write_dump
        path = dump_path(kind, self.config)
        try:
            text = await render_dump(self.engine, kind)
            write_dump(path, lambda fp: fp.write(text))
        except OSError as exc:
            vlog.error("Can't open dump file %s (%d: %s)", path, exc.errno or 0, exc.strerror)
        except Exception:
            vlog.exception("Writing %s failed", path)

    async def _stop(self) -> None:
        log.info("Stopping")
        self.notifier.stopping()
        try:
            await self.engine.stop()
        except Exception:
            log.exception("The VRRP engine failed while stopping")
            self.exit_code = self.exit_code or EXIT_FATAL

    def _notify_failed(self) -> None:
        if self.notifier.enabled and self.notifier.last_error:
            log.warning("%s", self.notifier.last_error)


def _log_start(argv) -> None:
    uname = os.uname()      # issue 6 (start-up): platform.uname()'s fields, without platform
    try:
        import uvloop
        loop = "uvloop %s" % uvloop.__version__
    except ImportError:
        loop = "no uvloop"
    log.info("Starting fastvrrp v%s", __version__)
    log.info("Running on %s %s %s (Python %s, %s)", uname.sysname, uname.release, uname.version,
             sys.version.split()[0], loop)
    log.info("Command line: %s", " ".join("'%s'" % a for a in argv))


def _log_stopped(options: Options) -> None:
    mark("stopped")
    if options.log_detail:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        vlog.info("Stopped - used %.6f user time, %.6f system time", usage.ru_utime,
                  usage.ru_stime)
    log.info("Stopped fastvrrp v%s", __version__)


def _core_dumps(options: Options) -> None:
    if not options.core_dump:
        return
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError) as exc:
        log.info("Unable to enable core dumps: %s", exc)
    if options.core_dump_pattern:
        log.info("-M: fastvrrp does not change /proc/sys/kernel/core_pattern")


def run(options: Options, argv=None) -> int:
    """Run the daemon as keepalived would with these options; the exit code.

    Issue 6 (start-up): the cyclic GC is off from here until the engine has
    started and its start-up burst is over (Engine.settles_gc: the engine
    collects, freezes and turns it on again); start-up builds a great many
    long-lived objects and little cyclic garbage, and the collections cost a
    quarter of a second at 1000 instances.  It is on again when run() returns.
    What the process built up to the engine's import is frozen there
    (_run_daemon); that too is undone when run() returns."""
    gc_was_enabled = gc.isenabled()
    was_frozen = gc.get_freeze_count()
    gc.disable()
    saved = _lean_log_records()
    try:
        return _run_gc_off(options, argv)
    finally:
        _restore_log_records(saved)
        if not was_frozen:
            gc.unfreeze()             # _run_daemon's freeze (an in-process caller's heap)
        if gc_was_enabled:
            gc.enable()


# The LogRecord attributes the daemon's handlers never read (logsetup formats
# the time, ident, pid and message only): the logging HOWTO's "Optimization"
# switches.  A thousand transitions write several thousand lines (issue 6).
_LEAN_LOGGING = {"logThreads": False, "logProcesses": False, "logMultiprocessing": False,
                 "_srcfile": None}      # _srcfile None: no caller frame lookup per record


def _lean_log_records() -> dict:
    saved = {name: getattr(logging, name) for name in _LEAN_LOGGING}
    for name, value in _LEAN_LOGGING.items():
        setattr(logging, name, value)
    return saved


def _restore_log_records(saved: dict) -> None:
    for name, value in saved.items():
        setattr(logging, name, value)


def _run_gc_off(options: Options, argv) -> int:
    options = with_absolute_paths(options)
    for sig in EARLY_IGNORED:
        signal.signal(sig, signal.SIG_IGN)
    os.umask(options.umask if options.umask is not None else DEFAULT_UMASK)
    logs = logsetup.setup(options)
    try:
        return _run(options, logs, list(sys.argv if argv is None else argv))
    finally:
        logsetup.teardown()


def _run(options: Options, logs, argv) -> int:
    _log_start(argv)
    if logs.file_error:
        log.error("%s", logs.file_error)
    for name in options.ignored:
        log.info("Option %s accepted and ignored: %s", name, ignore_reason(name))
    _core_dumps(options)
    notifier = Notifier.from_environ()
    if notifier.last_error:
        log.warning("%s", notifier.last_error)

    log.info("Configuration file %s", options.config_file)
    config, diags = load_config(options.config_file, options.config_id, options.all_config)
    mark("config read")
    log_diagnostics(diags)
    code = config_exit_code(diags)
    if code is not None or config is None:
        code = code or EXIT_CONFIG
        message = "configuration %s: %d error(s)" % (options.config_file, len(diags.errors))
        log.error("Unable to start: %s", message)
        notifier.errno(code, status=message)
        _tell_terminal(options, message)
        return code
    config = apply_namespace_option(config, options)
    if options.umask is None and config_umask(config) is not None:
        os.umask(config_umask(config))
    new_ident = logs.set_names(config.net_namespace, config.instance_name)
    if new_ident:
        log.info("Changing syslog ident to %s", new_ident)
    if options.dump_conf:
        _dump_conf(config)

    if config.net_namespace:
        from .netns import enter_netns
        try:
            enter_netns(config.net_namespace)
        except OSError as exc:
            log.error("Unable to set network namespace %s - exiting (%s)", config.net_namespace,
                      exc.strerror or exc)
            _tell_terminal(options, "cannot enter network namespace %s" % config.net_namespace)
            return EXIT_FATAL
    paths = pid_paths(options, config.net_namespace, config.instance_name)
    for path in paths.files():
        pid = running_pid(path)
        if pid is not None:
            log.info("daemon is already running")
            log.log(logsetup.DETAIL, "pid file %s names running process %d", path, pid)
            _tell_terminal(options, "daemon is already running (pid %d in %s)" % (pid, path))
            return EXIT_OK

    report = StartupReport()
    if not options.dont_fork:
        forked = daemonize()
        if isinstance(forked, int):
            return forked
        report = forked
    return _run_daemon(options, config, notifier, report, paths)


def _tell_terminal(options: Options, message: str) -> None:
    """A failed start in daemon mode also says why on the terminal (the log
    may be syslog only)."""
    if not options.dont_fork:
        sys.stderr.write("fastvrrp: %s\n" % message)


def _dump_conf(config) -> None:
    try:
        from ..config.render import render
        text = render(config)
    except Exception as exc:
        log.error("Unable to dump the configuration: %s", exc)
        return
    log.info("------< Configuration (-d) >------")
    for line in text.splitlines():
        log.info("%s", line)


def _run_daemon(options: Options, config, notifier: Notifier, report: StartupReport,
                paths: PidPaths) -> int:
    pid_files = PidFiles(paths, os.getpid())
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
    signal.signal(signal.SIGINT, signal.SIG_DFL)     # not asyncio.Runner's KeyboardInterrupt
    try:
        try:
            pid_files.write()
        except OSError as exc:
            log.error("pidfile_write : Cannot open %s pidfile (%s)", exc.filename or "",
                      exc.strerror)
            return _start_failed(notifier, report, EXIT_FATAL, "cannot write pid file",
                                 "cannot write pid file %s: %s" % (exc.filename, exc.strerror))
        try:
            factory = engine_factory(options)
            mark("engine imported")
            # issue 6: what is built so far (modules, the config) lives as long as
            # the process and holds no garbage worth a scan: frozen out of the
            # collector's way, the engine's settle collection (engine.py
            # _settle_memory) scans only what the engine built - 14 ms -> ~2 ms
            # at one instance, a pause a takeover right after start could meet
            gc.freeze()
        except EngineStartError as exc:
            log.error("Unable to start: %s", exc)
            return _start_failed(notifier, report, exc.exit_code, str(exc), str(exc))
        from . import sched
        for level, line in sched.apply(config.global_defs.other):   # vrrp_rt_priority ...
            log.log(level, "%s", line)
        import uvloop
        shell = Shell(options, config, notifier, report)
        from .devprofile import profiled
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner, profiled():
            code = runner.run(shell.main(factory))
        return code
    except Exception as exc:       # never a traceback on the way out
        log.exception("Fatal error")
        report.send(EXIT_FATAL, "fatal error: %s" % exc)
        return EXIT_FATAL
    finally:
        pid_files.remove()
        _log_stopped(options)
        report.send(EXIT_FATAL, "the daemon stopped during start-up")
        notifier.close()
        _restore_signals(old_mask)


def _start_failed(notifier: Notifier, report: StartupReport, code: int, status: str,
                  message: str) -> int:
    """Tell systemd (ERRNO=, STATUS=`status`) and the process waiting for the
    daemon (`message`) that the start failed; returns `code`."""
    notifier.errno(code, status=status)
    report.send(code, message)
    return code


def _restore_signals(old_mask) -> None:
    """Discard the stop/reload/dump signals that came too late, then unblock."""
    for sig in signal.sigpending() & set(HANDLED_SIGNALS):
        signal.sigtimedwait([sig], 0)
    signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


# The shell's parts live in their own modules; importers take these names from here
# (issue 6, start-up: the dump files' and namespaces' modules, and their tempfile and
# ctypes, only when asked for).
_LAZY = {"DUMP_FILES": "dumpfiles", "dump_path": "dumpfiles", "write_dump": "dumpfiles",
         "CLONE_NEWNET": "netns", "NETNS_DIR": "netns", "enter_netns": "netns"}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    import importlib
    value = getattr(importlib.import_module("." + module, __package__), name)
    globals()[name] = value
    return value


__all__ = [
    "CLONE_NEWNET", "DEFAULT_UMASK", "DUMP_FILES", "EARLY_IGNORED", "EXIT_CONFIG", "EXIT_FATAL",
    "EXIT_MISSING_PERMISSION", "EXIT_NO_CONFIG", "EXIT_OK", "HANDLED_SIGNALS", "NETNS_DIR",
    "RUN_DIR", "SIG_JSON", "SIG_STATS_CLEAR", "STOP_SIGNALS", "TEST_ENGINE_ENV", "PidFiles",
    "PidPaths", "Shell", "StartupReport", "apply_namespace_option", "config_exit_code",
    "config_umask", "daemonize", "dump_path", "engine_factory", "enter_netns", "load_config",
    "log_diagnostics", "pid_paths", "remove_pid", "run", "running_pid", "write_dump", "write_pid",
]
