"""`fastvrrp bench SCENARIO [options] [--json]`.

A scenario's module is imported only when it is chosen, so one scenario's
dependencies (a lab, keepalived, scapy) never stand in another's way.
"""

import argparse
import importlib
import sys

from . import SCENARIOS
from .report import emit


def _progress(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


def _usage():
    return "usage: fastvrrp bench {%s} [options] [--json]" % ",".join(SCENARIOS)


def scenario_parser(name):
    module = importlib.import_module("fastvrrp.bench.%s" % name)
    parser = argparse.ArgumentParser(prog="fastvrrp bench %s" % name, description=module.HELP)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    module.add_arguments(parser)
    return module, parser


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(_usage() + "\n")
        return 0 if argv else 2
    if argv[0] not in SCENARIOS:
        sys.stderr.write("fastvrrp bench: unknown scenario %r\n%s\n" % (argv[0], _usage()))
        return 2
    module, parser = scenario_parser(argv[0])
    args = parser.parse_args(argv[1:])
    progress = (lambda msg: None) if args.quiet else _progress
    emit(module.run(args, progress), args.json)
    return 0
