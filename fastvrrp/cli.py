"""Command line: keepalived's flags (running the daemon is the default action)
plus the sub-commands `check`, `bench`.

    fastvrrp [-f FILE] [-n] [-l] [-D] ...     run like keepalived
    fastvrrp -t -f FILE                       keepalived's config test (= check)
    fastvrrp check -f FILE [--json] ...       config check
    fastvrrp bench SCENARIO [--json] ...      benchmarks
"""

import sys

SUBCOMMANDS = ("check", "bench")


def main(argv=None):
    """The console entry point (argv None: this process is the command, so a
    config check may leave without freeing its model) or an in-process call."""
    whole_process = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        command, rest = argv[0], argv[1:]
        if command == "bench":
            from .bench.cli import main as bench_main
            return bench_main(rest)
        if command == "check":
            return _check(rest, whole_process)
    return _keepalived_style(argv, whole_process)


def _check(argv, whole_process):
    from .config import check
    if whole_process:
        check.run_and_exit(argv)       # does not return
    return check.main(argv)


def _keepalived_style(argv, whole_process=False):
    """keepalived's command line: -t is the config test (`fastvrrp check`),
    -v/-h/--signum answer and exit, anything else runs the daemon."""
    from .daemon.devmarks import mark
    mark("cli")                 # FASTVRRP_MARKS (developers): the timeline's start
    from .daemon.options import OptionsExit, parse
    try:
        options = parse(argv)
    except OptionsExit as stop:
        return stop.emit()
    out, err = options.messages()
    sys.stderr.write(err)
    sys.stdout.write(out)
    sys.stdout.flush()
    if options.config_test:
        if options.config_test_log:
            import os
            try:
                fd = os.open(options.config_test_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT
                             | os.O_NOFOLLOW, 0o644)
            except OSError as e:
                sys.stderr.write("Unable to open config-test log file %s %d - %s\n"
                                 % (options.config_test_log, e.errno, e.strerror))
                return 1
            sys.stderr.flush()
            os.dup2(fd, 2)
            os.close(fd)
        return _check(options.check_argv(), whole_process)
    from .daemon.process import run
    return run(options)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
