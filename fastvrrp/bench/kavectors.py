"""Known-answer adverts recorded from the real keepalived in a lab.

Each Scenario is one keepalived.conf shape.  `record()` runs every scenario
given at once in one lab: per scenario a bridge, a node "k<j>" running
keepalived alone as MASTER (192.168.16.128, the seed's master address) and,
for unicast, a peer node "p<j>" (192.168.16.129) that answers ARP; tcpdump on
the bridge keeps every VRRP packet.  After `adverts` adverts keepalived gets
SIGTERM and its priority-0 advert is kept too.

`check_advert()` compares a captured advert with what its scenario configured
(the fields a newer keepalived must keep); `to_vector()` turns one into the
JSON object stored under tests/vectors/keepalived-<version>/.
"""

import textwrap
from dataclasses import dataclass

from .keepalived_proc import Keepalived, KeepalivedError, keepalived_version
from .lab import Lab, LinkSpec
from .vrrpview import VRRP_MCAST_V4, AdvertError, decode_frame

NODE_V4 = "192.168.16.128/24"
PEER_V4 = "192.168.16.129/24"
NODE_V6 = "fd00::128/64"
PEER_V6 = "fd00::129/64"
MCAST_V4 = VRRP_MCAST_V4    # RFC 5798 §5.1.1.2
MCAST_V6 = "ff02::12"     # RFC 5798 §5.1.2.2
VRRP_TTL = 255            # RFC 5798 §5.1.1.3 / §5.1.2.3
VRRP_TOS = 0xC0           # keepalived: IPTOS_PREC_INTERNETCONTROL


@dataclass(frozen=True)
class Scenario:
    """One keepalived configuration and what its adverts must carry."""

    name: str
    summary: str
    family: str                  # "ipv4" / "ipv6"
    version: int                 # 2 / 3
    vrid: int
    priority: int
    adver_int_cs: int
    addresses: tuple             # VIPs in configured (= packet) order, no prefix
    checksum_form: str
    body: str                    # the instance body; {ifname} {src4} {peer4} filled in
    auth_type: int = 0           # v2: 0 none, 1 PASS (RFC 2338 "simple text password")
    auth_pass: str = None
    unicast: bool = False
    instance: str = "VI_1"

    def config(self, ifname, src4, peer4=None):
        body = self.body.format(ifname=ifname, src4=src4, peer4=peer4 or "")
        return ("# fastvrrp known-answer scenario %s: %s\nvrrp_instance %s {\n%s}\n"
                % (self.name, self.summary, self.instance, textwrap.indent(body, "    ")))

    def expected_dst(self, peer4=None):
        if self.unicast:
            return peer4
        return MCAST_V4 if self.family == "ipv4" else MCAST_V6


