"""Every interface and script a Config refers to, with where it was written.

Used by the host checks (do they exist, are they safe), by the benchmark
(which interfaces a namespace must have) and by Config.interfaces().
"""

from __future__ import annotations

from typing import Iterator

from .ast import Pos
from .model import Command, Config


def interface_refs(config: Config) -> Iterator[tuple[str, Pos, str]]:
    """(interface name, position, what refers to it) for every use."""
    for inst in config.instances:
        who = "vrrp_instance %s" % inst.name
        if inst.interface is not None:
            yield inst.interface, inst.where("interface"), who
        for t in inst.track_interfaces:
            yield t.name, t.pos, "track_interface of %s" % (
                "sync group %s" % t.group if t.group else who)
        for a in inst.vips + inst.evips:
            if a.dev is not None:
                yield a.dev, a.pos, "address %s of %s" % (a.address, who)
        for r in inst.vroutes:
            yield from _route_refs(r, who)
        for r in inst.vrules:
            yield from _rule_refs(r, who)
    for a in config.static_addresses:
        if a.dev is not None:
            yield a.dev, a.pos, "static address %s" % a.address
    for r in config.static_routes:
        yield from _route_refs(r, "static_routes")
    for r in config.static_rules:
        yield from _rule_refs(r, "static_rules")
    for g in config.garp_groups:
        for name in g.interfaces:
            yield name, g.pos, "garp_group"
    for lb in config.linkbeat_interfaces:
        yield lb.interface, lb.pos, "linkbeat_interfaces"
    for d in config.interface_up_down_delays:
        yield d.interface, d.pos, "interface_up_down_delays"


def _route_refs(r, who):
    if r.dev is not None:
        yield r.dev, r.pos, "route %s of %s" % (r.dest, who)
    for h in r.nexthops:
        if h.dev is not None:
            yield h.dev, r.pos, "nexthop of route %s of %s" % (r.dest, who)


def _rule_refs(r, who):
    if r.iif is not None:
        yield r.iif, r.pos, "rule of %s" % who
    if r.oif is not None:
        yield r.oif, r.pos, "rule of %s" % who


def script_refs(config: Config) -> Iterator[tuple[Command, str, bool]]:
    """(command, description, is_track_script) for every script keepalived checks."""
    for script in config.scripts.values():
        yield script.command, "vrrp_script %s" % script.name, True
    for inst in config.instances:
        for kind in ("notify_master", "notify_backup", "notify_fault", "notify_stop",
                     "notify_deleted", "notify", "notify_master_rx_lower_pri"):
            cmd = getattr(inst, kind)
            if cmd is not None:
                yield cmd, "%s of vrrp_instance %s" % (kind, inst.name), False
    for group in config.sync_groups.values():
        for kind in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"):
            cmd = getattr(group, kind)
            if cmd is not None:
                yield cmd, "%s of vrrp_sync_group %s" % (kind, group.name), False
    g = config.global_defs
    for kind in ("notify_fifo_script", "vrrp_notify_fifo_script", "startup_script",
                 "shutdown_script"):
        cmd = getattr(g, kind)
        if cmd is not None:
            yield cmd, kind, False
