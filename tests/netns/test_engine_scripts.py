"""vrrp_script tracking and notify scripts through the running engine.

keepalived-vrrp.md §3.2-§3.3: a script's weight moves the effective priority
(a negative weight subtracts while the script fails), which the next advert
carries (RFC 5798 §5.2.4) and a preempting backup acts on (RFC 5798 §6.4.2);
a weight-0 script that fails puts the instance in FAULT (a master gives up
its VIPs with priority-0 adverts).  The generic `notify` script gets
`INSTANCE NAME STATE PRIORITY` (§3.16).
"""

import os
import time

import pytest

from engine_lab import config, instance_block

pytestmark = [pytest.mark.netns, pytest.mark.timeout(90)]

VIP = "10.0.0.100"



def _check_script(lab, name, flag):
    """A check that succeeds while `flag` exists."""
    path = lab.path(name)
    with open(path, "w") as fh:
        fh.write("#!/bin/sh\ntest -e '%s'\n" % flag)
    os.chmod(path, 0o755)
    return path


def _script_block(name, path, weight, interval="0.2"):
    return ("vrrp_script %s {\n    script \"%s\"\n    interval %s\n    weight %d\n}\n"
            % (name, path, interval, weight))


def test_failing_weighted_script_hands_the_vip_over_and_back(pair):
    lab = pair.lab
    flag = lab.path("healthy")
    open(flag, "w").close()
    check = _check_script(lab, "check.sh", flag)
    notify_log = lab.path("notify.log")
    notify = lab.path("notify.sh")
    with open(notify, "w") as fh:
        fh.write("#!/bin/sh\necho \"$@\" >> '%s'\n" % notify_log)
    os.chmod(notify, 0o755)
    a = pair.daemon("a", "fastvrrp", _script_block("chk", check, -150) + config(instance_block(
        priority=200, vips=(VIP + "/24",), track_scripts=("chk",),
        extra=('notify "%s"' % notify,))))
    b = pair.daemon("b", "fastvrrp", config(instance_block(priority=100, vips=(VIP + "/24",))))
    a.start()
    b.start()
    pair.watch.wait_holders(VIP, {"a"}, timeout=10)
    # the check fails: 200 - 150 = 50 < 100, b preempts
    t0 = time.monotonic_ns()
    os.unlink(flag)
    a.wait_log(r"VRRP_Script\(chk\) failed")
    a.wait_log(r"\(VI_1\) Changing effective priority from 200 to 50")
    pair.watch.wait_change("b", VIP, True, t0, timeout=5)
    pair.watch.wait_holders(VIP, {"b"}, timeout=5)
    a.wait_log(r"\(VI_1\) Entering BACKUP STATE")
    # it succeeds again: 200 > 100, a preempts
    t1 = time.monotonic_ns()
    open(flag, "w").close()
    a.wait_log(r"VRRP_Script\(chk\) succeeded")
    pair.watch.wait_change("a", VIP, True, t1, timeout=5)
    pair.watch.wait_holders(VIP, {"a"}, timeout=5)
    a.stop()
    with open(notify_log) as fh:
        lines = fh.read().splitlines()
    # keepalived §3.16: the generic notify gets INSTANCE NAME STATE PRIORITY, in order
    assert lines == ["INSTANCE VI_1 BACKUP 200", "INSTANCE VI_1 MASTER 200",
                     "INSTANCE VI_1 BACKUP 50", "INSTANCE VI_1 MASTER 200",
                     "INSTANCE VI_1 STOP 200"], lines


def test_failing_unweighted_script_means_fault(pair):
    lab = pair.lab
    flag = lab.path("healthy")
    open(flag, "w").close()
    check = _check_script(lab, "check.sh", flag)
    a = pair.daemon("a", "fastvrrp", _script_block("chk", check, 0) + config(instance_block(
        priority=200, vips=(VIP + "/24",), track_scripts=("chk",))))
    a.start()
    pair.watch.wait_holders(VIP, {"a"}, timeout=10)
    t0 = time.monotonic_ns()
    os.unlink(flag)
    a.wait_log(r"\(VI_1\) Entering FAULT STATE")
    pair.watch.wait_change("a", VIP, False, t0, timeout=5)
    t1 = time.monotonic_ns()
    open(flag, "w").close()
    a.wait_log(r"VRRP_Script\(chk\) succeeded")
    pair.watch.wait_change("a", VIP, True, t1, timeout=5)
