"""VIPs over real netlink in a lab namespace (reference §2.3, §3.1, §3.14).

The code under test runs with the test thread inside node "a" of the lab, on
uvloop (the daemon's loop); addresses are read back with netlink dumps.
"""

import errno
import ipaddress
import socket

import pytest

from fastvrrp.host.addrspec import (IFA_F_DEPRECATED, IFA_F_HOMEADDRESS, IFA_F_MANAGETEMPADDR,
                                    IFA_F_NODAD, IFA_F_NOPREFIXROUTE, IFAPROT_FASTVRRP,
                                    INFINITY_LIFE_TIME, VipSpec)
from fastvrrp.host.netlink import ABSENT, DONE, EXISTS, FAILED, Netlink
from fastvrrp.host.vips import VipSet, address_key, cleanup_by_proto, cleanup_stale

from hostlab import run_in, spare_link

pytestmark = pytest.mark.netns


def by_address(infos):
    return {ipaddress.ip_address(i.address): i for i in infos}


EVERY_OPTION = (
    VipSpec("10.0.0.50", ifname="eth0"),                                        # /32 default
    VipSpec("10.0.0.60/24", ifname="eth0", broadcast="10.0.0.254", label="eth0:vip"),
    VipSpec("10.0.1.61/24", ifname="eth0", broadcast="+"),
    VipSpec("10.0.2.62/24", ifname="eth0", broadcast="-"),
    VipSpec("169.254.9.9/16", ifname="eth0", scope="link"),
    VipSpec("10.9.9.9", ifname="eth0", peer="10.9.9.10/32"),
    VipSpec("fd00::50", ifname="eth0"),                                         # /128 default
    VipSpec("fd00::51/64", ifname="eth0"),
    VipSpec("fd00::52/64", ifname="eth0", nodad=False),
    VipSpec("fd00::53/64", ifname="eth0", noprefixroute=True, home=True, mngtmpaddr=True),
    VipSpec("fd00::54/64", ifname="eth0", preferred_lft=120),
)


def test_add_every_option_and_read_it_back(star):
    lab, links = star
    a = links["a"]

    async def main():
        async with Netlink() as nl:
            vips = VipSet(nl, EVERY_OPTION, name="VI_1")
            outcomes = await vips.add_all()
            got = by_address(await nl.addresses(a.ifindex))
            again = await vips.add_all()          # everything held: nothing to do
            return outcomes, got, again, vips.added

    outcomes, got, again, added = run_in(a.ns, main)
    assert [o.status for o in outcomes] == [DONE] * len(EVERY_OPTION)
    assert again == []
    assert len(added) == len(EVERY_OPTION)
    ip = ipaddress.ip_address
    for spec in EVERY_OPTION:
        info = got[spec.address]
        assert info.prefixlen == spec.prefixlen, spec
        assert info.proto == IFAPROT_FASTVRRP, spec
        assert info.index == a.ifindex
    assert got[ip("10.0.0.50")].prefixlen == 32
    assert got[ip("10.0.0.50")].broadcast is None            # no brd unless given
    assert got[ip("10.0.0.60")].broadcast == "10.0.0.254"
    assert got[ip("10.0.0.60")].label == "eth0:vip"
    assert got[ip("10.0.1.61")].broadcast == "10.0.1.255"    # brd +
    assert got[ip("10.0.2.62")].broadcast == "10.0.2.0"      # brd -
    assert got[ip("169.254.9.9")].scope == 253               # scope link
    assert got[ip("10.0.0.50")].scope == 0
    assert got[ip("10.9.9.9")].peer == "10.9.9.10"
    v6_128 = got[ip("fd00::50")]
    assert v6_128.prefixlen == 128
    assert v6_128.flags & IFA_F_NODAD
    assert v6_128.preferred == 0 and v6_128.flags & IFA_F_DEPRECATED   # /128: deprecated
    assert v6_128.valid == INFINITY_LIFE_TIME
    v6_64 = got[ip("fd00::51")]
    assert v6_64.flags & IFA_F_NODAD
    assert v6_64.preferred == INFINITY_LIFE_TIME and not v6_64.flags & IFA_F_DEPRECATED
    assert not got[ip("fd00::52")].flags & IFA_F_NODAD                 # -nodad
    flags = got[ip("fd00::53")].flags
    assert flags & IFA_F_NOPREFIXROUTE and flags & IFA_F_HOMEADDRESS
    assert flags & IFA_F_MANAGETEMPADDR
    assert 0 < got[ip("fd00::54")].preferred <= 120


