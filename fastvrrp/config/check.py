"""`fastvrrp check` (and `fastvrrp -t`): keepalived's config test, explained.

    fastvrrp check -f FILE [-i ID] [--no-host] [--json] [--dump]

Every problem of the run is reported as `file:line:col: error|warning: text`
on stderr (with --json: one JSON object per line on stdout).  The exit
status is keepalived's config-test status: 0 ok, 5 config errors, 6 script
security errors (scripts run without enable_script_security), 4 cannot run
(unreadable file, bad command line).  Host checks (interfaces exist,
scripts exist and are safe) run unless --no-host; pyroute2 is imported only
for them.  --dump prints the normalised model as JSON.

keepalived's own flags given with -t are accepted: -f/--use-file,
-i/--config-id, -e/--all-config, -s/--namespace; the logging and daemon
flags (-l, -D, -n, -S, -G, -g, -p, ...) are ignored.
"""

from __future__ import annotations

import gc
import os
import sys

EXIT_OK = 0
EXIT_CANNOT_RUN = 4
EXIT_CONFIG = 5
EXIT_SECURITY = 6
DEFAULT_CONFIG = "/etc/keepalived/keepalived.conf"

USAGE = """usage: fastvrrp check [-f FILE] [-i ID] [--no-host] [--json] [--dump]

  -f, --use-file FILE   configuration file (default %s)
  -i, --config-id ID    config-id for @ID conditional lines (default: host name)
  -e, --all-config      every include must exist and be readable
  -s, --namespace NAME  network namespace to check interfaces in
  --no-host             do not check the host (interfaces, scripts)
  --json                diagnostics as JSON objects, one per line, on stdout
  --dump                print the normalised configuration as JSON
""" % DEFAULT_CONFIG

# keepalived flags accepted and ignored (with and without a value)
_IGNORED_FLAGS = {"-l", "--log-console", "-D", "--log-detail", "-G", "--no-syslog", "-n",
                  "--dont-fork", "-P", "--vrrp", "-C", "--check", "-B", "--no_bfd", "--all",
                  "-d", "--dump-conf", "-V", "--dont-release-vrrp", "-X", "--release-vips",
                  "-I", "--dont-release-ipvs", "-R", "--dont-respawn", "-a",
                  "--address-monitoring", "-m", "--core-dump", "--ignore-sigint", "--perf",
                  "--debug", "--no-mem-check", "-x", "--snmp", "--flush-log-file", "-t",
                  "--config-test", "-g", "--log-file", "-M", "--core-dump-pattern"}
_IGNORED_WITH_VALUE = {"-S", "--log-facility", "-p", "--pid", "-r", "--vrrp_pid", "-c",
                       "--checkers_pid", "-b", "--bfd_pid", "-u", "--umask", "-A",
                       "--snmp-agent-socket", "--config-fd"}


class UsageError(Exception):
    pass


def parse_args(argv):
    opts = {"file": DEFAULT_CONFIG, "config_id": None, "host": True, "json": False,
            "dump": False, "all_config": False, "namespace": None}
    it = iter(argv)
    for arg in it:
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if len(arg) > 2 and arg[0] == "-" and arg[1] != "-" and arg[:2] in ("-f", "-i", "-s"):
            name, inline, eq = arg[:2], arg[2:], "="

        def value():
            if eq:
                if not inline:
                    raise UsageError("missing value for %s" % name)
                return inline
            try:
                return next(it)
            except StopIteration:
                raise UsageError("missing value for %s" % name) from None

        if name in ("-f", "--use-file"):
            opts["file"] = value()
        elif name in ("-i", "--config-id"):
            opts["config_id"] = value()
        elif name in ("-s", "--namespace"):
            opts["namespace"] = value()
        elif name in ("-e", "--all-config"):
            opts["all_config"] = True
        elif name == "--no-host":
            opts["host"] = False
        elif name == "--json":
            opts["json"] = True
        elif name == "--dump":
            opts["dump"] = True
        elif name in ("-h", "--help"):
            raise UsageError("")
        elif name in _IGNORED_FLAGS or (name.startswith("-g") and len(name) > 2):
            continue
        elif name in _IGNORED_WITH_VALUE:
            if not eq:
                value()
        else:
            raise UsageError("unknown option %s" % arg)
    return opts


def exit_status(diags) -> int:
    """keepalived -t: a missing interface stops keepalived before it checks
    scripts (5); otherwise script security wins (6) over other errors (5)."""
    errors = diags.errors
    if not errors:
        return EXIT_OK
    codes = {d.code for d in errors}
    if "config-unreadable" in codes or "config-not-found" in codes:
        return EXIT_CANNOT_RUN
    if "script-security" in codes and "no-such-interface" not in codes:
        return EXIT_SECURITY
    return EXIT_CONFIG


def run(opts, out=None, err=None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    from .ast import Diagnostics
    from .build import Builder
    from .reader import read_config

    path = opts["file"]
    if not any(c in path for c in "*?[{"):
        try:
            with open(path, "rb"):
                pass
        except OSError as e:
            err.write("fastvrrp check: cannot read %s: %s\n" % (path, e.strerror or e))
            return EXIT_CANNOT_RUN
    diags = Diagnostics()
    # Each block goes into the model as soon as it is read, and is let go:
    # the syntax tree of a big file never exists whole.
    builder = Builder(diags)
    read_config(path, diags, opts["config_id"], all_config=opts["all_config"],
                on_node=builder.feed)
    config = builder.finish()
    if opts["namespace"]:
        from dataclasses import replace
        config = replace(config, net_namespace=opts["namespace"])
    if opts["host"]:
        from .host import check_host
        try:
            check_host(config, diags)
        except OSError as e:
            err.write("fastvrrp check: cannot inspect the host: %s\n" % e)
            return EXIT_CANNOT_RUN
    items = sorted(diags.items, key=_order)
    if opts["json"]:
        import json
        lines = [json.dumps(d.as_dict(), ensure_ascii=False) for d in items]
        if opts["dump"]:
            from .dump import to_jsonable
            out.write(json.dumps({"diagnostics": [d.as_dict() for d in items],
                                  "config": to_jsonable(config)}, ensure_ascii=False) + "\n")
        elif lines:
            out.write("\n".join(lines) + "\n")
    else:
        for d in items:
            err.write("%s\n" % d)
        if items:
            err.write("%d error(s), %d warning(s)\n" % (len(diags.errors), len(diags.warnings)))
        if opts["dump"]:
            from .dump import dumps
            out.write(dumps(config) + "\n")
    return exit_status(diags)


def _order(d):
    p = d.pos
    return (p.file, p.line, p.col)


def run_and_exit(argv) -> None:
    """The `fastvrrp check` / `fastvrrp -t` process: main(), then leave at once.

    Freeing a big config object by object at interpreter exit costs ~0.15 s
    for 5,000 instances (a fifth of the whole run); the process has nothing
    left to do, so it flushes its output and exits without that."""
    rc = main(argv)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(rc)


def main(argv=None) -> int:
    # A one-shot process that allocates hundreds of thousands of small,
    # acyclic objects: the cyclic GC would only rescan them (it was 3/4 of the
    # run time on a 5,000-instance config).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    finally:
        if was_enabled:
            gc.enable()


def _main(argv) -> int:
    try:
        opts = parse_args(argv)
    except UsageError as e:
        if str(e):
            sys.stderr.write("fastvrrp check: %s\n" % e)
        sys.stderr.write(USAGE)
        return EXIT_CANNOT_RUN if str(e) else EXIT_OK
    try:
        return run(opts)
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_CANNOT_RUN
