"""The seam between the process shell (process.py) and the VRRP engine.

The shell owns the process: command line, logging, pid files, signals,
systemd.  The engine owns VRRP: sockets, instances, VIPs, scripts.  The
shell builds an engine with

    engine = factory(config, options, process)

(`config`: fastvrrp.config.model.Config already checked; `options`:
fastvrrp.daemon.options.Options; `process`: a ProcessHandle) and then drives
it on the running uvloop loop:

    await engine.start()          once, after the config is loaded and the pid
                                  files are written; EngineStartError (or any
                                  exception) = fatal, the process exits
    await engine.reload(config)   SIGHUP, with a new config that loaded
                                  without errors (the old one keeps running
                                  when it had errors: the engine never sees it)
    await engine.stop()           SIGTERM/SIGINT: the clean stop (priority 0
                                  adverts, VIPs removed; RFC 5798 §6.4.3)
    engine.dump_data(fp)          SIGUSR1  -> $TMPDIR/keepalived.data
    engine.dump_stats(fp, clear)  SIGUSR2  -> keepalived.stats (clear: SIGRTMAX-1)
    engine.dump_json(fp)          SIGRTMIN+2 -> keepalived.json

`fp` is a text file open for writing; the shell names it, writes it through
a temporary file and renames it (keepalived's fopen_safe), and logs.  The
calls never overlap: a reload or a dump waits for the one before.

NullEngine runs nothing: it logs its life cycle and dumps what the config
says, so the whole process life cycle can be tested before the real engine
exists.  It is selected only by the test-only environment variable
FASTVRRP_TEST_ENGINE=null (see process.py).
"""

from __future__ import annotations

import io
import logging
from typing import Any, Callable, Optional, Protocol, TextIO, runtime_checkable

log = logging.getLogger("fastvrrp.engine")


class EngineStartError(Exception):
    """A fatal problem while starting (no such interface, no permission ...).
    `exit_code` is keepalived's: 1 fatal, 2 config, 4 missing permission."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


@runtime_checkable
class EngineProtocol(Protocol):
    async def start(self) -> None: ...
    async def reload(self, new_config: Any) -> None: ...
    async def stop(self) -> None: ...
    def dump_data(self, fp: TextIO) -> None: ...
    def dump_stats(self, fp: TextIO, clear: bool) -> None: ...
    def dump_json(self, fp: TextIO) -> None: ...


async def render_dump(engine, kind: str) -> str:
    """Dump `kind` ("data", "stats", "stats_clear", "json") of `engine` as text:
    through its `async render_dump(kind)` when it has one (the VRRP engine reads
    its instances a chunk per turn of the loop), else its plain writers."""
    render = getattr(engine, "render_dump", None)
    if render is not None:
        return await render(kind)
    out = io.StringIO()
    if kind == "data":
        engine.dump_data(out)
    elif kind in ("stats", "stats_clear"):
        engine.dump_stats(out, kind == "stats_clear")
    elif kind == "json":
        engine.dump_json(out)
    else:
        raise ValueError("unknown dump kind %r" % (kind,))
    return out.getvalue()


class ProcessHandle(Protocol):
    """What the shell offers the engine."""

    def request_stop(self, exit_code: int = 0, reason: str = "") -> None:
        """Stop the daemon as SIGTERM does, then exit with `exit_code`."""

    def set_status(self, text: str) -> None:
        """A one-line status for the service manager (systemd STATUS=)."""


EngineFactory = Callable[[Any, Any, ProcessHandle], EngineProtocol]


def _instance_names(config) -> list[str]:
    return [getattr(i, "name", "?") for i in getattr(config, "instances", ())]


class NullEngine:
    """An engine that runs no VRRP (test double for the process shell)."""

    def __init__(self, config, options=None, process: Optional[ProcessHandle] = None):
        self.config = config
        self.options = options
        self.process = process
        self.running = False
        self.reloads = 0

    async def start(self) -> None:
        self.running = True
        names = _instance_names(self.config)
        log.info("NullEngine started: %d VRRP instance(s) configured, none run (%s)",
                 len(names), ", ".join(names) or "-")
        if self.process is not None:
            self.process.set_status("NullEngine: %d instance(s) configured, none run"
                                    % len(names))

    async def reload(self, new_config) -> None:
        self.config = new_config
        self.reloads += 1
        log.info("NullEngine reloaded: %d VRRP instance(s) configured",
                 len(_instance_names(new_config)))

    async def stop(self) -> None:
        self.running = False
        log.info("NullEngine stopped")

    def dump_data(self, fp: TextIO) -> None:
        g = getattr(self.config, "global_defs", None)
        router_id = getattr(g, "router_id", None) or "(host name)"
        fp.write("------< Global definitions >------\n")
        fp.write(" Network namespace = %s\n"
                 % (getattr(self.config, "net_namespace", None) or "(default)"))
        fp.write(" Router ID = %s\n" % router_id)
        fp.write("------< VRRP Topology >------\n")
        for name in _instance_names(self.config):
            fp.write(" VRRP Instance = %s\n   State = not run (NullEngine)\n" % name)

    def dump_stats(self, fp: TextIO, clear: bool) -> None:
        for name in _instance_names(self.config):
            fp.write("VRRP Instance: %s\n  (NullEngine: no counters)\n" % name)

    def dump_json(self, fp: TextIO) -> None:
        fp.write("[]\n")
