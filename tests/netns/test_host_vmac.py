"""VMAC macvlans over real netlink in lab namespaces (reference §2.7 use_vmac, §3.14, §3.17).

The VMAC code runs with the test thread inside node "a" on uvloop; links,
addresses and sysctls are read back from the kernel; ARP is asked from node
"b" with a raw AF_PACKET socket.  The interop test runs keepalived 2.2.7 with
`use_vmac` and compares its VMACs with ours.
"""

import errno
import socket
import struct
import subprocess
import sys

import pytest

from fastvrrp.bench import netns
from fastvrrp.bench.keepalived_proc import Keepalived
from fastvrrp.bench.waitfor import wait_for
from fastvrrp.host.addrspec import IFA_F_DEPRECATED, IFA_F_NODAD, VipSpec
from fastvrrp.host.netlink import ABSENT, DONE, EXISTS, FAILED, Netlink
from fastvrrp.host.nlrequest import collect
from fastvrrp.host.nlsocket import IPRoute
from fastvrrp.host.vips import VipSet
from fastvrrp.host.vmac import (Sysctl, VmacManager, VmacSpec, cleanup_stale_vmacs,
                                eui64_linklocal)

from hostlab import run_in

pytestmark = pytest.mark.netns

VMAC_KEYS = ("arp_ignore", "arp_filter", "accept_local", "rp_filter", "promote_secondaries")
BASE_KEYS = ("arp_ignore", "arp_filter", "rp_filter")


def prepare(lab, node, link):
    """keepalived's rp_filter dance only happens when all.rp_filter is set."""
    netns.write_sysctls(lab.ns(node), {"ipv4.conf.all.rp_filter": 1,
                                       "ipv4.conf.default.rp_filter": 0,
                                       ("ipv4", "conf", link.ifname, "rp_filter"): 0})


def sysctls(ns, ifnames):
    """{ifname: {key: value}} read inside `ns` (IPv4 keys plus ipv6 disable_ipv6)."""
    ctl = Sysctl()
    with netns.inside(ns):
        out = {}
        for name in ifnames:
            values = {k: ctl.get("ipv4", name, k) for k in VMAC_KEYS}
            values["disable_ipv6"] = ctl.get("ipv6", name, "disable_ipv6")
            out[name] = values
        return out


async def links_raw():
    ipr = IPRoute()
    try:
        return {m.get_attr("IFLA_IFNAME"): m for m in await collect(await ipr.link("dump"))}
    finally:
        ipr.close()


def describe_link(msg):
    """The VMAC-relevant attributes of one link dump message."""
    info = msg.get_attr("IFLA_LINKINFO")
    data = info.get_attr("IFLA_INFO_DATA") if info else None
    spec = msg.get_attr("IFLA_AF_SPEC")
    inet6 = spec.get_attr("AF_INET6") if spec else None
    return {"kind": info.get_attr("IFLA_INFO_KIND") if info else None,
            "mode": data.get_attr("IFLA_MACVLAN_MODE") if data else None,
            "mac": msg.get_attr("IFLA_ADDRESS"), "link": msg.get_attr("IFLA_LINK"),
            "up": bool(msg["flags"] & 1), "alias": msg.get_attr("IFLA_IFALIAS"),
            "addr_gen_mode": inet6.get_attr("IFLA_INET6_ADDR_GEN_MODE") if inet6 else None}


def macvlans(ns):
    async def main():
        return {name: describe_link(m) for name, m in (await links_raw()).items()
                if describe_link(m)["kind"] == "macvlan"}
    return run_in(ns, main)


