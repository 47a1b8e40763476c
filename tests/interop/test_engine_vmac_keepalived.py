"""`use_vmac` against the real keepalived (issue 5 point 4): same VMAC, same wire.

keepalived 2.2.7 on one node and fastvrrp on the other run the same
`use_vmac` instance: each makes the same macvlan (name and RFC 5798 §7.3
MAC), the VIP answers ARP with the virtual MAC whoever is master, and the
master's clean stop hands the VIP over (RFC 5798 §6.4.3) with the VMAC
following it.
"""

import pytest

from fastvrrp.bench.waitfor import WaitTimeout, wait_for
from engine_lab import (arp_ask, config, instance_block, macvlans_in,
                        require_keepalived)

pytestmark = [pytest.mark.interop, pytest.mark.netns, pytest.mark.timeout(150)]

VIP = "10.0.0.100"
VRID = 51
VMAC = "00:00:5e:00:01:%02x" % VRID



def _conf(priority):
    return config(instance_block(vrid=VRID, priority=priority, version=2, advert_int="1",
                                 vips=(VIP + "/24",), extra=("use_vmac",)))


def _answer(pair, node, address):
    try:
        return arp_ask(pair.lab, pair.links[node], address, timeout=0.5)
    except WaitTimeout:
        return None


def test_keepalived_master_fastvrrp_backup_with_vmac(pair):
    require_keepalived()
    lab, links = pair.lab, pair.links
    ka = pair.daemon("a", "keepalived", _conf(200))
    fv = pair.daemon("b", "fastvrrp", _conf(100))
    ka.start()
    pair.watch.wait_holders(VIP, {"a"}, timeout=15)
    fv.start()
    fv.wait_log(r"\(VI_1\) Entering BACKUP STATE")
    # the same VMAC on both nodes
    assert macvlans_in(lab, links["a"].ns) == {"vrrp.%d" % VRID: VMAC}
    assert macvlans_in(lab, links["b"].ns) == {"vrrp.%d" % VRID: VMAC}
    assert _answer(pair, "b", VIP) == (VMAC, VMAC)

    # keepalived stops cleanly: priority 0, fastvrrp takes the VIP on its VMAC
    ka.stop()
    pair.watch.wait_holders(VIP, {"b"}, timeout=10)
    fv.wait_log(r"\(VI_1\) Entering MASTER STATE")
    wait_for(lambda: _answer(pair, "a", VIP) == (VMAC, VMAC), 10,
             what="the VIP answering from fastvrrp's VMAC")
    assert fv.stop() == 0
    assert macvlans_in(lab, links["b"].ns) == {}
