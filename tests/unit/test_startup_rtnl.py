"""Issue 6 (start-up): the daemon's link/address dumps, link lookups and notifications
run on fastvrrp.host.nlsocket's own rtnetlink sockets, decoded without pyroute2's
socket machinery; pyroute2 stays the oracle: what both decode must be the same
LinkInfo / AddrInfo / LinkView, and a daemon start must not import it."""

import asyncio
import os
import secrets
import socket
import struct
import subprocess

import pytest

from fastvrrp.host import nlsocket
from fastvrrp.host.objects import AddrInfo, LinkInfo
from fastvrrp.host.vmac import LinkView
from fastvrrp.host.vmacspec import VmacMark
from freshpy import START_CONFIG as CONFIG, fresh_python


# -- hand-made rtnetlink messages -----------------------------------------------------------

def _rta(kind, payload):
    raw = struct.pack("=HH", 4 + len(payload), kind) + payload
    return raw + b"\0" * (-len(raw) % 4)


def _nlmsg(kind, body, flags=0, seq=0):
    raw = struct.pack("=IHHII", 16 + len(body), kind, flags, seq, 0) + body
    return raw + b"\0" * (-len(raw) % 4)


def _link(index, name, *, flags=0x11043, mac=b"\x02\0\0\0\0\x07", kind=None, mode=None,
          alias=None, link=None, operstate=6, carrier=1, mtu=1500, gen_mode=None):
    attrs = _rta(3, name.encode() + b"\0") + _rta(1, mac) + _rta(4, struct.pack("=I", mtu))
    attrs += _rta(16, bytes([operstate])) + _rta(33, bytes([carrier]))
    if link is not None:
        attrs += _rta(5, struct.pack("=I", link))
    if alias is not None:
        attrs += _rta(20, alias.encode() + b"\0")
    if kind is not None:
        info = _rta(1, kind.encode() + b"\0")
        if mode is not None:
            info += _rta(2, _rta(1, struct.pack("=I", mode)))
        attrs += _rta(18 | 0x8000, info)                  # NLA_F_NESTED, as the kernel sets it
    if gen_mode is not None:
        attrs += _rta(26, _rta(10, _rta(8, bytes([gen_mode]))))
    return _nlmsg(16, struct.pack("=BxHiII", 0, 1, index, flags, 0) + attrs, flags=2, seq=9)


def _addr(family, index, local, prefixlen, *, flags=0, scope=0, peer=None, broadcast=None,
          label=None, proto=None, ext_flags=None, cache=None):
    size = 4 if family == socket.AF_INET else 16
    attrs = _rta(1, socket.inet_pton(family, peer or local))
    if family == socket.AF_INET:
        attrs += _rta(2, socket.inet_pton(family, local))
    if broadcast:
        attrs += _rta(4, socket.inet_pton(family, broadcast))
    if label:
        attrs += _rta(3, label.encode() + b"\0")
    if cache:
        attrs += _rta(6, struct.pack("=IIII", *cache))
    if ext_flags is not None:
        attrs += _rta(8, struct.pack("=I", ext_flags))
    if proto is not None:
        attrs += _rta(11, bytes([proto]))
    assert size
    return _nlmsg(20, struct.pack("=BBBBI", family, prefixlen, flags, scope, index) + attrs,
                  flags=2, seq=9)


LINKS = [
    _link(1, "lo", flags=0x10049, mac=b"\0" * 6, operstate=0, mtu=65536),
    _link(7, "eth0"),
    _link(8, "eth1", flags=0x1003, operstate=2, carrier=0),
    _link(9, "vrrp.51", kind="macvlan", mode=1, alias=VmacMark("VI_1", 1234, 4).encode(), link=7,
          mac=b"\0\0\x5e\0\1\x33", gen_mode=1),
    _link(10, "br0", kind="bridge"),
]
ADDRS = [
    _addr(socket.AF_INET, 7, "10.0.0.1", 24, broadcast="10.0.0.255", label="eth0"),
    _addr(socket.AF_INET, 7, "10.0.0.9", 24, flags=0x01, label="eth0:1"),      # secondary
    _addr(socket.AF_INET, 7, "10.200.0.1", 32, proto=0x9e, cache=(30, 60, 1, 2)),
    _addr(socket.AF_INET, 8, "192.168.1.1", 32, peer="192.168.1.2"),
    _addr(socket.AF_INET6, 7, "fe80::1", 64, scope=253, flags=0x80, ext_flags=0x280),
    _addr(socket.AF_INET6, 7, "2001:db8::1", 64, flags=0x40),                    # tentative
]


def _pyroute2_decoded(data):
    from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
    kind = struct.unpack_from("=H", data, 4)[0]
    msg = (ifinfmsg if kind in (16, 17) else ifaddrmsg)(data)
    msg.decode()
    return msg


@pytest.mark.parametrize("data", LINKS)
def test_links_decode_as_pyroute2_decodes_them(data):
    (ours,) = nlsocket.decode(data)
    theirs = _pyroute2_decoded(data)
    assert LinkInfo.from_msg(ours) == LinkInfo.from_msg(theirs)
    assert LinkView.from_msg(ours) == LinkView.from_msg(theirs)
    assert ours["header"]["type"] == theirs["header"]["type"] == 16