# -- creation, attributes, sysctls, delete ------------------------------------------
def test_ipv4_vmac_attributes_sysctls_and_delete(star):
    lab, links = star
    a = links["a"]
    prepare(lab, "a", a)
    before = sysctls(a.ns, ["eth0", "all", "default"])
    spec = VmacSpec("eth0", 66, instance="VI_1")

    async def main():
        async with Netlink() as nl:
            vm = VmacManager(nl)
            outcome = await vm.create(spec)
            vmac = vm.get(spec)
            raw = await links_raw()
            addrs = await nl.addresses(vmac.ifindex)
            during = sysctls(a.ns, [vmac.ifname, "eth0", "all", "default"])
            again = await vm.create(spec)
            removed = await vm.delete(spec)
            removed_again = await vm.delete(spec)
            return outcome, vmac, raw, addrs, during, again, removed, removed_again, \
                await links_raw()

    outcome, vmac, raw, addrs, during, again, removed, removed_again, after_links = \
        run_in(a.ns, main)
    assert outcome.status == DONE, str(outcome)
    assert vmac.ifname == "vrrp.66" and vmac.mac == "00:00:5e:00:01:42"
    got = describe_link(raw["vrrp.66"])
    assert got["kind"] == "macvlan" and got["mode"] == "private"
    assert got["mac"] == "00:00:5e:00:01:42" and got["link"] == a.ifindex and got["up"]
    assert got["alias"].startswith("fastvrrp:VI_1 ")
    assert got["addr_gen_mode"] == 1                     # IN6_ADDR_GEN_MODE_NONE
    assert addrs == []                                   # IPv6 off, no EUI-64 link-local
    assert during["vrrp.66"] == {"arp_ignore": 1, "arp_filter": 0, "accept_local": 1,
                                 "rp_filter": 0, "promote_secondaries": 1, "disable_ipv6": 1}
    assert (during["eth0"]["arp_ignore"], during["eth0"]["arp_filter"]) == (1, 1)
    assert during["eth0"]["rp_filter"] == 1              # raised to the old all value
    assert during["all"]["rp_filter"] == 0 and during["default"]["rp_filter"] == 1
    assert again.status == EXISTS
    assert removed.status == DONE and removed_again.status == ABSENT
    assert "vrrp.66" not in after_links
    assert sysctls(a.ns, ["eth0", "all", "default"]) == before


def test_ipv6_vmac_gets_the_base_link_local_and_no_arp_changes(star):
    lab, links = star
    a = links["a"]
    before = sysctls(a.ns, ["eth0", "all"])
    spec6 = VmacSpec("eth0", 67, family=6, instance="VI_6")
    xmit = VmacSpec("eth0", 68, family=6, xmit_base=True, name="vx68")
    sourced = VmacSpec("eth0", 69, family=6, source="fe80::69")

    async def main():
        async with Netlink() as nl:
            vm = VmacManager(nl)
            outcomes = [await vm.create(s) for s in (spec6, xmit, sourced)]
            addrs = {s: await nl.addresses(vm.get(s).ifindex, socket.AF_INET6)
                     for s in (spec6, xmit, sourced)}
            during = sysctls(a.ns, ["vrrp.67", "eth0", "all"])
            raw = await links_raw()
            removed = await vm.delete_all()
            return outcomes, addrs, during, raw, removed, vm.vmacs

    outcomes, addrs, during, raw, removed, left = run_in(a.ns, main)
    assert [o.status for o in outcomes] == [DONE] * 3
    assert describe_link(raw["vrrp.67"])["mac"] == "00:00:5e:00:02:43"
    assert describe_link(raw["vx68"])["mac"] == "00:00:5e:00:02:44"
    (ll,) = addrs[spec6]
    assert ll.address == a.ipv6_ll and ll.prefixlen == 64
    assert ll.flags & IFA_F_NODAD and ll.flags & IFA_F_DEPRECATED      # as keepalived 2.2.7
    assert ll.address != str(eui64_linklocal("00:00:5e:00:02:43"))
    assert addrs[xmit] == []                             # vmac_xmit_base: no link-local
    assert [i.address for i in addrs[sourced]] == ["fe80::69"]
    assert during["vrrp.67"]["disable_ipv6"] == 0
    assert during["eth0"] == before["eth0"] and during["all"] == before["all"]
    assert [o.status for o in removed] == [DONE] * 3 and left == ()


