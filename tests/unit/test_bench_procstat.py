"""/proc parsing for the bench's CPU and RSS figures."""

import os
import subprocess
import sys

import pytest

from fastvrrp.bench import procstat
from fastvrrp.bench.procstat import (ProcError, cpu_percent, parse_machine_stat, parse_stat,
                                     parse_vmrss_kb)

# /proc/PID/stat of a process whose name holds spaces and parentheses
STAT = ("4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 2000 0 0 0 "
        "1234 567 8 9 20 0 2 0 100 30000000 3000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 "
        "17 1 0 0 0 0 0")

STATUS = """Name:\tkeepalived
State:\tS (sleeping)
VmPeak:\t   30000 kB
VmRSS:\t   13876 kB
RssAnon:\t    1000 kB
"""


def test_parse_stat_reads_fields_after_the_last_parenthesis():
    pid, comm, state, ppid, utime, stime = parse_stat(STAT)
    assert (pid, comm, state, ppid, utime, stime) == (4242, "my (odd) name", "S", 1, 1234, 567)


@pytest.mark.parametrize("text", ["", "garbage", "12 (x) S", "x (y) S 1 2 3"])
def test_parse_stat_rejects_what_is_not_a_stat_line(text):
    with pytest.raises(ProcError):
        parse_stat(text)


def test_parse_vmrss():
    assert parse_vmrss_kb(STATUS) == 13876
    assert parse_vmrss_kb("Name:\tkthreadd\nState:\tS\n") == 0       # no VmRSS: no memory
    with pytest.raises(ProcError, match="VmRSS"):
        parse_vmrss_kb("VmRSS:\t12 MB\n")


def test_cpu_percent_of_a_tree_over_a_window():
    tck = 100
    before = {10: 500, 11: 100}
    after = {10: 600, 11: 150}                 # 150 ticks in 2 s = 0.75 core
    assert cpu_percent(before, after, 2.0, tck) == pytest.approx(75.0)


def test_cpu_percent_counts_newborn_and_reused_pids_from_zero_and_exited_ones_not():
    tck = 100
    before = {10: 500, 11: 100, 12: 900}       # 12 exits during the window
    after = {10: 550, 11: 20, 13: 30}          # 11 is a new process reusing the number; 13 born
    assert cpu_percent(before, after, 1.0, tck) == pytest.approx(50 + 20 + 30)


def test_cpu_percent_rejects_an_empty_window():
    with pytest.raises(ProcError):
        cpu_percent({}, {}, 0)


def test_parse_machine_stat_takes_idle_and_iowait_and_counts_cpus():
    text = ("cpu  100 5 20 1000 7 3 2 1 0 0\ncpu0 50 2 10 500 3 1 1 0 0 0\n"
            "cpu1 50 3 10 500 4 2 1 1 0 0\nintr 1\nctxt 5\n")
    assert parse_machine_stat(text) == (1007, 2)
    with pytest.raises(ProcError):
        parse_machine_stat("cpu0 1 2 3 4 5\n")            # no aggregate line
    with pytest.raises(ProcError):
        parse_machine_stat("cpu  1 2 3 4 5\n")            # no per-cpu lines


def test_machine_meter_reads_this_machine():
    meter = procstat.MachineMeter()
    assert meter.cpus >= 1
    assert 0.0 <= meter.percent() <= 100.0 * meter.cpus


def test_tree_and_rss_of_real_processes():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        tree = procstat.tree(os.getpid())
        assert tree[0] == os.getpid()
        assert child.pid in tree
        assert procstat.tree_rss_kb(os.getpid()) > procstat.rss_kb(os.getpid()) > 0
        assert procstat.cpu_ticks(child.pid) is not None
    finally:
        child.stdin.close()
        child.wait()
    assert procstat.tree(child.pid) == []
    assert procstat.cpu_ticks(child.pid) is None
    assert procstat.rss_kb(child.pid) == 0


def test_cpu_meter_needs_a_running_process():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with pytest.raises(ProcError, match="not running"):
        procstat.CpuMeter(child.pid)


def test_pids_named_finds_this_interpreter():
    me = procstat.stat(os.getpid())[1]
    assert os.getpid() in procstat.pids_named(me)
