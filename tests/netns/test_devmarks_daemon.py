"""FASTVRRP_MARKS on the real daemon: every start-up step leaves its mark, in
the order the daemon takes them (fastvrrp/daemon/devmarks.py)."""

import glob

import pytest

from engine_lab import config, instance_block

pytestmark = [pytest.mark.netns, pytest.mark.timeout(60)]

STEPS = ["cli", "config read", "engine imported", "plans", "runtimes", "engine started"]


def test_the_daemon_marks_each_start_up_step_in_order(pair, monkeypatch):
    lab = pair.lab
    prefix = "%s/marks" % lab.workdir
    monkeypatch.setenv("FASTVRRP_MARKS", prefix)
    a = pair.daemon("a", "fastvrrp", config(instance_block(priority=200, state="MASTER")))
    a.start()
    pair.watch.wait_holders("10.0.0.100", {"a"}, timeout=10)
    assert a.stop() == 0, a.log()
    files = glob.glob(prefix + ".*")
    assert len(files) == 1, files
    tags, times = [], []
    for line in open(files[0]).read().splitlines():
        fields = line.split(" ", 4)
        assert [f.split("=")[0] for f in fields[:4]] == ["ms", "rss_anon_kb", "blocks", "arenas"]
        assert int(fields[1].split("=")[1]) > 0 and int(fields[2].split("=")[1]) > 0
        times.append(float(fields[0].split("=")[1]))
        tags.append(fields[4])
    assert tags[:len(STEPS)] == STEPS, tags
    assert tags[-1] == "stopped"
    assert set(tags[len(STEPS):-1]) <= {"burst over", "settled"}, tags
    assert times == sorted(times)
