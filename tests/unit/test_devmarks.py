"""FASTVRRP_MARKS (fastvrrp/daemon/devmarks.py): the developers' start-up
timeline and memory marks are written only when asked for, in order, with
figures that move."""

import importlib

import pytest

from fastvrrp.daemon import devmarks


@pytest.fixture
def marks(monkeypatch, tmp_path):
    fresh = importlib.reload(devmarks)          # no marks from an earlier test
    yield fresh, tmp_path
    importlib.reload(devmarks)


def _lines(path):
    found = list(path.parent.glob(path.name + ".*"))
    assert len(found) == 1, found
    return found[0].read_text().splitlines()


def test_nothing_is_noted_or_written_without_the_variable(marks, monkeypatch):
    mod, tmp_path = marks
    monkeypatch.delenv(mod.ENV, raising=False)
    mod.mark("cli")
    mod.write()
    assert not mod.enabled()
    assert list(tmp_path.iterdir()) == []


def test_marks_are_written_in_order_with_time_rss_blocks_and_arenas(marks, monkeypatch):
    mod, tmp_path = marks
    monkeypatch.setenv(mod.ENV, str(tmp_path / "m"))
    mod.mark("first")
    # ~40 MB of new objects: more than a test process keeps free, so the next mark
    # sees more blocks, more RSS and more arenas
    hold = [object() for _ in range(1_500_000)]
    mod.mark("second")
    assert mod.enabled()
    mod.write()
    first, second = _lines(tmp_path / "m")
    f, s = first.split(" ", 4), second.split(" ", 4)
    assert f[-1] == "first" and s[-1] == "second"
    assert float(f[0].split("=")[1]) == 0.0 and float(s[0].split("=")[1]) > 0.0
    rss = [int(x.split("=")[1]) for x in (f[1], s[1])]
    blocks = [int(x.split("=")[1]) for x in (f[2], s[2])]
    arenas = [int(x.split("=")[1]) for x in (f[3], s[3])]
    assert rss[1] > rss[0] > 0
    assert blocks[1] - blocks[0] >= 1_500_000
    assert arenas[1] > arenas[0] > 0
    del hold
