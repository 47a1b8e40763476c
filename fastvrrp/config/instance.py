"""Completing one vrrp_instance: keepalived's vrrp_end_handler, chk_min_cfg
and vrrp_complete_instance (reference §3.2, §3.5, §3.6, §3.11, §3.20).

`finish_instance(frame, g, group)` takes the keywords build.collect gathered
for one instance (its Frame), the final GlobalDefs and the instance's sync
group (or None), reports what keepalived reports, and returns the derived
VrrpInstance - or None when keepalived could not run the instance at all.
"""

from __future__ import annotations

from .model import GlobalDefs, TrackFile, TrackInterface, Vmac, VrrpInstance

OWNER = 255                      # RFC 5798 §5.2.4: the IP address owner's priority
DEFAULT_PRIORITY = 100           # RFC 5798 §5.2.4
DEFAULT_MTU = 1500


def finish_instance(frame, g: GlobalDefs, group) -> VrrpInstance | None:
    """keepalived's vrrp_end_handler + chk_min_cfg + vrrp_complete_instance."""
    raw = frame.raw
    pos = frame.pos
    who = frame.who
    diags = frame.diags
    start = frame.start              # the vrrp_instance line
    end = frame.end                  # its closing brace
    name = frame.name
    snap = frame.snapshot
    err = diags.error

    def at(field):
        return pos.get(field, start)

    interface = raw.get("interface")
    peers = raw.get("unicast_peer", ())
    unicast_configured = ("unicast_peer" in raw or "unicast_src_ip" in raw
                          or "unicast_fault_no_peer" in raw or "check_unicast_src" in raw
                          or "old_unicast_checksum" in raw)
    unicast = bool(peers)
    vmac_raw = raw.get("use_vmac")
    xmit_base = raw.get("vmac_xmit_base", False)

    # vrrp_end_handler
    if unicast_configured and vmac_raw is not None:
        if interface is None:
            err(at("use_vmac"), who + "cannot use a VMAC with unicast and no interface - "
                "clearing use_vmac", "vmac-unicast")
            vmac_raw = None
        elif not xmit_base:
            err(at("use_vmac"), who + "unicast with use_vmac requires vmac_xmit_base - setting "
                "it", "vmac-unicast")
            xmit_base = True
    unicast_ttl = raw.get("unicast_ttl")
    if unicast_ttl is not None and not peers:
        err(at("unicast_ttl"), who + "cannot use unicast_ttl without unicast peers - resetting",
            "unicast-ttl")
        unicast_ttl = None

    # chk_min_cfg
    vrid = raw.get("virtual_router_id")
    if vrid is None:
        if "virtual_router_id" not in frame.seen.get("_failed", ()):
            err(end, who + "the virtual router id (virtual_router_id) must be set",
                "missing-vrid")
        return None
    if interface is None and not unicast:
        err(end, who + "no interface given (an instance needs 'interface', or unicast "
            "peers with unicast_src_ip)", "missing-interface")
        return None

    strict = raw.get("strict_mode", g.vrrp_strict)
    family = frame.family or 4
    version = raw.get("version")
    if family == 6:
        if version == 2:
            err(at("version"), who + "VRRP version 2 cannot carry IPv6 - using version 3",
                "version-conflict")
        version = 3
    elif version is None:
        version = g.vrrp_version

    vips = raw.get("virtual_ipaddress", ())
    if len(vips) > 1:
        vips = _dedup(vips, "VIP", who, diags)
    evips = raw.get("virtual_ipaddress_excluded", ())
    if len(evips) > 1:
        evips = _dedup(evips, "eVIP", who, diags)
    vips, evips = list(vips), list(evips)
    no_vip_ok = raw.get("no_virtual_ipaddress", False) and not strict
    if not vips and not no_vip_ok:
        if version == 3 or strict or family == 6:
            err(end, who + "no VIP specified; at least one is required (VRRPv3, IPv6 "
                "or strict mode)", "no-vip")
            return None
        err(end, who + "no VIP specified; at least one is sensible", "no-vip")

    state = raw.get("state")
    priority = raw.get("priority")
    if priority is None:
        priority = OWNER if state == "MASTER" else DEFAULT_PRIORITY
    owner = priority == OWNER
    if state is None:
        state = "MASTER" if owner else "BACKUP"
    elif strict and (state == "MASTER") != owner:
        err(at("state"), who + "state MASTER must match being the address owner (priority 255) "
            "in strict mode - using %s" % ("MASTER" if owner else "BACKUP"), "strict-state")
        state = "MASTER" if owner else "BACKUP"

    auth_type = raw.get("auth_type")
    auth_pass = raw.get("auth_pass")
    if auth_type is not None:
        drop = None
        if strict:
            drop = "strict mode does not support authentication - ignoring it"
        elif version == 3:
            drop = "VRRP version 3 does not support authentication - ignoring it"
        elif auth_pass is None or not auth_pass[0]:
            drop = "authentication specified but no password given - ignoring it"
        elif family == 6 and auth_type == "AH":
            drop = "AH authentication cannot be used with IPv6 - ignoring it"
        elif auth_type == "AH" and state == "MASTER" and not owner:
            err(at("state"), who + "initial state MASTER is incompatible with AH authentication "
                "- using BACKUP", "ah-master")
            state = "BACKUP"
        if drop:
            err(at("auth_type"), who + drop, "auth-dropped")
            auth_type = None
    elif auth_pass is not None:
        diags.warning(at("auth_pass"), who + "auth_pass without auth_type is ignored",
                      "auth-dropped")
    if auth_type is None:
        auth_pass = None

    src = raw.get("unicast_src_ip", raw.get("mcast_src_ip"))
    if interface is None:
        if src is None:
            err(end, who + "unicast instances must have unicast_src_ip or interface",
                "missing-interface")
            return None
        if family == 6 and src.is_link_local:
            err(at("unicast_src_ip"), who + "a non link-local source address is required when "
                "the interface is omitted", "missing-interface")
            return None

    fault_no_peer = raw.get("unicast_fault_no_peer", False)
    if unicast_configured and not unicast:
        if fault_no_peer:
            diags.warning(start, who + "unicast without any peers: the instance will stay in "
                          "FAULT state (unicast_fault_no_peer)", "unicast-no-peer")
        else:
            err(start, who + "a unicast keyword was given without any unicast peers - using "
                "multicast; this usage is deprecated", "unicast-no-peer")

    vmac = None
    if vmac_raw is not None:
        vname, mac = vmac_raw
        if strict and mac is not None:
            err(at("use_vmac"), who + "cannot give a VMAC MAC address in strict mode - clearing "
                "it", "strict-vmac")
            mac = None
        if strict and xmit_base:
            err(at("vmac_xmit_base"), who + "vmac_xmit_base is incompatible with strict mode - "
                "clearing it", "strict-vmac")
            xmit_base = False
        if mac is not None and len(mac) == 5:
            mac = mac + (vrid,)
        vmac = Vmac(vname or "%s.%d" % (g.vmac_prefix or "vrrp", vrid),
                    ":".join("%02x" % v for v in mac) if mac else None, xmit_base,
                    raw.get("use_vmac_addr", False))
    elif xmit_base:
        err(at("vmac_xmit_base"), who + "vmac_xmit_base is only valid with a vmac", "vmac")

    if family == 6 and not unicast and vips and not vips[0].address.is_link_local:
        if strict:
            err(vips[0].pos, who + "the first IPv6 VIP must be link local in strict mode",
                "ipv6-vip-not-link-local")
        else:
            diags.warning(vips[0].pos, who + "the first IPv6 VIP should be link local (RFC 5798 "
                          "§5.2.9)", "ipv6-vip-not-link-local")

    vrf = raw.get("vrf")
    if vrf is not None and (interface is not None or not unicast):
        err(at("vrf"), who + "vrf can only be given %s - clearing it"
            % ("without an interface" if interface else "with unicast"), "vrf")
        vrf = None

    # RFC 5798 §5.2.5: Count IPvX Addr is 8 bits; the advert must fit the MTU.
    if family == 4:
        hdr = 14 + 20 + 8 + (8 if version == 2 else 0) + (12 if auth_type == "AH" else 0)
        max_addr = (DEFAULT_MTU - hdr) // 4
    else:
        max_addr = (DEFAULT_MTU - (14 + 40 + 8)) // 16
    max_addr = min(max_addr, 255)
    if len(vips) > max_addr:
        err(vips[max_addr].pos, who + "%d VIPs do not fit in one advertisement (max %d) - the "
            "excess is moved to the excluded VIPs" % (len(vips), max_addr), "too-many-vips")
        evips = vips[max_addr:] + evips
        vips = vips[:max_addr]

    nopreempt = raw.get("nopreempt", False)
    if owner and nopreempt:
        err(at("nopreempt"), who + "nopreempt is incompatible with priority 255 - resetting "
            "nopreempt", "nopreempt-owner")
        nopreempt = False
    preempt_delay = raw.get("preempt_delay_us", 0)
    if state == "MASTER":
        if nopreempt:
            err(at("nopreempt"), who + "nopreempt will not work with initial state MASTER - "
                "clearing it", "nopreempt-master")
            nopreempt = False
        if preempt_delay:
            err(at("preempt_delay_us"), who + "preempt_delay will not work with initial state "
                "MASTER - clearing it", "preempt-delay-master")
            preempt_delay = 0
    if preempt_delay:
        if strict:
            err(at("preempt_delay_us"), who + "preempt_delay is incompatible with strict mode - "
                "resetting", "strict-preempt-delay")
            preempt_delay = 0
        elif nopreempt:
            err(at("preempt_delay_us"), who + "preempt_delay is incompatible with nopreempt - "
                "resetting", "preempt-delay-nopreempt")
            preempt_delay = 0

    down_timer_adverts = raw.get("down_timer_adverts",
                                 snap.get("vrrp_down_timer_adverts", 3))
    if down_timer_adverts != 3 and strict:
        err(at("down_timer_adverts"), who + "down_timer_adverts is incompatible with strict mode "
            "- resetting to 3", "strict-down-timer")
        down_timer_adverts = 3

    accept = raw.get("accept")
    if accept is None:
        accept = True if owner else not strict
    if accept and not owner and strict and version == 2:
        err(at("accept"), who + "accept mode for VRRP version 2 does not comply with RFC 3768 - "
            "resetting", "strict-accept")
        accept = False

    mcast_dst = raw.get("mcast_dst_ip")
    if not unicast:
        if mcast_dst is None:
            mcast_dst = g.vrrp_mcast_group4 if family == 4 else g.vrrp_mcast_group6
    elif mcast_dst is not None:
        err(at("mcast_dst_ip"), who + "multicast destination given with unicast - ignoring it",
            "mcast-unicast")
        mcast_dst = None

    lp_rep = raw.get("garp_lower_prio_repeat")
    if lp_rep is None:
        lp_rep = 0 if strict else g.vrrp_garp_lower_prio_repeat
    elif strict and lp_rep:
        err(at("garp_lower_prio_repeat"), who + "strict mode requires no repeat GARPs - "
            "resetting", "strict-garp")
        lp_rep = 0
    lp_delay = raw.get("garp_lower_prio_delay_us")
    if lp_delay is None:
        lp_delay = 0 if strict else g.vrrp_garp_lower_prio_delay_us
    elif strict and lp_delay:
        err(at("garp_lower_prio_delay_us"), who + "strict mode requires no repeat GARP delay - "
            "resetting", "strict-garp")
        lp_delay = 0
    lpna = raw.get("lower_prio_no_advert")
    if lpna is None:
        lpna = True if strict else g.vrrp_lower_prio_no_advert
    elif strict and not lpna:
        err(at("lower_prio_no_advert"), who + "strict mode requires lower_prio_no_advert - "
            "setting it", "strict-advert")
        lpna = True
    hpsa = raw.get("higher_prio_send_advert")
    if hpsa is None:
        hpsa = False if strict else g.vrrp_higher_prio_send_advert
    elif strict and hpsa:
        err(at("higher_prio_send_advert"), who + "strict mode requires higher_prio_send_advert "
            "to be clear - resetting", "strict-advert")
        hpsa = False

    npc = raw.get("notify_priority_changes")
    if npc is None:
        gnpc = group["model"].notify_priority_changes if group else None
        npc = gnpc if gnpc is not None else g.vrrp_notify_priority_changes

    advert_us = raw.get("advert_int", 1_000_000)
    advert_cs = _advert_cs(advert_us, version, at("advert_int"), who, diags)

    track_src_ip = raw.get("track_src_ip", False) and src is not None

    track_ifs = list(raw.get("track_interface", ()))
    if interface is not None:
        own = [t for t in track_ifs if t.name == interface]
        for t in own:
            err(t.pos, who + "ignoring track_interface %s since it is the instance's own "
                "interface" % interface, "track-own-interface")
        if own:
            track_ifs = [t for t in track_ifs if t.name != interface]

    if interface is None:
        kept = []
        for a in vips:
            if a.dev is None:
                err(a.pos, who + "no interface for VIP %s - removing it" % a.address, "vip-no-dev")
            else:
                kept.append(a)
        vips = kept
        kept = []
        for a in evips:
            if a.dev is None:
                err(a.pos, who + "no interface for eVIP %s - removing it" % a.address,
                    "vip-no-dev")
            else:
                kept.append(a)
        evips = kept

    extra = raw.get("garp_extra_if")
    if extra is None:
        extra = (g.vrrp_garp_extra_if_s, g.vrrp_garp_extra_if_all)
    extra_s, extra_all = extra
    if extra_s and vmac is None and not any(
            a.dev not in (None, interface) for a in vips + evips):
        extra_s = 0

    track_scripts = list(raw.get("track_script", ()))
    track_files = list(raw.get("track_file", ()))
    track_procs = list(raw.get("track_process", ()))
    no_weights = group is not None and not group["model"].sync_group_tracking_weight
    if no_weights or owner:
        why = "sync group" if no_weights else "address owner (priority 255)"
        out = []
        for t in track_ifs:
            if t.weight:
                err(t.pos, who + "ignoring %stracked interface %s due to %s"
                    % ("the weight of " if no_weights else "", t.name, why), "tracker-weight")
                if no_weights:
                    out.append(TrackInterface(t.name, 0, t.reverse, pos=t.pos))
            else:
                out.append(t)
        track_ifs = out
        out = []
        for t in track_scripts:
            if t.weight:
                err(t.pos, who + "ignoring tracked script %s with a weight due to %s"
                    % (t.name, why), "tracker-weight")
            else:
                out.append(t)
        track_scripts = out
        out = []
        for t in track_files:
            if t.weight == 1:
                err(t.pos, who + "ignoring the default weight of tracked file %s due to %s; "
                    "give weight 0" % (t.name, why), "tracker-weight")
                out.append(TrackFile(t.name, 0, t.reverse, pos=t.pos))
            elif t.weight:
                err(t.pos, who + "ignoring tracked file %s with weight %d due to %s"
                    % (t.name, t.weight, why), "tracker-weight")
            else:
                out.append(t)
        track_files = out

    def g_or(field, gval):     # an instance value, else global_defs as it was at the instance
        return raw[field] if field in raw else snap.get(_GLOBAL_NAME[field], gval)

    positions = pos                  # the frame is done with it
    positions["instance"] = start
    return VrrpInstance(
        name=name, vrid=vrid, interface=interface, family=family, version=version,
        state=state, priority=priority, advert_int_cs=advert_cs,
        auth_type=auth_type, auth_pass=auth_pass,
        vips=tuple(vips), evips=tuple(evips), no_virtual_ipaddress=no_vip_ok,
        vroutes=tuple(raw.get("virtual_routes", ())), vrules=tuple(raw.get("virtual_rules", ())),
        track_interfaces=tuple(track_ifs), track_scripts=tuple(track_scripts),
        track_files=tuple(track_files), track_processes=tuple(track_procs),
        dont_track_primary=raw.get("dont_track_primary", False),
        nopreempt=nopreempt, preempt_delay_us=preempt_delay,
        mcast_src_ip=raw.get("mcast_src_ip"), unicast_src_ip=raw.get("unicast_src_ip"),
        unicast_peers=tuple(peers), unicast_ttl=unicast_ttl,
        check_unicast_src=(raw.get("check_unicast_src", False) or g.vrrp_check_unicast_src
                           or raw.get("_peer_ttl", False)),
        unicast_fault_no_peer=fault_no_peer,
        mcast_dst_ip=mcast_dst, accept=accept,
        skip_check_adv_addr=raw.get("skip_check_adv_addr",
                                    snap.get("vrrp_skip_check_adv_addr", False)),
        strict_mode=strict,
        garp_master_delay_us=g_or("garp_master_delay_us", 5_000_000),
        garp_master_repeat=g_or("garp_master_repeat", 5),
        garp_master_refresh_us=g_or("garp_master_refresh_us", 0),
        garp_master_refresh_repeat=g_or("garp_master_refresh_repeat", 1),
        garp_lower_prio_delay_us=lp_delay, garp_lower_prio_repeat=lp_rep,
        garp_extra_if_s=extra_s, garp_extra_if_all=extra_all,
        lower_prio_no_advert=lpna, higher_prio_send_advert=hpsa,
        down_timer_adverts=down_timer_adverts,
        owner_ignore_adverts=raw.get("owner_ignore_adverts",
                                     g.vrrp_owner_ignore_adverts or strict),
        v3_checksum_as_v2=raw.get("v3_checksum_as_v2", g.v3_checksum_as_v2),
        notify_master=raw.get("notify_master"), notify_backup=raw.get("notify_backup"),
        notify_fault=raw.get("notify_fault"), notify_stop=raw.get("notify_stop"),
        notify_deleted=raw.get("notify_deleted") if raw.get("notify_deleted") is not True
        else None,
        notify_deleted_enabled="notify_deleted" in raw,
        notify_master_rx_lower_pri=raw.get("notify_master_rx_lower_pri"),
        notify=raw.get("notify"), notify_priority_changes=npc,
        use_vmac=vmac, use_ipvlan=raw.get("use_ipvlan"), vrf=vrf,
        promote_secondaries=raw.get("promote_secondaries", False), track_src_ip=track_src_ip,
        kernel_rx_buf_size=raw.get("kernel_rx_buf_size"),
        old_unicast_checksum=raw.get("old_unicast_checksum"),
        linkbeat_use_polling=raw.get("linkbeat_use_polling", False) and interface is not None,
        debug=raw.get("debug", 0),
        sync_group=group["model"].name if group else None,
        pos=start, positions=positions,
    )


