"""`unicast_fault_no_peer`: a unicast instance without any peer stays in FAULT
(keepalived vrrp_complete_instance) instead of falling back to multicast."""

import time

import pytest

from engine_lab import config, instance_block

pytestmark = [pytest.mark.netns, pytest.mark.timeout(60)]

VIP = "10.0.0.100"


def test_no_peer_means_fault_not_multicast(pair):
    since = time.monotonic_ns()
    a = pair.daemon("a", "fastvrrp", config(instance_block(
        priority=200, vips=(VIP + "/24",), extra=("unicast_fault_no_peer",))))
    b = pair.daemon("b", "fastvrrp", config(instance_block(priority=100, vips=(VIP + "/24",))))
    a.start()
    a.wait_log(r"\(VI_1\) entering FAULT state")
    b.start()
    # a, priority 200, would preempt b if it advertised by multicast
    pair.watch.wait_holders(VIP, {"b"}, timeout=10)
    b.wait_log(r"\(VI_1\) Entering MASTER STATE")
    assert pair.watch.change("a", VIP, True, since) is None, "the FAULT instance took the VIP"
    assert "Entering MASTER STATE" not in a.log()
    assert a.stop() == 0 and b.stop() == 0
