"""Command line: keepalived's flags (running the daemon is the default action)
plus the sub-commands `check`, `bench`.

    fastvrrp [-f FILE] [-n] [-l] [-D] ...     run like keepalived
    fastvrrp -t -f FILE                       keepalived's config test (= check)
    fastvrrp check -f FILE [--json] ...       config check
    fastvrrp bench SCENARIO [--json] ...      benchmarks
"""

import sys

from . import __version__

SUBCOMMANDS = ("check", "bench")


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        command, rest = argv[0], argv[1:]
        if command == "bench":
            from .bench.cli import main as bench_main
            return bench_main(rest)
        if command == "check":
            from .config.check import main as check_main
            return check_main(rest)
    return _keepalived_style(argv)


def _keepalived_style(argv):
    if "-v" in argv or "--version" in argv:
        print("fastvrrp %s" % __version__)
        return 0
    if "-t" in argv or "--config-test" in argv:
        from .config.check import main as check_main
        return check_main([a for a in argv if a not in ("-t", "--config-test")])
    sys.stderr.write(
        "fastvrrp: the daemon is not built yet; available: "
        "fastvrrp check, fastvrrp bench, fastvrrp -t, fastvrrp -v\n"
    )
    return 4


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