_GLOBAL_NAME = {f: "vrrp_" + f for f in ("garp_master_delay_us", "garp_master_repeat",
                                            "garp_master_refresh_us",
                                            "garp_master_refresh_repeat")}


def _advert_cs(us: int, version: int, pos, who, diags) -> int:
    """Advertisement interval in centiseconds (RFC 3768 §5.3.7, RFC 5798 §5.2.7)."""
    if version == 2:
        if us >= 256 * 1_000_000:
            diags.error(pos, who + "VRRPv2 advertisement interval %.2fs is out of range (< 256s) "
                        "- using 255s" % (us / 1e6), "advert-int")
            return 25500
        if us % 1_000_000:
            rounded = (us + 500_000) // 1_000_000 or 1
            diags.error(pos, who + "VRRPv2 advertisement interval %fs must be a whole number of "
                        "seconds - rounding to %ds" % (us / 1e6, rounded), "advert-int")
            return rounded * 100
        return us // 10_000
    if us >= 4096 * 10_000:
        diags.error(pos, who + "VRRPv3 advertisement interval %.2fs is out of range (< 40.96s) - "
                    "using 40.95s" % (us / 1e6), "advert-int")
        return 4095
    if us % 10_000:
        rounded = (us + 5_000) // 10_000 or 1
        diags.error(pos, who + "VRRPv3 advertisement interval %fs must be in units of 10ms - "
                    "rounding to %.2fs" % (us / 1e6, rounded / 100), "advert-int")
        return rounded
    return us // 10_000


def _dedup(addrs, what, who, diags) -> list:
    """Duplicate VIPs are reported and dropped (keepalived >= 2.3.3 behaviour)."""
    if len(addrs) < 2:
        return list(addrs)
    seen: dict = {}
    out = []
    for a in addrs:
        key = (a.address._ip, a.address.version, a.dev)   # _ip: hashing the address is slow
        first = seen.get(key)
        if first is not None:
            diags.warning(a.pos, who + "duplicate %s %s (first given at %s) - dropped"
                          % (what, a.address, first.pos), "duplicate-vip")
            continue
        seen[key] = a
        out.append(a)
    return out


