"""accept / no_accept end to end (issue 5 point 6; RFC 5798 §6.4.3 Accept_Mode).

A MASTER with `no_accept` drops traffic addressed to its VIP (an nftables
set in fastvrrp's own tables `ip/ip6 fastvrrp`, as keepalived 2.2.7 does in
its `keepalived` table): a TCP connection from the peer's namespace to the
VIP gets no answer, while the same instance with `accept` answers.  The
tables are gone after a clean stop; after kill -9 they stay, and the next
start removes them.
"""

import asyncio
import socket

import pytest

from fastvrrp.bench import netns
from fastvrrp.bench.waitfor import wait_for
from fastvrrp.host.firewall import list_tables, set_elements

from engine_lab import config, instance_block

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]

VIP = "10.0.0.100"
PORT = 8089


def _conf(mode):
    return config(instance_block(vrid=61, priority=200, vips=(VIP + "/24",), extra=(mode,)))


def _nft(ns, family=4):
    """(our tables, the VIP set) in namespace `ns`."""
    with netns.inside(ns):
        tables = asyncio.run(list_tables(family))
        elements = asyncio.run(set_elements(family)) if "fastvrrp" in tables else set()
    return tables, elements


def _listen(ns):
    with netns.inside(ns):
        srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", PORT))
    srv.listen(8)
    return srv


def _connects(ns, address, timeout=1.0):
    """True when a TCP handshake to address:PORT from `ns` completes."""
    with netns.inside(ns):
        c = socket.socket()
    c.settimeout(timeout)
    try:
        c.connect((address, PORT))
        return True
    except (socket.timeout, OSError):
        return False
    finally:
        c.close()


def _answers(ns, address):
    """A TCP handshake to address:PORT from `ns` completes (retried: a loaded
    machine may miss one 1 s window; a drop never answers)."""
    return wait_for(lambda: _connects(ns, address), 10,
                    what="a TCP answer from %s in %s" % (address, ns))


def test_no_accept_master_drops_traffic_to_its_vip(pair):
    links = pair.links
    a_ns, b_ns = links["a"].ns, links["b"].ns
    srv = _listen(a_ns)
    try:
        a = pair.daemon("a", "fastvrrp", _conf("no_accept"))
        a.start()
        pair.watch.wait_holders(VIP, {"a"}, timeout=10)
        a.wait_log(r"\(VI_1\) Entering MASTER STATE")
        tables, elements = _nft(a_ns)
        assert tables == ["fastvrrp"] and elements == {VIP}
        assert not _connects(b_ns, VIP)
        # the node's own address still answers: only the VIP is dropped
        assert _answers(b_ns, links["a"].ip4)
        assert a.stop() == 0
        assert _nft(a_ns)[0] == [] and _nft(a_ns, 6)[0] == []
    finally:
        srv.close()


def test_accept_master_answers_and_builds_no_table(pair):
    links = pair.links
    a_ns, b_ns = links["a"].ns, links["b"].ns
    srv = _listen(a_ns)
    try:
        a = pair.daemon("a", "fastvrrp", _conf("accept"))
        a.start()
        pair.watch.wait_holders(VIP, {"a"}, timeout=10)
        assert _answers(b_ns, VIP)
        assert _nft(a_ns)[0] == []
        assert a.stop() == 0
    finally:
        srv.close()


def test_a_crashed_runs_table_is_removed_at_start(pair):
    a_ns = pair.links["a"].ns
    a = pair.daemon("a", "fastvrrp", _conf("no_accept"))
    a.start()
    pair.watch.wait_holders(VIP, {"a"}, timeout=10)
    a.wait_log(r"\(VI_1\) Entering MASTER STATE")
    a.kill()
    assert _nft(a_ns) == (["fastvrrp"], {VIP})      # kill -9 left it behind
    a.write_config(_conf("accept"))
    a.start()
    a.wait_log(r"\(VI_1\) Entering MASTER STATE")
    assert _nft(a_ns)[0] == []
    assert a.stop() == 0


# -- the firewall alone, in a namespace pair (IPv4 and IPv6, several holders) ---------
VIP6 = "fd00::100"


def _connects6(ns, address, timeout=1.0):
    with netns.inside(ns):
        c = socket.socket(socket.AF_INET6)
    c.settimeout(timeout)
    try:
        c.connect((address, PORT))
        return True
    except OSError:
        return False
    finally:
        c.close()


def test_held_addresses_are_dropped_until_the_last_holder_releases_them(pair):
    from fastvrrp.host.firewall import AcceptModeFirewall
    links = pair.links
    a_ns, b_ns = links["a"].ns, links["b"].ns
    ipr = pair.lab.iproute("a")
    index = ipr.link_lookup(ifname=links["a"].ifname)[0]
    ipr.addr("add", index=index, address=VIP, prefixlen=24)
    ipr.addr("add", index=index, address=VIP6, prefixlen=64, flags=0x02)   # IFA_F_NODAD
    srv = _listen(a_ns)
    with netns.inside(a_ns):
        srv6 = socket.socket(socket.AF_INET6)
    srv6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    srv6.bind(("::", PORT))
    srv6.listen(8)
    seen = {}

    async def scenario():        # runs with this thread inside a's namespace
        fw = AcceptModeFirewall()
        assert await fw.hold("VI_1", [VIP + "/24", VIP6]) is None
        assert await fw.hold("VI_2", [VIP]) is None
        seen["both"] = (await set_elements(4), await set_elements(6),
                        _connects(b_ns, VIP), _connects6(b_ns, VIP6))
        assert await fw.release("VI_1") is None
        seen["vi2"] = (await set_elements(4), await set_elements(6), _connects(b_ns, VIP),
                       wait_for(lambda: _connects6(b_ns, VIP6), 10, what="an answer from VIP6"))
        # a reload changed VI_2's VIPs: holding a new list releases the old one
        assert await fw.hold("VI_2", [VIP6]) is None
        seen["moved"] = (await set_elements(4), await set_elements(6))
        fw.rename("VI_2", "VI_9")             # a reload renamed the instance
        assert await fw.release("VI_2") is None
        seen["renamed"] = await set_elements(6)
        assert await fw.release("VI_9") is None
        seen["released"] = await set_elements(6)
        assert await fw.close() is None
        seen["closed"] = (await list_tables(4), await list_tables(6), _answers(b_ns, VIP))

    try:
        with netns.inside(a_ns):
            asyncio.run(scenario())
    finally:
        srv.close()
        srv6.close()
    assert seen["both"] == ({VIP}, {VIP6}, False, False)
    assert seen["vi2"] == ({VIP}, set(), False, True)     # VI_2 still holds the IPv4 VIP
    assert seen["moved"] == (set(), {VIP6})
    assert seen["renamed"] == {VIP6} and seen["released"] == set()
    assert seen["closed"] == ([], [], True)
