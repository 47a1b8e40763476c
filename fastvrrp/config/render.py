"""Model -> canonical keepalived.conf text.

`render(config)` writes what a normalised Config says, in a fixed order
(global_defs, static entries, scripts and trackers before their users, sync
groups, instances), with derived values written out only where the default
derivation would not give them back.  Reading the text back gives an equal
Config (the tests hold it to that), so tests, the lab and the benchmarks
generate their configs with it.  The text is valid for keepalived too.
"""

from __future__ import annotations

from .addresses import format_address
from .command import format_command
from .convert import word
from .model import Config, GlobalDefs, SyncGroup, VrrpInstance, VrrpScript
from .routes import format_route, format_rule

IND = "    "


def seconds(us: int) -> str:
    """Microseconds as keepalived seconds (integer, or decimal without trailing zeros)."""
    whole, frac = divmod(us, 1_000_000)
    if not frac:
        return str(whole)
    return ("%d.%06d" % (whole, frac)).rstrip("0")


def _bool(v: bool) -> str:
    return "true" if v else "false"


class _Out:
    def __init__(self):
        self.lines: list[str] = []

    def add(self, depth: int, text: str):
        self.lines.append(IND * depth + text)


def render(config: Config) -> str:
    out = _Out()
    g = config.global_defs
    _globals(out, g)
    if config.net_namespace:
        out.add(0, "net_namespace " + word(config.net_namespace))
    if config.instance_name:
        out.add(0, "instance " + word(config.instance_name))
    for key, val in config.top.items():
        out.add(0, key if val is True else "%s %s" % (key, val))
    for tg in config.track_groups.values():
        out.add(0, "track_group %s {" % word(tg.name))
        _list(out, 1, "group", [word(m) for m in tg.members])
        out.add(0, "}")
    _list(out, 0, "static_ipaddress", [format_address(a, True) for a in config.static_addresses])
    _list(out, 0, "static_routes", [format_route(r, True) for r in config.static_routes])
    _list(out, 0, "static_rules", [format_rule(r, True) for r in config.static_rules])
    for gg in config.garp_groups:
        out.add(0, "garp_group {")
        if gg.garp_interval_us is not None:
            out.add(1, "garp_interval " + seconds(gg.garp_interval_us))
        if gg.gna_interval_us is not None:
            out.add(1, "gna_interval " + seconds(gg.gna_interval_us))
        _list(out, 1, "interfaces", [word(n) for n in gg.interfaces])
        out.add(0, "}")
    _list(out, 0, "linkbeat_interfaces",
          [word(lb.interface) + (" " + lb.method if lb.method else "")
           for lb in config.linkbeat_interfaces])
    _list(out, 0, "interface_up_down_delays",
          ["%s %s %s" % (word(d.interface), seconds(d.down_us), seconds(d.up_us))
           for d in config.interface_up_down_delays])
    for s in config.scripts.values():
        _script(out, s)
    for tf in config.track_files.values():
        out.add(0, "track_file %s {" % word(tf.name))
        out.add(1, "file " + word(tf.path))
        out.add(1, "weight %d%s" % (tf.weight, " reverse" if tf.weight_reverse else ""))
        if tf.init_file:
            out.add(1, "init_file %d%s" % (tf.init_value, " overwrite" if tf.init_overwrite
                                           else ""))
        out.add(0, "}")
    for tp in config.track_processes.values():
        out.add(0, "vrrp_track_process %s {" % word(tp.name))
        out.add(1, " ".join(["process", word(tp.process)] + [word(p) for p in tp.params]))
        if tp.param_match and not (tp.params and tp.param_match == "exact"):
            out.add(1, "param_match" + ("" if tp.param_match == "exact" else " " + tp.param_match))
        if tp.weight or tp.weight_reverse:
            out.add(1, "weight %d%s" % (tp.weight, " reverse" if tp.weight_reverse else ""))
        out.add(1, "quorum_max %d" % tp.quorum_max)
        out.add(1, "quorum %d" % tp.quorum)
        if tp.terminate_delay_us:
            out.add(1, "terminate_delay " + seconds(tp.terminate_delay_us))
        if tp.fork_delay_us:
            out.add(1, "fork_delay " + seconds(tp.fork_delay_us))
        if tp.full_command and not tp.params and not tp.param_match:
            out.add(1, "full_command")
        out.add(0, "}")
    for sg in config.sync_groups.values():
        _sync_group(out, sg)
    groups = config.sync_groups
    for inst in config.instances:
        _instance(out, inst, g, groups.get(inst.sync_group) if inst.sync_group else None)
    return "\n".join(out.lines) + "\n"


