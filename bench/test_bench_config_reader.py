"""pytest-benchmark: reading a large keepalived.conf into the syntax tree.

    .venv/bin/python -m pytest bench/test_bench_config_reader.py --benchmark-only

The configuration has the shape of `fastvrrp bench config`'s: 5,000
instances, each with a vrrp_script (quoted command), a tracked interface, a
tracked script and two VIPs, about 25 lines per instance.  `read_config`
reads the whole tree; `general_path` forces every line through the general
preprocessor (what the fast path saves); `check_pipeline` is what `fastvrrp
check --no-host` does in its process: each block read goes straight into
the model builder (read_config's on_node), then the model is finished.
"""

import gc

import pytest

from fastvrrp.config.ast import Diagnostics
from fastvrrp.config.build import Builder
from fastvrrp.config.preprocess import Preprocessor
from fastvrrp.config.reader import read_config

INSTANCES = 5000
PER_INTERFACE = 250


def generate(n):
    out = ["global_defs {", "    router_id bench", "    enable_script_security", "    script_user root", "}"]
    for j in range(n):
        out += ["vrrp_script chk_%d {" % j, '    script "/usr/bin/test -e /run/fvbench/%d"' % j,
                "    interval 2", "    weight -10", "    rise 2", "    fall 2", "}"]
    for j in range(n):
        k, vrid = divmod(j, PER_INTERFACE)
        master = j % 2 == 0
        out += ["vrrp_instance VI_%d {" % j, "    state %s" % ("MASTER" if master else "BACKUP"),
                "    interface eth%d" % k, "    virtual_router_id %d" % (vrid + 1),
                "    priority %d" % (150 if master else 100), "    advert_int 1",
                "    virtual_ipaddress {", "        10.%d.%d.%d/24" % (j >> 14, (j >> 6) & 255, (j & 63) * 2),
                "        10.%d.%d.%d/24" % (j >> 14, (j >> 6) & 255, (j & 63) * 2 + 1), "    }",
                "    track_interface {", "        eth%d weight -20" % (k + 1), "    }",
                "    track_script {", "        chk_%d weight -10" % j, "    }", "}"]
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def big_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "keepalived.conf"
    text = generate(INSTANCES)
    path.write_text(text)
    return str(path), text.count("\n")


class Kept:
    """Holds each round's result until the next round's (untimed) setup, so
    that freeing it is not timed: `fastvrrp check` never frees its tree or
    model (it leaves with os._exit)."""

    def __init__(self):
        self.result = None

    def keep(self, result):
        self.result = result
        return result

    def setup(self):
        self.result = None


def test_read_config_5000_instances(benchmark, big_config):
    path, lines = big_config
    benchmark.extra_info["lines"] = lines
    kept = Kept()

    def read():
        diags = Diagnostics()
        nodes = read_config(path, diags, config_id="bench")
        assert not diags and len(nodes) == 2 * INSTANCES + 1
        kept.keep(nodes)

    benchmark.pedantic(read, setup=kept.setup, rounds=5, iterations=1, warmup_rounds=1)


def test_read_config_general_path_only(benchmark, big_config):
    path, lines = big_config
    benchmark.extra_info["lines"] = lines
    kept = Kept()

    def read():
        diags = Diagnostics()
        pp = Preprocessor(diags, "bench", fast_path=False)
        pp.read_files([path])
        kept.keep(pp.finish())

    benchmark.pedantic(read, setup=kept.setup, rounds=3, iterations=1)


def test_check_pipeline_5000_instances(benchmark, big_config):
    path, lines = big_config
    benchmark.extra_info["lines"] = lines
    kept = Kept()

    def check():
        gc.disable()                     # as `fastvrrp check` runs (check.main)
        try:
            diags = Diagnostics()
            builder = Builder(diags)
            assert read_config(path, diags, config_id="bench", on_node=builder.feed) == ()
            config = builder.finish()
        finally:
            gc.enable()
        assert len(config.instances) == INSTANCES and len(config.scripts) == INSTANCES
        assert not diags.errors
        kept.keep(config)

    benchmark.pedantic(check, setup=kept.setup, rounds=5, iterations=1, warmup_rounds=1)
