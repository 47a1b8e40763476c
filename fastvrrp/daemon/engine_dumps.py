"""The signal dumps in keepalived's formats (reference §3.18-§3.19).

    write_data(fp, views, config)      SIGUSR1     keepalived.data (free text)
    write_stats(fp, views)             SIGUSR2     keepalived.stats
    write_json(fp, views)              SIGRTMIN+2  keepalived.json (json_version 1)
    await render(kind, items, view_of, ...)   the same text, DUMP_CHUNK instances
                                              per turn of the event loop

A view (`InstanceView`) is a snapshot of one running instance: its plan, the
machine (brought up to date by the fast-path bridge), its counters and
runtime facts.  The formats follow keepalived 2.2.7's `dump_vrrp`,
`vrrp_print_stats` and `vrrp_print_json`: the same field names, counter
names and state numbers (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT), so tools that
read keepalived's files read these.  Fields keepalived prints for features
fastvrrp does not have are left out, as keepalived leaves out fields with no
value.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
import time
from dataclasses import dataclass
from typing import Callable, Optional, TextIO

from fastvrrp.vrrp import State

STATS_ORDER = (
    ("Advertisements", (("Received", "advert_rcvd"), ("Sent", "advert_sent"))),
    (None, (("Became master", "become_master"), ("Released master", "release_master"))),
    ("Packet Errors", (("Length", "packet_len_err"), ("TTL", "ip_ttl_err"),
                       ("Invalid Type", "invalid_type_rcvd"),
                       ("Advertisement Interval", "advert_interval_err"),
                       ("Address List", "addr_list_err"))),
    ("Authentication Errors", (("Invalid Type", "invalid_authtype"),
                               ("Type Mismatch", "authtype_mismatch"),
                               ("Failure", "auth_failure"))),
    ("Priority Zero", (("Received", "pri_zero_rcvd"), ("Sent", "pri_zero_sent"))),
)
JSON_STATS = ("advert_rcvd", "advert_sent", "become_master", "release_master", "packet_len_err",
              "advert_interval_err", "ip_ttl_err", "invalid_type_rcvd", "addr_list_err",
              "invalid_authtype", "authtype_mismatch", "auth_failure", "pri_zero_rcvd",
              "pri_zero_sent")
_STATE_NUMBER = {State.INIT: 0, State.BACKUP: 1, State.MASTER: 2, State.FAULT: 3, State.STOP: 98}


@dataclass(frozen=True)
class InstanceView:
    plan: object              # convert.InstancePlan
    machine: object           # fastvrrp.vrrp.VrrpMachine (None once unlinked)
    counters: dict
    src: Optional[str]
    last_transition: float
    held_vips: tuple          # VipSpec strings this run added and holds
    faults: tuple             # active FAULT reasons
    trackers: tuple           # TrackerStatus rows (aggregate.InstanceTracking.breakdown)


def _state(view) -> State:
    return view.machine.state if view.machine is not None else State.STOP


def _wantstate(view) -> State:
    return view.machine.wantstate if view.machine is not None else State.STOP


def _time(ts: float) -> str:
    return "%.6f (%s)" % (ts, time.strftime("%a %b %d %H:%M:%S", time.localtime(ts))
                          + ".%06d %s" % (int((ts % 1) * 1e6), time.strftime("%Y",
                                                                              time.localtime(ts))))


def _vip_line(spec, held: bool) -> str:
    parts = ["%s/%d" % (spec.address, spec.prefixlen), "dev", spec.ifname or "?"]
    if spec.version == 4:
        parts += ["scope", {0: "global", 200: "site", 253: "link", 254: "host",
                            255: "nowhere"}.get(spec.scope, str(spec.scope))]
    if spec.broadcast_address is not None:
        parts += ["brd", str(spec.broadcast_address)]
    if spec.label:
        parts += ["label", spec.label]
    if held:
        parts.append("set")
    return " ".join(parts)


def _advert_int(plan) -> str:
    cs = plan.params.advert_int_cs
    return "%d sec" % (cs // 100) if cs % 100 == 0 else "%d milli-sec" % (cs * 10)


def write_data(fp: TextIO, views, config, *, scripts=()) -> None:
    """keepalived.data: global definitions, VRRP topology, scripts (free text)."""
    write_data_head(fp, config)
    write_data_views(fp, views)
    write_data_scripts(fp, scripts)


def write_data_head(fp: TextIO, config) -> None:
    """keepalived.data up to the first instance."""
    g = config.global_defs
    fp.write("------< Global definitions >------\n")
    fp.write(" Network namespace = %s\n" % (config.net_namespace or "(default)"))
    fp.write(" Router ID = %s\n" % (g.router_id or socket.gethostname()))
    fp.write(" Default interface = %s\n" % g.default_interface)
    fp.write(" VRRP IPv4 mcast group = %s\n" % g.vrrp_mcast_group4)
    fp.write(" VRRP IPv6 mcast group = %s\n" % g.vrrp_mcast_group6)
    fp.write(" Gratuitous ARP delay = %d\n" % (g.vrrp_garp_master_delay_us // 1_000_000))
    fp.write(" Gratuitous ARP repeat = %d\n" % g.vrrp_garp_master_repeat)
    fp.write(" VRRP default protocol version = %d\n" % g.vrrp_version)
    fp.write("------< VRRP Topology >------\n")


def write_data_views(fp: TextIO, views) -> None:
    """keepalived.data: the VRRP Topology block of each instance."""
    for view in views:
        plan, m = view.plan, view.machine
        p = plan.params
        w = fp.write
        w(" VRRP Instance = %s\n" % plan.name)
        w("   VRRP Version = %d\n" % p.version)
        w("   State = %s\n" % _state(view).name)
        w("   Wantstate = %s\n" % _wantstate(view).name)
        w("   Last transition = %s\n" % _time(view.last_transition))
        if m is not None:
            w("   Master down timer = %d usecs\n" % (m.master_down_interval_ns // 1000))
        w("   Interface = %s\n" % plan.ifname)
        w("   Using src_ip = %s\n" % (view.src or "(none)"))
        if plan.unicast:
            w("   Unicast peers:\n")
            for peer in plan.peers:
                w("     %s\n" % peer)
        else:
            w("   Multicast address %s\n" % (plan.rx_key.group,))
        w("   Gratuitous ARP delay = %d\n" % (p.garp_master_delay_ns // 1_000_000_000))
        w("   Gratuitous ARP repeat = %d\n" % p.garp_master_repeat)
        w("   Gratuitous ARP refresh = %d\n" % (p.garp_master_refresh_ns // 1_000_000_000))
        w("   Gratuitous ARP refresh repeat = %d\n" % p.garp_master_refresh_repeat)
        w("   Virtual Router ID = %d\n" % p.vrid)
        w("   Priority = %d\n" % (m.base_priority if m is not None else p.priority))
        w("   Effective priority = %d\n" % (m.effective_priority if m is not None else p.priority))
        w("   Advert interval = %s\n" % _advert_int(plan))
        if m is not None and m.master_addr is not None:
            w("   Last master = %s, priority %d\n" % (m.master_addr, m.master_priority))
        w("   Preempt = %s\n" % ("disabled" if p.nopreempt else "enabled"))
        if p.preempt_delay_ns:
            w("   Preempt delay = %g secs\n" % (p.preempt_delay_ns / 1e9))
        w("   Authentication type = %s\n" % ("SIMPLE_PASSWORD" if plan.auth_type == 1
                                             else "none"))
        if view.faults:
            w("   Fault reasons = %s\n" % ", ".join(sorted(view.faults)))
        held = set(view.held_vips)
        w("   Virtual IP (%d):\n" % len(plan.vips))
        for spec in plan.vips:
            w("     %s\n" % _vip_line(spec, str(spec) in held))
        if plan.evips:
            w("   Virtual IP Excluded (%d):\n" % len(plan.evips))
            for spec in plan.evips:
                w("     %s\n" % _vip_line(spec, str(spec) in held))
        if view.trackers:
            w("   Tracking:\n")
            for row in view.trackers:
                w("     %s %s state %s weight %d%s contribution %d%s\n" % (
                    row.kind, row.name, row.state, row.weight, " reverse" if row.reverse else "",
                    row.contribution, " FAULT" if row.fault else ""))


def write_data_scripts(fp: TextIO, scripts) -> None:
    """keepalived.data: the VRRP Scripts block."""
    scripts = list(scripts)
    if scripts:
        fp.write("------< VRRP Scripts >------\n")
        for status in scripts:
            fp.write(" VRRP Script = %s\n" % status.name)
            fp.write("   Status = %s\n" % status.state.value)
            fp.write("   Rise = %d, Fall = %d, result %d\n" % (status.rise, status.fall,
                                                               status.result))
            fp.write("   Last exit status = %d\n" % status.last_status)
            fp.write("   Runs = %d, skipped = %d\n" % (status.runs, status.skipped))


def write_stats(fp: TextIO, views) -> None:
    """keepalived.stats, one block per instance (vrrp_print.c)."""
    for view in views:
        c = view.counters
        fp.write("VRRP Instance: %s\n" % view.plan.name)
        for title, rows in STATS_ORDER:
            if title is None:
                for label, key in rows:
                    fp.write("  %s: %d\n" % (label, c.get(key, 0)))
                continue
            fp.write("  %s:\n" % title)
            for label, key in rows:
                fp.write("    %s: %d\n" % (label, c.get(key, 0)))


def write_fastpath_stats(fp: TextIO, stats: dict) -> None:
    """fastvrrp's own block after keepalived's: the fast path's global counters
    (`python_escalations` shows whether the steady state stays in C)."""
    fp.write("Fast path:\n")
    for key, value in stats.items():
        if isinstance(value, int):
            fp.write("  %s: %d\n" % (key, value))
    drops = stats.get("drops") or {}
    if drops:
        fp.write("  drops:\n")
        for reason, count in sorted(drops.items()):
            fp.write("    %s: %d\n" % (reason, count))


def json_records(views) -> list:
    """keepalived.json (json_version 1): [{"data": {...}, "stats": {...}}, ...]."""
    out = []
    for view in views:
        plan, m = view.plan, view.machine
        p = plan.params
        held = set(view.held_vips)
        data = {
            "iname": plan.name,
            "ifp_ifname": plan.ifname,
            "vrid": p.vrid,
            "version": p.version,
            "state": _STATE_NUMBER.get(_state(view), 0),
            "wantstate": _STATE_NUMBER.get(_wantstate(view), 0),
            "base_priority": m.base_priority if m is not None else p.priority,
            "effective_priority": m.effective_priority if m is not None else p.priority,
            "master_priority": m.master_priority if m is not None else 0,
            "last_transition": float("%f" % view.last_transition),
            "adver_int": p.advert_int_cs / 100,
            "master_adver_int": (m.master_adver_interval_ns / 1e9 if m is not None
                                 else p.advert_int_cs / 100),
            "garp_delay": p.garp_master_delay_ns // 1_000_000_000,
            "garp_refresh": p.garp_master_refresh_ns // 1_000_000_000,
            "garp_rep": p.garp_master_repeat,
            "garp_refresh_rep": p.garp_master_refresh_repeat,
            "garp_lower_prio_delay": p.garp_lower_prio_delay_ns // 1_000_000_000,
            "garp_lower_prio_rep": p.garp_lower_prio_repeat,
            "lower_prio_no_advert": int(p.lower_prio_no_advert),
            "higher_prio_send_advert": int(p.higher_prio_send_advert),
            "skip_check_adv_addr": int(p.skip_check_adv_addr),
            "vipset": bool(held),
            "nopreempt": p.nopreempt,
            "preempt_delay": p.preempt_delay_ns // 1_000_000_000,
            "auth_type": plan.auth_type,
        }
        if plan.auth_type:
            data["auth_data"] = "********"
        if view.src:
            data["src_ip"] = view.src
        if plan.peers:
            data["unicast_peer"] = list(plan.peers)
        if m is not None and m.master_addr is not None:
            data["master_addr"] = str(m.master_addr)
        vips = [_vip_line(s, str(s) in held) for s in plan.vips]
        if vips:
            data["vips"] = vips
        evips = [_vip_line(s, str(s) in held) for s in plan.evips]
        if evips:
            data["evips"] = evips
        scripts = [row.name for row in view.trackers if row.kind == "track_script"]
        if scripts:
            data["track_script"] = scripts
        if view.faults:
            data["faults"] = sorted(view.faults)
        stats = {key: int(view.counters.get(key, 0)) for key in JSON_STATS}
        out.append({"data": data, "stats": stats})
    return out


def write_json(fp: TextIO, views) -> None:
    """One line, compact, as keepalived writes it."""
    fp.write(json.dumps(json_records(views), separators=(",", ":")))
    fp.write("\n")


DUMP_CHUNK = 16       # instances read between two turns of the event loop (~2-3 ms at 1000)


async def render(kind: str, items, view_of: Callable, *, config=None, scripts=(),
                 fastpath_stats: Optional[dict] = None, chunk: int = DUMP_CHUNK,
                 counters_of: Optional[Callable] = None) -> str:
    """The text of dump `kind` ("data", "stats" or "json") over `items`, each
    made a view by `view_of` `chunk` at a time, the event loop turning in
    between: with thousands of instances at centisecond intervals, a dump read
    in one go would hold the loop (and the fast path's adverts) longer than a
    Master_Down_Interval.  Each view is a consistent snapshot of its instance;
    instances read in different chunks may be a few milliseconds apart.

    With `counters_of(item)`, every item's counters are read first, all at
    one instant (no turn of the loop in between: plain reads of the fast
    path's slots, about 2 ms for 1,000 instances), and handed to
    `view_of(item, counters)`: the counters of a dump then describe one
    moment of the wire, as keepalived's do (issue 6: counters equal what
    the sniffer saw).  Only the rest of each view is read chunk by chunk."""
    if kind not in ("data", "stats", "json"):
        raise ValueError("unknown dump kind %r" % (kind,))
    if counters_of is not None:
        items = list(items)
        counts = [counters_of(item) for item in items]
        pairs = list(zip(items, counts))
        return await render(kind, pairs, lambda pair: view_of(*pair), config=config,
                            scripts=scripts, fastpath_stats=fastpath_stats, chunk=chunk)
    out = io.StringIO()
    if kind == "data":
        write_data_head(out, config)
    fragments = []
    items = list(items)
    for start in range(0, len(items), chunk):
        if start:
            await asyncio.sleep(0)
        views = [view_of(item) for item in items[start:start + chunk]]
        if kind == "data":
            write_data_views(out, views)
        elif kind == "stats":
            write_stats(out, views)
        else:
            text = json.dumps(json_records(views), separators=(",", ":"))
            if len(text) > 2:
                fragments.append(text[1:-1])
    if kind == "data":
        write_data_scripts(out, scripts)
    elif kind == "stats" and fastpath_stats is not None:
        write_fastpath_stats(out, fastpath_stats)
    elif kind == "json":
        out.write("[%s]\n" % ",".join(fragments))
    return out.getvalue()


__all__ = ["DUMP_CHUNK", "InstanceView", "json_records", "render", "write_data", "write_json",
           "write_stats"]