def _list(out, depth, keyword, entries):
    if not entries:
        return
    out.add(depth, keyword + " {")
    for e in entries:
        out.add(depth + 1, e)
    out.add(depth, "}")


# ---------------------------------------------------------------- global_defs

def _globals(out: _Out, g: GlobalDefs):
    d = GlobalDefs()
    lines: list[str] = []

    def diff(name, text):
        if getattr(g, name) != getattr(d, name):
            lines.append(text)

    if g.router_id is not None:
        lines.append("router_id " + word(g.router_id))
    other = dict(g.other)
    min_garp = other.pop("vrrp_min_garp", None)
    if min_garp is False:
        lines.append("vrrp_min_garp false")
    elif min_garp:
        # it sets what is still at its default: write it first, then what differs
        lines.append("vrrp_min_garp")
        d = GlobalDefs(vrrp_garp_master_delay_us=0, vrrp_garp_master_repeat=1,
                       vrrp_garp_master_refresh_us=0, vrrp_garp_master_refresh_repeat=0)
    diff("vrrp_mcast_group4", "vrrp_mcast_group4 %s" % g.vrrp_mcast_group4)
    diff("vrrp_mcast_group6", "vrrp_mcast_group6 %s" % g.vrrp_mcast_group6)
    diff("vrrp_garp_master_delay_us", "vrrp_garp_master_delay %d"
         % (g.vrrp_garp_master_delay_us // 1_000_000))
    diff("vrrp_garp_master_repeat", "vrrp_garp_master_repeat %d" % g.vrrp_garp_master_repeat)
    diff("vrrp_garp_master_refresh_us", "vrrp_garp_master_refresh %d"
         % (g.vrrp_garp_master_refresh_us // 1_000_000))
    diff("vrrp_garp_master_refresh_repeat", "vrrp_garp_master_refresh_repeat %d"
         % g.vrrp_garp_master_refresh_repeat)
    if g.vrrp_garp_lower_prio_delay_us != g.vrrp_garp_master_delay_us:
        lines.append("vrrp_garp_lower_prio_delay %d" % (g.vrrp_garp_lower_prio_delay_us
                                                        // 1_000_000))
    if g.vrrp_garp_lower_prio_repeat != g.vrrp_garp_master_repeat:
        lines.append("vrrp_garp_lower_prio_repeat %d" % g.vrrp_garp_lower_prio_repeat)
    diff("vrrp_garp_interval_us", "vrrp_garp_interval " + seconds(g.vrrp_garp_interval_us))
    diff("vrrp_gna_interval_us", "vrrp_gna_interval " + seconds(g.vrrp_gna_interval_us))
    if g.vrrp_garp_extra_if_s:
        lines.append("vrrp_garp_extra_if %s%d" % ("all " if g.vrrp_garp_extra_if_all else "",
                                                  g.vrrp_garp_extra_if_s))
    diff("vrrp_down_timer_adverts", "vrrp_down_timer_adverts %d" % g.vrrp_down_timer_adverts)
    for name in ("vrrp_lower_prio_no_advert", "vrrp_higher_prio_send_advert",
                 "vrrp_owner_ignore_adverts", "v3_checksum_as_v2", "vrrp_notify_priority_changes",
                 "vrrp_strict", "vrrp_check_unicast_src", "vrrp_skip_check_adv_addr"):
        diff(name, "%s %s" % (name, _bool(getattr(g, name))))
    diff("vrrp_version", "vrrp_version %d" % g.vrrp_version)
    for name in ("vrrp_iptables", "vrrp_ipsets"):
        if getattr(g, name) is not None:
            lines.append(" ".join([name] + [word(x) for x in getattr(g, name)]))
    if g.nftables is not None:
        lines.append("nftables " + word(g.nftables))
    if g.nftables_priority is not None:
        lines.append("nftables_priority %d" % g.nftables_priority)
    for flag in ("nftables_ifindex", "nftables_counters", "enable_script_security",
                 "fifo_write_vrrp_states_on_reload", "log_unknown_vrids", "disable_local_igmp",
                 "linkbeat_use_polling"):
        if getattr(g, flag):
            lines.append(flag)
    if g.script_user is not None:
        lines.append("script_user " + word(g.script_user)
                     + (" " + word(g.script_group) if g.script_group else ""))
    for name in ("notify_fifo", "vrrp_notify_fifo"):
        f = getattr(g, name)
        if f is not None:
            lines.append(" ".join([name, word(f.path)] + [word(x) for x in (f.user, f.group)
                                                          if x is not None]))
    for name in ("notify_fifo_script", "vrrp_notify_fifo_script", "startup_script",
                 "shutdown_script"):
        cmd = getattr(g, name)
        if cmd is not None:
            lines.append("%s %s" % (name, format_command(cmd)))
    diff("startup_script_timeout_s", "startup_script_timeout %d" % g.startup_script_timeout_s)
    diff("shutdown_script_timeout_s", "shutdown_script_timeout %d" % g.shutdown_script_timeout_s)
    diff("vrrp_startup_delay_us", "vrrp_startup_delay " + seconds(g.vrrp_startup_delay_us))
    diff("vrrp_delay_after_boot_s", "vrrp_delay_after_boot %d" % g.vrrp_delay_after_boot_s)
    if g.dynamic_interfaces:
        lines.append("dynamic_interfaces" + (" allow_if_changes"
                                             if g.dynamic_interfaces_allow_if_changes else ""))
    diff("default_interface", "default_interface " + word(g.default_interface))
    for name in ("vmac_prefix", "vmac_addr_prefix"):
        if getattr(g, name) is not None:
            lines.append("%s %s" % (name, word(getattr(g, name))))
    for name, val in other.items():
        if val is True:
            lines.append(name)
        elif val is False:
            lines.append(name + " false")
        elif isinstance(val, tuple):
            lines.append(" ".join([name] + [word(str(v)) for v in val]))
        else:
            lines.append("%s %s" % (name, word(str(val))))
    if lines:
        out.add(0, "global_defs {")
        for line in lines:
            out.add(1, line)
        out.add(0, "}")


# ---------------------------------------------------------------- scripts, groups

def _script(out: _Out, s: VrrpScript):
    out.add(0, "vrrp_script %s {" % word(s.name))
    out.add(1, "script " + format_command(s.command.__class__(s.command.argv)))
    out.add(1, "interval " + seconds(s.interval_us))
    if s.timeout_us:
        out.add(1, "timeout " + seconds(s.timeout_us))
    if s.weight or s.weight_reverse:
        out.add(1, "weight %d%s" % (s.weight, " reverse" if s.weight_reverse else ""))
    if s.rise != 1:
        out.add(1, "rise %d" % s.rise)
    if s.fall != 1:
        out.add(1, "fall %d" % s.fall)
    if s.command.user is not None:
        out.add(1, "user " + word(s.command.user)
                + (" " + word(s.command.group) if s.command.group else ""))
    if s.init_fail:
        out.add(1, "init_fail")
    out.add(0, "}")


def _trackers(out, depth, obj, group_filter):
    ifs = [t for t in obj.track_interfaces if group_filter(t)]
    _list(out, depth, "track_interface",
          ["%s weight %d%s" % (word(t.name), t.weight, " reverse" if t.reverse else "")
           if (t.weight or t.reverse) else word(t.name) for t in ifs])
    for key, items in (("track_script", obj.track_scripts), ("track_file", obj.track_files),
                       ("track_process", obj.track_processes)):
        items = [t for t in items if group_filter(t)]
        _list(out, depth, key, ["%s weight %d %s" % (word(t.name), t.weight,
                                                     "reverse" if t.reverse else "noreverse")
                                for t in items])


def _sync_group(out: _Out, sg: SyncGroup):
    out.add(0, "vrrp_sync_group %s {" % word(sg.name))
    _list(out, 1, "group", [word(m) for m in sg.members])
    _trackers(out, 1, sg, lambda t: True)
    for kind in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"):
        cmd = getattr(sg, kind)
        if cmd is not None:
            out.add(1, "%s %s" % (kind, format_command(cmd)))
    if sg.sync_group_tracking_weight:
        out.add(1, "sync_group_tracking_weight")
    if sg.notify_priority_changes is not None:
        out.add(1, "notify_priority_changes " + _bool(sg.notify_priority_changes))
    out.add(0, "}")


# ---------------------------------------------------------------- instances

def _instance(out: _Out, i: VrrpInstance, g: GlobalDefs, sg):
    a = out.add
    a(0, "vrrp_instance %s {" % word(i.name))
    a(1, "state " + i.state)
    if i.interface is not None:
        a(1, "interface " + word(i.interface))
    a(1, "virtual_router_id %d" % i.vrid)
    a(1, "priority %d" % i.priority)
    cs = i.advert_int_cs
    a(1, "advert_int " + (str(cs // 100) if not cs % 100 else ("%d.%02d" % divmod(cs, 100))
                          .rstrip("0")))
    if i.family == 4 and i.version != g.vrrp_version:
        a(1, "version %d" % i.version)
    if i.strict_mode != g.vrrp_strict:
        a(1, "strict_mode " + _bool(i.strict_mode))
    if i.auth_type is not None:
        a(1, "authentication {")
        a(2, "auth_type " + i.auth_type)
        a(2, "auth_pass " + word(i.auth_pass.rstrip(b"\0").decode("utf-8", "surrogateescape")))
        a(1, "}")
    _list(out, 1, "virtual_ipaddress", [format_address(x) for x in i.vips])
    if i.no_virtual_ipaddress:
        a(1, "no_virtual_ipaddress")
    _list(out, 1, "virtual_ipaddress_excluded", [format_address(x) for x in i.evips])
    if i.mcast_src_ip is not None:
        a(1, "mcast_src_ip %s" % i.mcast_src_ip)
    if i.unicast_src_ip is not None:
        a(1, "unicast_src_ip %s" % i.unicast_src_ip)
    peers = []
    any_ttl = False
    for p in i.unicast_peers:
        text = str(p.address)
        if p.min_ttl != 0 or p.max_ttl != 255:
            any_ttl = True
            text += " min_ttl %d max_ttl %d" % (p.min_ttl, p.max_ttl)
        peers.append(text)
    _list(out, 1, "unicast_peer", peers)
    if i.unicast_ttl is not None:
        a(1, "unicast_ttl %d" % i.unicast_ttl)
    if i.check_unicast_src and not g.vrrp_check_unicast_src and not any_ttl:
        a(1, "check_unicast_src")
    if i.unicast_fault_no_peer:
        a(1, "unicast_fault_no_peer")
    if i.old_unicast_checksum is not None:
        a(1, "old_unicast_checksum" + (" never" if i.old_unicast_checksum == "never" else ""))
    if not i.unicast and i.mcast_dst_ip is not None:
        default = g.vrrp_mcast_group4 if i.family == 4 else g.vrrp_mcast_group6
        if i.mcast_dst_ip != default:
            a(1, "mcast_dst_ip %s" % i.mcast_dst_ip)
    _list(out, 1, "virtual_routes", [format_route(r) for r in i.vroutes])
    _list(out, 1, "virtual_rules", [format_rule(r) for r in i.vrules])
    _trackers(out, 1, i, lambda t: t.group is None)
    if i.dont_track_primary:
        a(1, "dont_track_primary")
    if i.nopreempt:
        a(1, "nopreempt")
    if i.preempt_delay_us:
        a(1, "preempt_delay " + seconds(i.preempt_delay_us))
    owner = i.priority == 255
    if i.accept != (True if owner else not i.strict_mode):
        a(1, "accept" if i.accept else "no_accept")
    if i.skip_check_adv_addr != g.vrrp_skip_check_adv_addr:
        a(1, "skip_check_adv_addr " + _bool(i.skip_check_adv_addr))
    strict = i.strict_mode
    if i.garp_master_delay_us != g.vrrp_garp_master_delay_us:
        a(1, "garp_master_delay %d" % (i.garp_master_delay_us // 1_000_000))
    if i.garp_master_repeat != g.vrrp_garp_master_repeat:
        a(1, "garp_master_repeat %d" % i.garp_master_repeat)
    if i.garp_master_refresh_us != g.vrrp_garp_master_refresh_us:
        a(1, "garp_master_refresh %d" % (i.garp_master_refresh_us // 1_000_000))
    if i.garp_master_refresh_repeat != g.vrrp_garp_master_refresh_repeat:
        a(1, "garp_master_refresh_repeat %d" % i.garp_master_refresh_repeat)
    if i.garp_lower_prio_delay_us != (0 if strict else g.vrrp_garp_lower_prio_delay_us):
        a(1, "garp_lower_prio_delay %d" % (i.garp_lower_prio_delay_us // 1_000_000))
    if i.garp_lower_prio_repeat != (0 if strict else g.vrrp_garp_lower_prio_repeat):
        a(1, "garp_lower_prio_repeat %d" % i.garp_lower_prio_repeat)
    if (i.garp_extra_if_s, i.garp_extra_if_all) != (g.vrrp_garp_extra_if_s,
                                                    g.vrrp_garp_extra_if_all):
        a(1, "garp_extra_if %s%d" % ("all " if i.garp_extra_if_all else "", i.garp_extra_if_s))
    if i.lower_prio_no_advert != (True if strict else g.vrrp_lower_prio_no_advert):
        a(1, "lower_prio_no_advert " + _bool(i.lower_prio_no_advert))
    if i.higher_prio_send_advert != (False if strict else g.vrrp_higher_prio_send_advert):
        a(1, "higher_prio_send_advert " + _bool(i.higher_prio_send_advert))
    if i.down_timer_adverts != g.vrrp_down_timer_adverts:
        a(1, "down_timer_adverts %d" % i.down_timer_adverts)
    if i.owner_ignore_adverts != (g.vrrp_owner_ignore_adverts or strict):
        a(1, "owner_ignore_adverts " + _bool(i.owner_ignore_adverts))
    if i.v3_checksum_as_v2 != g.v3_checksum_as_v2:
        a(1, "v3_checksum_as_v2 " + _bool(i.v3_checksum_as_v2))
    for kind in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify",
                 "notify_master_rx_lower_pri"):
        cmd = getattr(i, kind)
        if cmd is not None:
            a(1, "%s %s" % (kind, format_command(cmd)))
    if i.notify_deleted_enabled:
        a(1, "notify_deleted" + (" " + format_command(i.notify_deleted)
                                 if i.notify_deleted is not None else ""))
    gnpc = sg.notify_priority_changes if sg is not None else None
    if i.notify_priority_changes != (gnpc if gnpc is not None else g.vrrp_notify_priority_changes):
        a(1, "notify_priority_changes " + _bool(i.notify_priority_changes))
    if i.use_vmac is not None:
        v = i.use_vmac
        parts = ["use_vmac"]
        if v.ifname != "%s.%d" % (g.vmac_prefix or "vrrp", i.vrid):
            parts.append(word(v.ifname))
        if v.mac is not None:
            parts.append(v.mac)
        a(1, " ".join(parts))
        if v.xmit_base:
            a(1, "vmac_xmit_base")
        if v.use_vmac_addr:
            a(1, "use_vmac_addr")
    if i.use_ipvlan is not None:
        a(1, " ".join(["use_ipvlan"] + [word(x) for x in i.use_ipvlan]))
    if i.vrf is not None:
        a(1, "vrf " + word(i.vrf))
    for flag in ("promote_secondaries", "track_src_ip", "linkbeat_use_polling"):
        if getattr(i, flag):
            a(1, flag)
    if i.kernel_rx_buf_size is not None:
        a(1, "kernel_rx_buf_size %d" % i.kernel_rx_buf_size)
    if i.debug:
        a(1, "debug %d" % i.debug)
    a(0, "}")