def test_a_vmac_reads_kind_mode_alias_and_addr_gen_mode():
    (ours,) = nlsocket.decode(LINKS[3])
    info = ours.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") == "macvlan"
    assert info.get_attr("IFLA_INFO_DATA").get_attr("IFLA_MACVLAN_MODE") == "private"
    assert ours.get_attr("IFLA_AF_SPEC").get_attr("AF_INET6") \
        .get_attr("IFLA_INET6_ADDR_GEN_MODE") == 1
    assert LinkView.from_msg(ours).mark == VmacMark("VI_1", 1234, 4)


@pytest.mark.parametrize("data", ADDRS)
def test_addresses_decode_as_pyroute2_decodes_them(data):
    (ours,) = nlsocket.decode(data)
    assert AddrInfo.from_msg(ours) == AddrInfo.from_msg(_pyroute2_decoded(data))


def test_one_datagram_of_many_messages_and_what_is_not_a_link_or_address():
    done = _nlmsg(3, struct.pack("=i", 0), seq=9)
    route = _nlmsg(24, b"\0" * 12, seq=9)                      # RTM_NEWROUTE: not ours
    got = nlsocket.decode(b"".join(LINKS[:2]) + route + ADDRS[0] + done)
    assert [m["header"]["type"] for m in got] == [16, 16, 20]
    assert [m.get("IFLA_IFNAME") for m in got[:2]] == ["lo", "eth0"]


@pytest.mark.parametrize("cut", [3, 16, 20, 31, 40])
def test_truncated_or_malformed_messages_are_skipped_never_raise(cut):
    data = LINKS[3]
    broken = bytearray(data[:cut])
    if len(broken) >= 4:
        struct.pack_into("=I", broken, 0, len(broken))        # a header that fits
    for msg in nlsocket.decode(bytes(broken)):
        LinkInfo.from_msg(msg)                                 # whatever is left reads
    bad_attr = bytearray(LINKS[1])
    struct.pack_into("=H", bad_attr, 32, 999)                  # first attribute overruns
    (msg,) = nlsocket.decode(bytes(bad_attr))
    assert msg["index"] == 7 and msg.get("IFLA_IFNAME") is None


# -- the real kernel, against pyroute2's socket ---------------------------------------------

def test_dumps_and_lookups_equal_pyroute2s_here():
    async def main():
        ours, theirs = nlsocket.IPRoute(), nlsocket.pyroute2_class()()
        try:
            links = ([LinkInfo.from_msg(m) for m in await ours.link("dump")],
                     [LinkInfo.from_msg(m) async for m in await theirs.link("dump")])
            addrs = ([AddrInfo.from_msg(m) for m in await ours.addr("dump")],
                     [AddrInfo.from_msg(m) async for m in await theirs.addr("dump")])
            lo = await ours.link("get", ifname="lo")
            by_index = await ours.link("get", index=lo[0]["index"])
            try:
                await ours.link("get", ifname="fvsnone%d" % os.getpid())
                missing = None
            except Exception as exc:                      # pyroute2's NetlinkError
                missing = (type(exc).__name__, exc.code)
            return links, addrs, lo, by_index, missing
        finally:
            ours.close()
            theirs.close()

    for _attempt in range(3):     # this namespace is the host's: others may change it
        links, addrs, lo, by_index, missing = asyncio.run(main())
        if links[0] == links[1] and addrs[0] == addrs[1]:
            break
    assert links[0] == links[1] and addrs[0] == addrs[1]
    assert LinkInfo.from_msg(lo[0]).ifname == "lo"
    assert LinkInfo.from_msg(by_index[0]) == LinkInfo.from_msg(lo[0])
    assert missing == ("NetlinkError", 19)                     # ENODEV, as pyroute2 raises


def test_requests_it_does_not_serve_go_to_pyroute2_and_close_ends_both():
    async def main():
        ipr = nlsocket.IPRoute()
        rules = [m async for m in await ipr.rule("dump", family=socket.AF_INET)]
        full = ipr._full
        ipr.close()
        try:
            await ipr.link("dump")
            after = "no error"
        except OSError as exc:
            after = exc.errno
        return len(rules), type(full).__name__, ipr._full, after

    count, name, full_after, after = asyncio.run(main())
    assert count >= 1 and name == "PyrouteIPRoute"               # the main table's rules
    assert full_after is None and after == 9                      # EBADF


# -- what a start imports -------------------------------------------------------------------