SCENARIOS = {s.name: s for s in (
    Scenario(
        name="v2-ipv4-pass", summary="the seed's shape: VRRPv2, PASS 1111, VRID 66, priority 100",
        family="ipv4", version=2, vrid=66, priority=100, adver_int_cs=100,
        addresses=("192.168.16.130", "192.168.16.131"), checksum_form="v2-message",
        auth_type=1, auth_pass="1111",
        body="state MASTER\ninterface {ifname}\nvirtual_router_id 66\npriority 100\nadvert_int 1\n"
             "authentication {{\n    auth_type PASS\n    auth_pass 1111\n}}\n"
             "virtual_ipaddress {{\n    192.168.16.130\n    192.168.16.131\n}}\n"),
    Scenario(
        name="v2-ipv4-noauth", summary="VRRPv2 without authentication, address owner",
        family="ipv4", version=2, vrid=51, priority=255, adver_int_cs=100,
        addresses=("192.168.16.51",), checksum_form="v2-message",
        body="state MASTER\ninterface {ifname}\nvirtual_router_id 51\npriority 255\nadvert_int 1\n"
             "virtual_ipaddress {{\n    192.168.16.51/24\n}}\n"),
    Scenario(
        name="v3-ipv4", summary="VRRPv3 multicast, advert_int 0.5 (50 cs), two VIPs",
        family="ipv4", version=3, vrid=67, priority=200, adver_int_cs=50,
        addresses=("192.168.16.167", "192.168.16.168"), checksum_form="pseudo-header",
        body="state MASTER\ninterface {ifname}\nversion 3\nvirtual_router_id 67\npriority 200\n"
             "advert_int 0.5\nvirtual_ipaddress {{\n    192.168.16.167/24\n    192.168.16.168/24\n}}\n"),
    Scenario(
        name="v3-ipv4-unicast", summary="VRRPv3 unicast to one peer (pseudo-header uses the peer)",
        family="ipv4", version=3, vrid=68, priority=255, adver_int_cs=100,
        addresses=("192.168.16.68",), checksum_form="pseudo-header", unicast=True,
        body="state MASTER\ninterface {ifname}\nversion 3\nvirtual_router_id 68\npriority 255\n"
             "advert_int 1\nunicast_src_ip {src4}\nunicast_peer {{\n    {peer4}\n}}\n"
             "virtual_ipaddress {{\n    192.168.16.68/24\n}}\n"),
    Scenario(
        name="v3-ipv6", summary="VRRPv3 IPv6 to ff02::12 from the link-local, first VIP link-local",
        family="ipv6", version=3, vrid=69, priority=255, adver_int_cs=100,
        addresses=("fe80::69", "fd00::69"), checksum_form="ipv6-pseudo-header",
        body="state MASTER\ninterface {ifname}\nversion 3\nvirtual_router_id 69\npriority 255\n"
             "advert_int 1\nvirtual_ipaddress {{\n    fe80::69/64\n    fd00::69/64\n}}\n"),
)}

LIVE_SUBSET = ("v2-ipv4-pass", "v3-ipv4", "v3-ipv6")


@dataclass
class Recording:
    """What one scenario produced: its adverts, the shutdown advert, the context."""

    scenario: Scenario
    config: str
    src: str                     # the source the adverts must come from
    dst: str
    adverts: list
    shutdown: object             # the priority-0 Advert, or None
    keepalived_version: str
    log: str


def check_advert(scenario, advert, *, src, dst, priority=None):
    """Differences between `advert` and its scenario, one line each ([] if none)."""
    want = {
        "family": scenario.family, "version": scenario.version, "type": 1,
        "vrid": scenario.vrid,
        "priority": scenario.priority if priority is None else priority,
        "count": len(scenario.addresses), "adver_int_cs": scenario.adver_int_cs,
        "addresses": tuple(scenario.addresses), "ttl_or_hlim": VRRP_TTL,
        "tos_or_tclass": VRRP_TOS, "src": src, "dst": dst,
        "checksum_form": scenario.checksum_form,
    }
    if scenario.version == 2:
        want["auth_type"] = scenario.auth_type
        want["auth_pass"] = scenario.auth_pass
    else:
        want["rsvd"] = 0
    problems = []
    for key, value in want.items():
        got = getattr(advert, key)
        if got != value:
            problems.append("%s: configured/expected %r, captured %r" % (key, value, got))
    if advert.checksum_form is None:
        problems.append("checksum 0x%04x valid in no single form: %r"
                        % (advert.checksum, advert.checksum_valid))
    return problems


def _advert(frame):
    """The frame's Advert, or None if it is not one."""
    try:
        return decode_frame(frame)
    except (AdvertError, ValueError):
        return None


def _is_priority0(frame):
    advert = _advert(frame)
    return advert is not None and advert.priority == 0


def record(names, *, adverts=2, shutdown=True, timeout=20.0, lab=None):
    """Run the named scenarios at once; return {name: Recording}.

    Uses `lab` if given (it needs a free switch role "ksw"), else its own lab.
    """
    scenarios = [SCENARIOS[n] if isinstance(n, str) else n for n in names]
    if lab is None:
        with Lab() as own:
            return _record(own, scenarios, adverts, shutdown, timeout)
    return _record(lab, scenarios, adverts, shutdown, timeout)


