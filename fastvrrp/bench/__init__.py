"""`fastvrrp bench` scenarios.

Each scenario is a module in this package exposing::

    NAME: str                       # the sub-command word
    HELP: str                       # one line for --help
    def add_arguments(parser): ...  # its own options
    def run(args, progress) -> dict # one JSON-able result object

`progress(msg)` writes a line to stderr while the scenario runs; the result is
printed by fastvrrp.bench.report as a table or, with --json, as one object.
"""

SCENARIOS = ("codec", "wheel", "config", "steady", "failover", "startup")