def test_remove_only_what_we_added_exists_and_absent_are_not_errors(star):
    lab, links = star
    a = links["a"]
    admin = VipSpec("10.0.0.77", ifname="eth0")       # someone else's address, not configured
    preexisting = VipSpec("10.0.0.70", ifname="eth0")  # configured VIP that was already there
    mine = (VipSpec("10.0.0.71", ifname="eth0"), preexisting, VipSpec("fd00::71", ifname="eth0"))

    async def main():
        async with Netlink() as nl:
            for spec in (admin, preexisting):
                assert (await nl.add_address(spec.to_netlink(a.ifindex, proto=None))).changed
            vips = VipSet(nl, mine, name="VI_1")
            added = await vips.add_all()
            held = [vips.holds(s) for s in mine]
            removed = await vips.remove_all()
            after_remove = set(by_address(await nl.addresses(a.ifindex)))
            removed_again = await vips.remove_all()
            missing = await nl.del_address(mine[0].to_netlink_delete(a.ifindex))
            forced = await vips.remove_all(force=True)
            after_force = set(by_address(await nl.addresses(a.ifindex)))
            return added, held, removed, after_remove, removed_again, missing, forced, after_force

    added, held, removed, after_remove, removed_again, missing, forced, after_force = \
        run_in(a.ns, main)
    assert [o.status for o in added] == [DONE, EXISTS, DONE]      # EEXIST is not an error
    assert all(o.ok for o in added)
    assert held == [True, False, True]
    assert [o.request.local for o in removed] == ["10.0.0.71", "fd00::71"]
    assert all(o.status == DONE for o in removed)
    ip = ipaddress.ip_address
    assert ip("10.0.0.70") in after_remove and ip("10.0.0.77") in after_remove
    assert ip("10.0.0.71") not in after_remove and ip("fd00::71") not in after_remove
    assert ip("10.0.0.1") in after_remove                          # the node's own address
    assert removed_again == []
    assert missing.status == ABSENT and missing.ok and missing.errno == errno.EADDRNOTAVAIL
    # -X: every configured VIP, ours or not; the admin's unconfigured address stays
    assert {o.request.local: o.status for o in forced} == \
        {"10.0.0.71": ABSENT, "10.0.0.70": DONE, "fd00::71": ABSENT}
    assert ip("10.0.0.70") not in after_force and ip("10.0.0.77") in after_force


def test_vanished_interface_gives_failures_not_exceptions(star):
    lab, links = star
    a = links["a"]

    async def main():
        async with spare_link() as (ipr, nl, vx0):
            by_name = VipSet(nl, [VipSpec("10.7.0.1/24", ifname="vx0")], name="VI_2")
            by_index = VipSet(nl, [VipSpec("10.7.0.2/24", ifindex=vx0.index)], name="VI_3")
            first = await by_name.add_all() + await by_index.add_all()
            await ipr.link("del", index=vx0.index)
            removed = await by_name.remove_all() + await by_index.remove_all()
            readd_name = await by_name.add_all()
            readd_index = await by_index.add_all()
            gone = await nl.link(vx0.index)
            return first, removed, by_name.added, readd_name, readd_index, gone

    first, removed, held, readd_name, readd_index, gone = run_in(a.ns, main)
    assert [o.status for o in first] == [DONE, DONE]
    assert gone is None
    assert [o.status for o in removed] == [ABSENT, ABSENT]          # went with their interface
    assert held == ()
    assert [(o.status, o.errno) for o in readd_name] == [(FAILED, errno.ENODEV)]
    assert "vx0 does not exist" in readd_name[0].error
    assert [(o.status, o.errno) for o in readd_index] == [(FAILED, errno.ENODEV)]
    assert not readd_index[0].ok