def test_refcounted_base_and_bad_inputs(star):
    lab, links = star
    a = links["a"]
    before = sysctls(a.ns, ["eth0"])["eth0"]
    first, second = VmacSpec("eth0", 10, instance="VI_A"), VmacSpec("eth0", 11, instance="VI_B")

    async def main():
        async with Netlink() as nl:
            vm = VmacManager(nl)
            await vm.create(first)
            await vm.create(second)
            after_one = (await vm.delete(first), sysctls(a.ns, ["eth0"])["eth0"])
            after_two = (await vm.delete(second), sysctls(a.ns, ["eth0"])["eth0"])
            missing = await vm.create(VmacSpec("nosuch0", 12))
            return after_one, after_two, missing, await links_raw()

    after_one, after_two, missing, raw = run_in(a.ns, main)
    assert after_one[0].status == DONE
    assert (after_one[1]["arp_ignore"], after_one[1]["arp_filter"]) == (1, 1)   # still used
    assert after_two[0].status == DONE and after_two[1] == before               # restored
    assert missing.status == FAILED and missing.errno == errno.ENODEV
    assert "nosuch0" in missing.error
    assert not [n for n in raw if n.startswith("vrrp")]
    for bad in ({"vrid": 0}, {"vrid": 256}, {"family": 5}, {"name": "a/b"},
                {"name": "x" * 16}, {"mac": "01:00:5e:00:00:01"}, {"mac": "00:00:5e:00:01:0a"},
                {"mac": "zz:00:00:00:00:00"}, {"source": "fe80::1"}, {"prefix": ""}):
        with pytest.raises(ValueError):
            VmacSpec(**{"base_ifname": "eth0", "vrid": 9, **bad})
    assert VmacSpec("eth0", 9, mac="02:11:22:33:44").virtual_mac == "02:11:22:33:44:09"


# -- the VIP answers ARP with the virtual MAC -----------------------------------------
def arp_request(src_mac, src_ip, target_ip):
    mac = bytes.fromhex(src_mac.replace(":", ""))
    return (b"\xff" * 6 + mac + b"\x08\x06"
            + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + socket.inet_aton(src_ip)
            + b"\x00" * 6 + socket.inet_aton(target_ip))


def arp_replies(ns, ifname, src_mac, src_ip, targets, timeout=5.0):
    """Ask ARP for every target; return [(target, replying MAC)] once each has answered."""
    sock = netns.socket_in(ns, socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
    try:
        sock.bind((ifname, 0x0806))
        sock.settimeout(timeout)
        for target in targets:
            sock.send(arp_request(src_mac, src_ip, target))
        replies = []
        while not set(targets) <= {t for t, _m in replies}:
            frame = sock.recv(2048)
            if len(frame) < 42 or frame[12:14] != b"\x08\x06":
                continue
            op = struct.unpack("!H", frame[20:22])[0]
            if op == 2:
                replies.append((socket.inet_ntoa(frame[28:32]), frame[22:28].hex(":")))
        return replies
    finally:
        sock.close()


def test_vip_on_the_vmac_answers_arp_with_the_virtual_mac(star):
    lab, links = star
    a, b = links["a"], links["b"]
    spec = VmacSpec("eth0", 66, instance="VI_1")

    async def setup():
        nl = Netlink()
        vm = VmacManager(nl)
        assert (await vm.create(spec)).status == DONE
        vips = VipSet(nl, [VipSpec("10.0.0.100/24", ifname=vm.get(spec).ifname)])
        assert [o.status for o in await vips.add_all()] == [DONE]
        nl.close()          # the next loop opens its own socket
        return nl, vm

    nl, vm = run_in(a.ns, setup)
    try:
        replies = arp_replies(b.ns, b.ifname, b.mac, b.ip4, ["10.0.0.100", a.ip4])
    finally:
        async def teardown():
            return await vm.delete(spec)
        assert run_in(a.ns, teardown).status == DONE
        nl.close()
    vip_macs = {m for t, m in replies if t == "10.0.0.100"}
    assert vip_macs == {"00:00:5e:00:01:42"}             # never the base's own MAC
    assert {m for t, m in replies if t == a.ip4} == {a.mac}


# -- crash (kill -9) leftovers ------------------------------------------------------------
def test_crash_leftovers_are_removed_and_sysctls_restored(star):
    lab, links = star
    a = links["a"]
    prepare(lab, "a", a)
    before = sysctls(a.ns, ["eth0", "all", "default"])
    specs = (VmacSpec("eth0", 66, instance="VI_1"), VmacSpec("eth0", 67, instance="VI_2"),
             VmacSpec("eth0", 68, family=6, instance="VI_6"))
    # someone else's macvlans: never ours to delete
    foreign = run_in(a.ns, lambda: _foreign_macvlans(a.ifindex))
    live = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()", "fastvrrp"],
                            stdin=subprocess.PIPE)
    try:
        async def crash():
            async with Netlink() as nl:
                vm = VmacManager(nl)
                for spec in specs:
                    assert (await vm.create(spec)).status == DONE
                # hand vrrp.67 to another live fastvrrp process (its pid in the mark)
                other = (await links_raw())["vrrp.67"]
                alias = other.get_attr("IFLA_IFALIAS").split(" ")
                alias[1] = "pid=%d" % live.pid
                await _set_alias(other["index"], " ".join(alias))
            # the manager is gone without deleting anything: kill -9

        run_in(a.ns, crash)
        crashed = sysctls(a.ns, ["eth0", "all"])

        async def restart():
            async with Netlink() as nl:
                first = await cleanup_stale_vmacs(nl, keep={"vrrp.68"})
                middle = set(macvlans_now(await links_raw()))
                second = await cleanup_stale_vmacs(nl)
                return first, middle, second

        first, middle, second = run_in(a.ns, restart)
        kept_by_live = sysctls(a.ns, ["eth0", "all"])
    finally:
        live.stdin.close()
        live.wait(timeout=10)

    async def last():
        async with Netlink() as nl:
            return await cleanup_stale_vmacs(nl)

    third = run_in(a.ns, last)
    assert (crashed["eth0"]["arp_ignore"], crashed["all"]["rp_filter"]) == (1, 0)
    assert [o.request.ifname for o in first] == ["vrrp.66"] and first[0].status == DONE
    assert middle == {"vrrp.67", "vrrp.68"} | set(foreign)
    # vrrp.67 (IPv4, a live daemon's) still uses the base: nothing restored yet
    assert (kept_by_live["eth0"]["arp_ignore"], kept_by_live["all"]["rp_filter"]) == (1, 0)
    assert [o.request.ifname for o in second] == ["vrrp.68"]
    assert [o.request.ifname for o in third] == ["vrrp.67"] and third[0].status == DONE
    assert set(macvlans(a.ns)) == set(foreign)
    after = sysctls(a.ns, ["eth0", "all", "default"])
    assert after["all"] == before["all"] and after["default"] == before["default"]
    assert {k: after["eth0"][k] for k in ("arp_ignore", "arp_filter")} == \
        {k: before["eth0"][k] for k in ("arp_ignore", "arp_filter")}


