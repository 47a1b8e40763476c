"""keepalived's scheduling keywords (fastvrrp/daemon/sched.py), applied in a
child interpreter so the test process keeps its own policy."""

import json
import os
import subprocess
import sys

import pytest

from fastvrrp.daemon.sched import _cpus

PROBE = r"""
import json, os, resource, subprocess, sys, threading
from fastvrrp.daemon import sched
helper = threading.Thread(target=threading.Event().wait, args=(5,), daemon=True)
helper.start()                                   # a thread that exists before apply()
lines = sched.apply(json.loads(sys.argv[1]))
child = subprocess.run([sys.executable, "-c", "import os; print(os.sched_getscheduler(0))"],
                       capture_output=True, text=True).stdout.strip()
print(json.dumps({
    "lines": lines,
    "main": os.sched_getscheduler(0),
    "helper": os.sched_getscheduler(helper.native_id),
    "main_prio": os.sched_getparam(0).sched_priority,
    "child": int(child),
    "nice_helper": os.getpriority(os.PRIO_PROCESS, helper.native_id),
    "cpus": sorted(os.sched_getaffinity(helper.native_id)),
    "rttime": resource.getrlimit(resource.RLIMIT_RTTIME)[0],
}))
"""


def _probe(other):
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(other)], capture_output=True,
                         text=True, timeout=60, env=dict(os.environ, PYTHONPATH=os.getcwd()))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.skipif(os.geteuid() != 0, reason="realtime scheduling needs root")
def test_rt_priority_is_every_threads_and_not_the_scripts():
    seen = _probe({"vrrp_rt_priority": 7, "vrrp_rlimit_rttime": 200000})
    rr = os.SCHED_RR | os.SCHED_RESET_ON_FORK
    assert (seen["main"], seen["helper"], seen["main_prio"]) == (rr, rr, 7), seen
    assert seen["child"] == os.SCHED_OTHER            # a script runs at the normal policy
    assert seen["rttime"] == 200000
    assert [level for level, _line in seen["lines"]] == [20, 20], seen["lines"]


@pytest.mark.skipif(os.geteuid() != 0, reason="negative nice values need root")
def test_nice_value_and_cpu_affinity_reach_every_thread():
    cpu = min(os.sched_getaffinity(0))
    seen = _probe({"vrrp_priority": -3, "vrrp_cpu_affinity": [str(cpu)]})
    assert seen["main"] == os.SCHED_OTHER
    assert seen["nice_helper"] == -3 and seen["cpus"] == [cpu], seen


def test_a_refused_setting_is_a_warning_not_a_failure():
    seen = _probe({"vrrp_cpu_affinity": ["9999"]})
    (level, line), = seen["lines"]
    assert level == 30 and "cannot set CPU affinity 9999" in line


def test_cpu_lists_take_numbers_and_ranges():
    assert _cpus(("0", "2-4")) == {0, 2, 3, 4}
    for bad in (("x",), ("3-1",), ("-1",)):
        with pytest.raises(ValueError):
            _cpus(bad)
