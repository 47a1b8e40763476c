"""`fastvrrp bench SCENARIO [options] [--json]`."""

import argparse
import importlib
import sys

from . import SCENARIOS
from .report import emit


def _progress(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


def build_parser():
    parser = argparse.ArgumentParser(prog="fastvrrp bench")
    sub = parser.add_subparsers(dest="scenario", required=True, metavar="SCENARIO")
    for name in SCENARIOS:
        module = importlib.import_module("fastvrrp.bench.%s" % name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        p.add_argument("--json", action="store_true", help="print one JSON object")
        p.add_argument("--quiet", action="store_true", help="no progress lines")
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv):
    args = build_parser().parse_args(argv)
    progress = (lambda msg: None) if args.quiet else _progress
    result = args._module.run(args, progress)
    emit(result, args.json)
    return 0
