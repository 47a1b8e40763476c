"""`fastvrrp bench codec`: the scenario runs and reports every key (values are
measured, never asserted against targets here)."""

import argparse
import json
import subprocess
import sys

from fastvrrp.bench import codec

KEYS = {"scenario", "parse_ns", "parse_py_ns", "parse_batch_ns", "build_ns", "build_py_ns",
        "checksum_ns", "reference_parse_ns", "reference_build_ns", "parse_speedup",
        "parse_py_speedup", "build_speedup", "scapy_parse_ns"}


def _args(*argv):
    parser = argparse.ArgumentParser()
    codec.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_scenario_interface():
    assert codec.NAME == "codec" and codec.HELP


def test_run_reports_every_key():
    lines = []
    result = codec.run(_args("--scale", "0.001", "--rounds", "1", "--batch", "4", "--vips", "3"),
                       lines.append)
    assert KEYS <= set(result)
    assert result["scenario"] == "codec" and lines
    assert result["packet_bytes"] == 20 + 8 + 3 * 4
    for key in KEYS - {"scenario"}:
        assert isinstance(result[key], float) and result[key] > 0, key
    assert result["parse_speedup"] == result["reference_parse_ns"] / result["parse_ns"]
    assert result["parse_py_speedup"] == result["reference_parse_ns"] / result["parse_py_ns"]
    json.dumps(result)


def test_run_rejects_bad_arguments():
    import pytest
    for argv in (("--vips", "0"), ("--vips", "256"), ("--batch", "0"), ("--scale", "0")):
        with pytest.raises(SystemExit):
            codec.run(_args(*argv), lambda msg: None)


def test_cli_prints_one_json_object():
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from fastvrrp.cli import main; sys.exit(main())",
         "bench", "codec", "--json", "--quiet", "--scale", "0.001", "--rounds", "1"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert KEYS <= set(result) and result["scenario"] == "codec"
