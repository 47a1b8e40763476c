"""The `fastvrrp bench config` scenario: its generated config is valid and
reads back to the model it was rendered from; a small run has every key."""

import argparse

from fastvrrp.bench import config as bench
from fastvrrp.config import loads
from fastvrrp.config.render import render


def test_generated_config_reads_back_equal():
    model = bench.make_config(600, vips=3)
    again, diags = loads(render(model))
    assert list(diags) == []
    assert again == model
    ids = {(i.interface, i.vrid) for i in again.instances}
    assert len(ids) == 600
    assert bench.interface_names(600) == ["eth0", "eth1", "eth2"]
    assert set(again.interfaces()) == {"eth0", "eth1", "eth2"}
    for inst in again.instances:
        assert len(inst.vips) == 3 and len(inst.track_scripts) == 1
        assert [t.name != inst.interface for t in inst.track_interfaces] == [True]


def test_small_run_reports_every_key():
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--instances", "20", "--runs", "1", "--no-keepalived"])
    lines = []
    result = bench.run(args, lines.append)
    assert list(result) == ["scenario", "instances", "lines", "check_s", "check_exit",
                            "keepalived_t_s", "keepalived_exit", "ratio"]
    assert (result["scenario"], result["instances"], result["check_exit"]) == ("config", 20, 0)
    assert result["lines"] > 20 * 20 and result["check_s"] > 0
    assert result["ratio"] is None and lines