def macvlans_now(raw):
    return [n for n, m in raw.items() if describe_link(m)["kind"] == "macvlan"]


async def _set_alias(index, alias):
    ipr = IPRoute()
    try:
        await ipr.link("set", index=index, ifalias=alias)
    finally:
        ipr.close()


async def _foreign_macvlans(base_index):
    """An unmarked private macvlan with a VRRP MAC, and a marked one in bridge mode."""
    ipr = IPRoute()
    try:
        await ipr.link("add", ifname="admin.9", kind="macvlan", link=base_index,
                       macvlan_mode="private", address="00:00:5e:00:01:09")
        await ipr.link("add", ifname="bridged.9", kind="macvlan", link=base_index,
                       macvlan_mode="bridge", address="02:00:00:00:00:09")
        async with Netlink() as nl:
            bridged = await nl.link("bridged.9")
        await ipr.link("set", index=bridged.index, ifalias="fastvrrp:VI_9 pid=1 family=4")
        return ["admin.9", "bridged.9"]
    finally:
        ipr.close()


def test_names_conflicts_and_adoption_after_a_crash(star):
    lab, links = star
    a = links["a"]
    prepare(lab, "a", a)
    before = sysctls(a.ns, ["eth0", "all", "default"])
    spec = VmacSpec("eth0", 66, instance="VI_1")
    named = VmacSpec("eth0", 70, name="vrrp.66", instance="VI_2")

    async def main():
        ipr = IPRoute()
        try:
            await ipr.link("add", ifname="vrrp.66", kind="veth", peer="peer66")   # not ours
        finally:
            ipr.close()
        async with Netlink() as nl:
            first = VmacManager(nl)
            made = await first.create(spec)
            made_named = await first.create(named)
            names = (first.get(spec).ifname, first.get(named).ifname)
            index = first.get(spec).ifindex
            # crash: a new manager finds its own marked VMAC and reuses it
            second = VmacManager(nl)
            adopted = await second.create(spec)
            same = second.get(spec).ifindex == index and second.get(spec).adopted
            await first.delete(named)
            removed = await second.delete(spec)
            return made, made_named, names, adopted, same, removed, await links_raw()

    made, made_named, names, adopted, same, removed, raw = run_in(a.ns, main)
    assert made.status == DONE and made_named.status == DONE
    assert names == ("vrrp1.66", "vrrp.70")      # keepalived create_vmac_name; vrrp.66 is a veth
    assert describe_link(raw["vrrp.66"])["kind"] == "veth"
    assert adopted.status == EXISTS and same
    assert removed.status == DONE and "vrrp1.66" not in raw
    # the mark's recorded originals brought everything back, though the
    # manager that changed them is gone
    assert sysctls(a.ns, ["eth0", "all", "default"]) == before