def test_starting_the_daemon_imports_no_pyroute2_socket_machinery_before_the_first_vip():
    # what a start does before its first VIP: the CLI, the process shell, the config,
    # the engine; the interfaces and addresses read, the notifications subscribed, the
    # trackers applied (none here)
    modules = fresh_python(
        "import asyncio, json, sys\n"
        "from fastvrrp import cli\n"
        "from fastvrrp.daemon import process, engine, configload\n"
        "from fastvrrp.daemon.engine_tracking import Tracking\n"
        "from fastvrrp.config import loads\n"
        "from fastvrrp.host.addrspec import IFAPROT_FASTVRRP\n"
        "from fastvrrp.host.events import NetlinkEvents\n"
        "from fastvrrp.host.netlink import Netlink\n"
        "config, diags = loads(%r)\n"
        "assert not diags.errors, diags.errors\n"
        "from fastvrrp.daemon.convert import vet_scripts\n"
        "vetted = vet_scripts(config)\n"
        "async def main():\n"
        "    events = NetlinkEvents(skip_proto=IFAPROT_FASTVRRP)\n"
        "    await events.open()\n"
        "    async with Netlink() as nl:\n"
        "        assert await nl.links() and await nl.addresses() is not None\n"
        "        assert (await nl.link('lo')).ifname == 'lo'\n"
        "    await Tracking(None, emit=lambda *a: None).apply(config, vetted, [])\n"
        "    events.close()\n"
        "asyncio.run(main())\n"
        "print(json.dumps(sorted(sys.modules)))\n" % CONFIG)
    for heavy in ("pyroute2.iproute", "pyroute2.iproute.linux", "pyroute2.netlink.nlsocket",
                  "pyroute2.netlink.rtnl.ifinfmsg", "pyroute2.netlink.rtnl.ifaddrmsg",
                  "pyroute2.netns", "multiprocessing", "unittest"):
        assert heavy not in modules, heavy
    # the parts of optional features: not without them in the config
    for optional in ("fastvrrp.host.vmac", "fastvrrp.host.routes", "fastvrrp.host.rules",
                     "fastvrrp.host.statics", "fastvrrp.host.routespec",
                     "fastvrrp.daemon.engine_reload", "fastvrrp.daemon.engine_dumps",
                     "fastvrrp.track.files", "fastvrrp.track.processes",
                     "fastvrrp.reference.fastpath"):
        assert optional not in modules, optional


# -- a namespace with every kind of link and address the daemon meets ---------------------

def _ip(*args, ns=None):
    cmd = ["ip"] + (["-n", ns] if ns else []) + list(args)
    subprocess.run(cmd, check=True, timeout=30, capture_output=True)


@pytest.mark.netns
def test_a_lab_namespace_reads_the_same_raw_and_through_pyroute2():
    if os.geteuid() != 0:
        pytest.skip("needs root for a network namespace")
    name = "fvs" + secrets.token_hex(4)
    _ip("netns", "add", name)
    try:
        _ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth1", ns=name)
        _ip("link", "add", "vrrp.51", "link", "eth0", "type", "macvlan", "mode", "private",
            ns=name)
        _ip("link", "set", "vrrp.51", "alias", "fastvrrp:1:51", ns=name)
        _ip("link", "add", "br0", "type", "bridge", ns=name)
        for link in ("eth0", "eth1", "vrrp.51", "br0"):
            _ip("link", "set", link, "up", ns=name)
        _ip("addr", "add", "10.0.0.1/24", "brd", "+", "dev", "eth0", "label", "eth0:a", ns=name)
        _ip("addr", "add", "10.0.0.9/24", "dev", "eth0", ns=name)                  # secondary
        _ip("addr", "add", "10.0.1.1", "peer", "10.0.1.2", "dev", "eth1", ns=name)
        _ip("addr", "add", "2001:db8::1/64", "dev", "eth0", "nodad", ns=name)
        _ip("addr", "add", "10.200.0.1/32", "dev", "eth1", ns=name)
        code = (
            "import asyncio, json\n"
            "from fastvrrp.host import nlsocket\n"
            "from fastvrrp.host.objects import AddrInfo, LinkInfo\n"
            "from fastvrrp.host.vmac import LinkView\n"
            "async def read(ipr):\n"
            "    links = [m async for m in await ipr.link('dump')] if ipr is not ours else \\\n"
            "        await ipr.link('dump')\n"
            "    addrs = [m async for m in await ipr.addr('dump')] if ipr is not ours else \\\n"
            "        await ipr.addr('dump')\n"
            "    return ([repr(LinkInfo.from_msg(m)) for m in links],\n"
            "            [repr(LinkView.from_msg(m)) for m in links],\n"
            "            [repr(AddrInfo.from_msg(m)) for m in addrs])\n"
            "ours = nlsocket.IPRoute()\n"
            "async def main():\n"
            "    theirs = nlsocket.pyroute2_class()()\n"
            "    try:\n"
            "        return await read(ours), await read(theirs)\n"
            "    finally:\n"
            "        ours.close()\n"
            "        theirs.close()\n"
            "print(json.dumps(asyncio.run(main())))\n")
        ours, theirs = fresh_python(code, netns=name)
    finally:
        subprocess.run(["ip", "netns", "del", name], timeout=30, check=False)
    assert ours == theirs
    assert any("macvlan" in view and "'fastvrrp:1:51'" in view for view in ours[1])
    assert len(ours[2]) >= 6