def _record(lab, scenarios, adverts, shutdown, timeout):
    version = keepalived_version()
    lab.add_switch("ksw", bridges=["br%d" % j for j in range(len(scenarios))])
    specs = []
    for j, sc in enumerate(scenarios):
        lab.add_node("k%d" % j)
        specs.append(LinkSpec(node="k%d" % j, switch="ksw", bridge="br%d" % j,
                              ipv4=(NODE_V4,), ipv6=(NODE_V6,)))
        if sc.unicast:
            lab.add_node("p%d" % j)
            specs.append(LinkSpec(node="p%d" % j, switch="ksw", bridge="br%d" % j,
                                  ipv4=(PEER_V4,), ipv6=(PEER_V6,)))
    links = {link.node: link for link in lab.connect(*specs)}
    runs = []
    for j, sc in enumerate(scenarios):
        node = links["k%d" % j]
        peer4 = PEER_V4.split("/")[0] if sc.unicast else None
        config = sc.config(node.ifname, node.ip4, peer4)
        cap = lab.capture("ksw", "br%d" % j, name="%s.pcap" % sc.name)
        ka = Keepalived(lab, "k%d" % j, config, name=sc.name).start()
        src = node.ip4 if sc.family == "ipv4" else node.ipv6_ll
        runs.append((sc, config, src, sc.expected_dst(peer4), cap, ka))
    out = {}
    try:
        for sc, config, src, dst, cap, ka in runs:
            cap.wait_frames(adverts, match=_advert, timeout=timeout)
    except TimeoutError as exc:
        logs = "\n".join("--- %s\n%s" % (r[0].name, r[5].log()[-2000:]) for r in runs)
        raise KeepalivedError("keepalived did not advertise in time: %s\n%s" % (exc, logs)) from None
    for sc, config, src, dst, cap, ka in runs:
        ka.stop()
        if shutdown:
            try:
                cap.wait_frames(1, match=_is_priority0, timeout=timeout)
            except TimeoutError:
                pass  # reported as Recording.shutdown = None
        decoded = [a for a in map(_advert, cap.stop()) if a is not None]
        zero = [a for a in decoded if a.priority == 0]
        out[sc.name] = Recording(scenario=sc, config=config, src=src, dst=dst,
                                 adverts=[a for a in decoded if a.priority != 0][:adverts],
                                 shutdown=zero[0] if zero else None,
                                 keepalived_version=version, log=ka.log())
    return out


def to_vector(recording, advert, *, name=None, how=""):
    """The JSON object for one captured advert (the format tests/vectors/README.md documents)."""
    sc = recording.scenario
    note = ("keepalived %s, alone in a lab network namespace, veth to a Linux bridge, "
            "captured with tcpdump on the bridge%s. Config:\n%s"
            % (recording.keepalived_version, how, recording.config))
    vector = {
        "name": name or sc.name,
        "note": note,
        "family": advert.family,
        "version": advert.version,
        "ip_packet_hex": advert.ip_packet.hex(),
        "vrrp_hex": advert.vrrp.hex(),
        "src": advert.src,
        "dst": advert.dst,
        "ttl_or_hlim": advert.ttl_or_hlim,
        "tos_or_tclass": advert.tos_or_tclass,
        "ip_id": advert.ip_id,
        "df": advert.df,
        "vrid": advert.vrid,
        "priority": advert.priority,
        "adver_int_cs": advert.adver_int_cs,
        "addresses": list(advert.addresses),
        "auth_type": advert.auth_type if advert.version == 2 else 0,
        "auth_pass": advert.auth_pass,
        "checksum_form": advert.checksum_form,
        "keepalived_version": recording.keepalived_version,
        "src_mac": advert.src_mac,
        "dst_mac": advert.dst_mac,
        # extra keys
        "type": advert.type,
        "count": advert.count,
        "adver_int_raw": advert.adver_int_raw,
        "checksum": advert.checksum,
        "checksum_valid": dict(advert.checksum_valid),
        "unicast": sc.unicast,
        "scenario": sc.name,
        "config": recording.config,
    }
    if advert.family == "ipv6":
        vector["flow_label"] = int.from_bytes(advert.ip_packet[1:4], "big") & 0xFFFFF
    return vector