def test_stale_cleanup_removes_our_leftovers_and_nothing_else(star):
    lab, links = star
    a = links["a"]
    old_config = (VipSpec("10.0.0.80", ifname="eth0"), VipSpec("10.0.0.81/24", ifname="eth0"),
                  VipSpec("fd00::80", ifname="eth0"), VipSpec("10.0.0.82", ifname="eth0"))
    new_config = (VipSpec("10.0.0.80", ifname="eth0"), VipSpec("10.0.0.81/24", ifname="eth0"),
                  VipSpec("10.0.0.90", ifname="eth0"), VipSpec("10.0.0.83", ifname="eth0"))

    async def crashed_run():
        async with Netlink() as nl:
            outcomes = await VipSet(nl, old_config, name="VI_1").add_all()
            assert all(o.changed for o in outcomes)
            # an administrator's addresses and a keepalived's (IFA_PROTO 18) on the same host
            for spec, proto in ((VipSpec("10.0.0.83", ifname="eth0"), None),
                                (VipSpec("10.0.0.84", ifname="eth0"), None),
                                (VipSpec("10.0.0.85", ifname="eth0"), 18),
                                (VipSpec("10.0.0.81/32", ifname="eth0"), None)):
                assert (await nl.add_address(spec.to_netlink(a.ifindex, proto=proto))).changed
        # no remove_all(): the run "crashed"

    async def new_run():
        async with Netlink() as nl:
            stale = await cleanup_stale(nl, new_config, name="VI_1")
            middle = set(by_address(await nl.addresses(a.ifindex)))
            by_proto = await cleanup_by_proto(nl)
            final = {(ipaddress.ip_address(i.address), i.prefixlen): i
                     for i in await nl.addresses(a.ifindex)}
            return stale, middle, by_proto, final

    run_in(a.ns, crashed_run)
    stale, middle, by_proto, final = run_in(a.ns, new_run)
    ip = ipaddress.ip_address
    # configured and present (exact prefix): 10.0.0.80/32, 10.0.0.81/24 and the admin's 10.0.0.83
    assert sorted((o.request.local, o.request.prefixlen, o.status) for o in stale) == \
        [("10.0.0.80", 32, DONE), ("10.0.0.81", 24, DONE), ("10.0.0.83", 32, DONE)]
    assert ip("10.0.0.82") in middle and ip("fd00::80") in middle   # no longer configured
    # IFA_PROTO finds them even though the configuration changed
    assert sorted(o.request.local for o in by_proto) == ["10.0.0.82", "fd00::80"]
    assert all(o.status == DONE for o in by_proto)
    assert set(final) == {(ip("10.0.0.1"), 24), (ip("10.0.0.84"), 32), (ip("10.0.0.85"), 32),
                          (ip("10.0.0.81"), 32), (ip("fd00::1"), 64),
                          (ip(a.ipv6_ll), 64)}
    assert final[(ip("10.0.0.85"), 32)].proto == 18                 # keepalived's: untouched


def test_cleanup_by_proto_keeps_what_this_run_holds(star):
    lab, links = star
    a = links["a"]

    async def main():
        async with Netlink() as nl:
            vips = VipSet(nl, [VipSpec("10.0.0.91", ifname="eth0"),
                               VipSpec("10.0.0.92", ifname="eth0")])
            await vips.add_all()
            keep = {address_key(r.index, r.local, r.prefixlen) for r in vips.added[:1]}
            removed = await cleanup_by_proto(nl, keep=keep)
            left = set(by_address(await nl.addresses(a.ifindex, socket.AF_INET)))
            return removed, left

    removed, left = run_in(a.ns, main)
    assert [o.request.local for o in removed] == ["10.0.0.92"]
    assert ipaddress.ip_address("10.0.0.91") in left
    assert ipaddress.ip_address("10.0.0.92") not in left


def test_source_addresses_and_link_lookup(star):
    lab, links = star
    a = links["a"]

    async def main():
        async with Netlink() as nl:
            by_name = await nl.link("eth0")
            by_index = await nl.link(a.ifindex)
            await VipSet(nl, [VipSpec("10.0.0.3/24", ifname="eth0")]).add_all()  # a secondary
            src4 = await nl.primary_ipv4(a.ifindex)
            src4_excluding = await nl.primary_ipv4(a.ifindex, exclude=["10.0.0.1"])
            ll = await nl.ipv6_linklocal(a.ifindex)
            missing = (await nl.link("nope0"), await nl.primary_ipv4(4242))
            return by_name, by_index, src4, src4_excluding, ll, missing

    by_name, by_index, src4, src4_excluding, ll, missing = run_in(a.ns, main)
    assert by_name == by_index
    assert (by_name.index, by_name.ifname, by_name.mac) == (a.ifindex, "eth0", a.mac)
    assert by_name.running and by_name.carrier and by_name.operstate == "UP"
    assert by_name.kind == "veth"
    assert src4 == "10.0.0.1"                       # the primary, not the secondary VIP
    assert src4_excluding is None                   # 10.0.0.3/24 is a secondary
    assert ll == a.ipv6_ll
    assert missing == (None, None)


def test_forget_an_address_deleted_behind_our_back(star):
    lab, links = star
    a = links["a"]
    spec = VipSpec("10.0.0.95", ifname="eth0")

    async def main():
        async with Netlink() as nl:
            vips = VipSet(nl, [spec])
            await vips.add_all()
            held_before = vips.holds(spec)
            assert (await nl.del_address(spec.to_netlink_delete(a.ifindex))).changed  # "admin"
            forgotten = vips.forget(a.ifindex, "10.0.0.95", 32)
            forgotten_twice = vips.forget(a.ifindex, "10.0.0.95", 32)
            return held_before, forgotten, forgotten_twice, vips.holds(spec), \
                await vips.remove_all(), await vips.add_all()

    held_before, forgotten, twice, held_after, removed, readded = run_in(a.ns, main)
    assert (held_before, forgotten, twice, held_after) == (True, True, False, False)
    assert removed == []                        # nothing of ours left to delete
    assert [o.status for o in readded] == [DONE]  # the next transition adds it again