# -- keepalived 2.2.7 side by side ---------------------------------------------------------
KEEPALIVED_CONF = """
global_defs { router_id vmac }
vrrp_instance VI_4 {
  state MASTER
  interface eth0
  virtual_router_id 66
  priority 150
  advert_int 1
  use_vmac
  virtual_ipaddress { 10.0.0.100/24 }
}
vrrp_instance VI_6 {
  state MASTER
  interface eth0
  virtual_router_id 67
  priority 150
  advert_int 1
  use_vmac
  virtual_ipaddress { fe80::67/64 }
}
"""


def vmac_view(ns, node_link):
    """What matters of vrrp.66 / vrrp.67 and the sysctls, read inside `ns`."""
    async def main():
        raw = await links_raw()
        async with Netlink() as nl:
            ll = [(i.address, i.prefixlen, bool(i.flags & IFA_F_NODAD),
                   bool(i.flags & IFA_F_DEPRECATED))
                  for i in await nl.addresses(raw["vrrp.67"]["index"], socket.AF_INET6)
                  if i.address.startswith("fe80:") and i.address != "fe80::67"]
        links = {}
        for name in ("vrrp.66", "vrrp.67"):
            view = describe_link(raw[name])
            view.pop("alias")
            view["link"] = view["link"] == node_link.ifindex
            links[name] = view
        return links, ll

    links, ll = run_in(ns, main)
    ctl = sysctls(ns, ["vrrp.66", "vrrp.67", node_link.ifname, "all", "default"])
    ctl["base"] = ctl.pop(node_link.ifname)
    return links, [(a == node_link.ipv6_ll, p, n, d) for a, p, n, d in ll], ctl


@pytest.mark.interop
def test_same_vmacs_as_keepalived(lab):
    links = lab.star(("a", "b"))
    a, b = links["a"][0], links["b"][0]
    for node, link in (("a", a), ("b", b)):
        prepare(lab, node, link)
    ka = Keepalived(lab, "a", KEEPALIVED_CONF, name="vmac").start()
    try:
        def ready():
            try:
                view = vmac_view(a.ns, a)
            except KeyError:
                return None
            # keepalived makes each VMAC, then sets it up (addr_gen_mode first):
            # compare once both are up and the link-local is there
            done = view[1] and all(link.get("up") for link in view[0].values())
            return view if done else None
        theirs = wait_for(ready, 20, what="keepalived's VMACs up, with their link-local")
    finally:
        ka.stop()

    async def ours_up():
        nl = Netlink()
        vm = VmacManager(nl)
        for spec in (VmacSpec("eth0", 66, instance="VI_4"),
                     VmacSpec("eth0", 67, family=6, instance="VI_6")):
            assert (await vm.create(spec)).status == DONE
        nl.close()          # the next loop opens its own socket
        return nl, vm

    nl, vm = run_in(b.ns, ours_up)
    try:
        ours = vmac_view(b.ns, b)
    finally:
        async def down():
            return await vm.delete_all()
        run_in(b.ns, down)
        nl.close()
    assert ours[0] == theirs[0]          # kind, mode, MAC, base, up, addr_gen_mode
    assert ours[1] == theirs[1]          # the IPv6 VMAC's link-local and its flags
    assert ours[2] == theirs[2]          # every sysctl of both VMACs, the base, all, default
