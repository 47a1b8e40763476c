"""Semantic checks across objects, on the built model (no host access).

Per-instance derivations live in build.py; here: VRID conflicts between
instances (keepalived's check_vrid_conflicts, RFC 5798 §5.2.3: one virtual
router per VRID on a LAN), VMAC name clashes, track_group members, unused
scripts.  Every finding is a Diagnostic on the line that causes it.
"""

from __future__ import annotations

from .ast import Diagnostics
from .model import Config, VrrpInstance


def run(config: Config, diags: Diagnostics) -> None:
    vrid_conflicts(config, diags)
    vmac_names(config, diags)
    track_group_members(config, diags)
    unused_scripts(config, diags)


def vrid_conflicts(config: Config, diags: Diagnostics) -> None:
    """Same family + VRID: multicast instances may not share interface and group;
    unicast instances may not share interface, source and a peer."""
    first: dict = {}
    unicast: dict = {}
    for inst in config.instances:
        if inst.unicast:
            unicast.setdefault((inst.family, inst.vrid), []).append(inst)
            continue
        key = (inst.family, inst.vrid, inst.interface, inst.mcast_dst_ip)
        a = first.setdefault(key, inst)
        if a is not inst:
            diags.error(inst.where("virtual_router_id"),
                        "%s and %s both use VRID %d with IPv%d on interface %s (%s is at %s)"
                        % (a.name, inst.name, inst.vrid, inst.family, inst.interface, a.name,
                           a.pos), "duplicate-vrid")
    for group in unicast.values():
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                _unicast_conflict(a, b, diags)


def _unicast_conflict(a: VrrpInstance, b: VrrpInstance, diags: Diagnostics) -> None:
    if a.interface and b.interface and a.interface != b.interface:
        return
    sa, sb = a.unicast_src_ip or a.mcast_src_ip, b.unicast_src_ip or b.mcast_src_ip
    if sa is not None and sb is not None and sa != sb:
        return
    if sa is None or sb is None:
        # The source is the interface's primary address: only known to be the
        # same when both use the same interface.
        if a.interface is None or a.interface != b.interface:
            return
    common = {p.address for p in a.unicast_peers} & {p.address for p in b.unicast_peers}
    if common:
        diags.error(b.where("virtual_router_id"),
                    "(%s) duplicate VRID %d conflicts with %s: same interface, source and "
                    "unicast peer %s" % (b.name, b.vrid, a.name, sorted(map(str, common))[0]),
                    "duplicate-vrid")


def vmac_names(config: Config, diags: Diagnostics) -> None:
    used: dict = {}
    for inst in config.instances:
        if inst.use_vmac is None:
            continue
        name = inst.use_vmac.ifname
        other = used.get(name)
        if other is not None and other.sync_group is None or (
                other is not None and other.sync_group != inst.sync_group):
            diags.error(inst.where("use_vmac"), "(%s) VMAC interface %s is already used by %s"
                        % (inst.name, name, other.name), "duplicate-vmac")
            continue
        used.setdefault(name, inst)


def track_group_members(config: Config, diags: Diagnostics) -> None:
    names = config.instances_by_name
    for group in config.track_groups.values():
        for member in group.members:
            if member not in names:
                diags.error(group.pos, "track_group %s: vrrp instance %s not found"
                            % (group.name, member), "undefined-instance")


def unused_scripts(config: Config, diags: Diagnostics) -> None:
    used = {t.name for i in config.instances for t in i.track_scripts}
    for g in config.sync_groups.values():
        used.update(t.name for t in g.track_scripts)
    for name, script in config.scripts.items():
        if name not in used:
            diags.warning(script.pos, "vrrp_script %s is not used by any instance" % name,
                          "unused-script")
