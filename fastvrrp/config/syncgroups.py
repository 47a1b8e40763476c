"""Sync groups (reference §3.15): membership, start states, group trackers.

resolve() checks members the way keepalived's vrrp_sync_set_group does
(they must exist and belong to one group only); once the instances are
complete, prune_members() drops members whose instance was dropped,
start_states() turns `state MASTER` into BACKUP when not every member can
start as master, and apply_trackers() gives every member the group's
trackers (no weights when a member is an address owner).
"""

from __future__ import annotations

from dataclasses import replace

from .model import SyncGroup

OWNER = 255                      # RFC 5798 §5.2.4


def resolve(frames, known, diags) -> dict:
    """vrrp_sync_set_group: members must exist and belong to one group only.

    frames: the collected vrrp_sync_group Frames; known: instance names.
    Returns name -> {"members": [...], "model": SyncGroup, "frame": Frame}."""
    owner: dict = {}
    out: dict = {}
    for frame in frames:
        raw = frame.raw
        name = frame.name
        start = frame.start
        if "group" not in raw:
            diags.error(start, "sync group %s has no virtual router(s) - removing it" % name,
                        "empty-sync-group")
            continue
        members = []
        for member, pos in raw["group"]:
            if member not in known:
                diags.error(pos, "virtual router %s specified in sync group %s doesn't exist - "
                            "ignoring it" % (member, name), "undefined-instance")
                continue
            if member in owner:
                diags.error(pos, "virtual router %s cannot be in more than one sync group (it is "
                            "in %s) - ignoring it here" % (member, owner[member]),
                            "multiple-sync-groups")
                continue
            owner[member] = name
            members.append(member)
        if not members:
            diags.error(start, "sync group %s: no matching virtual router found - removing it"
                        % name, "empty-sync-group")
            continue
        if len(members) == 1:
            diags.error(start, "sync group %s has only 1 virtual router - this probably isn't "
                        "what you want" % name, "single-member-sync-group")
        model = SyncGroup(
            name, tuple(members),
            notify_master=raw.get("notify_master"), notify_backup=raw.get("notify_backup"),
            notify_fault=raw.get("notify_fault"), notify_stop=raw.get("notify_stop"),
            notify=raw.get("notify"),
            track_interfaces=tuple(raw.get("track_interface", ())),
            track_scripts=tuple(raw.get("track_script", ())),
            track_files=tuple(raw.get("track_file", ())),
            track_processes=tuple(raw.get("track_process", ())),
            sync_group_tracking_weight=raw.get("sync_group_tracking_weight", False),
            notify_priority_changes=raw.get("notify_priority_changes"),
            pos=start)
        out[name] = {"members": members, "model": model, "frame": frame}
    return out


# ---------------------------------------------------------------- instances



def prune_members(groups, built):
    """Members whose instance was dropped (its error is reported) leave the group;
    a group left empty goes too."""
    out = {}
    for name, grp in groups.items():
        members = [m for m in grp["members"] if m in built]
        if not members:
            continue
        if len(members) != len(grp["members"]):
            grp = dict(grp, members=members, model=replace(grp["model"], members=tuple(members)))
        out[name] = grp
    return out


def start_states(instances, groups, diags):
    """vrrp_complete_init: if any member of a sync group cannot start as MASTER
    (not an address owner, or BACKUP), every member starts as BACKUP."""
    if not groups:
        return instances
    by_name = {i.name: i for i in instances}
    for gname, grp in groups.items():
        members = [by_name[m] for m in grp["members"] if m in by_name]
        have_backup = any(i.state == "BACKUP" or i.priority != OWNER for i in members)
        have_master = any(i.state == "MASTER" for i in members)
        if have_master and have_backup:
            for i in members:
                if i.state == "MASTER":
                    diags.warning(i.where("state"), "(%s) state MASTER becomes BACKUP: sync group "
                                  "%s has members that are not address owners" % (i.name, gname),
                                  "sync-group-state")
                    by_name[i.name] = replace(i, state="BACKUP")
    return [by_name[i.name] for i in instances]


def _clear_for_owner(gname, what, fix, t, has_owner, diags):
    """vrrp.c sync_group_tracking_init: a member with priority 255 (RFC 5798
    §5.2.4) allows no weighted group tracker; the weight becomes 0."""
    if has_owner and t.weight:
        diags.error(t.pos, "(%s) cannot have weighted track %s '%s' with a member having "
                    "priority 255 - %s" % (gname, what, t.name, fix), "tracker-weight")
        return replace(t, weight=0, group=gname)
    return replace(t, group=gname)


def _tracks_interface_itself(inst, name) -> bool:
    """Does `inst` already track interface `name` with keepalived's TRACK_IF or
    TRACK_VRRP type (its own track_interface, or its own interface unless
    dont_track_primary)?  Then a group track_interface of it is reported."""
    if name == inst.interface and not inst.dont_track_primary:
        return True
    return any(t.name == name and t.group is None for t in inst.track_interfaces)


def apply_trackers(instances, sync_groups, diags):
    """sync_group_tracking_init (vrrp.c; keepalived-vrrp.md §3.15): every group
    tracker is added to every member, marked with the group's name; with an
    address owner among the members (RFC 5798 §5.2.4) the group's weights
    become 0.

    The member keeps its own entry for the same tracker next to the group's:
    fastvrrp.track.aggregate merges them as keepalived does (the group's
    weight replaces the member's unless the member's entry is unweighted;
    the instance's own interface is tracked unweighted unless
    `dont_track_primary`, so a group track_interface of it only takes effect
    with `dont_track_primary`).  A track_interface configured on a member and
    on its group is a config error in keepalived 2.2.7 (`-t` exits 5), also
    when it is the member's own interface; the same for scripts, files and
    processes is only logged there (at run time, by fastvrrp.daemon.convert).
    fastvrrp.vrrp.sync_tracking.sync_group_trackers gives the same merged
    result from plain tuples; the unit tests hold the two together."""
    if not sync_groups:
        return instances
    by_name = {i.name: i for i in instances}
    for gname, grp in sync_groups.items():
        members = [by_name[m] for m in grp.members if m in by_name]
        has_owner = any(i.priority == OWNER for i in members)
        scripts = tuple(_clear_for_owner(gname, "script", "clearing the weight", t, has_owner,
                                         diags) for t in grp.track_scripts)
        files = tuple(_clear_for_owner(gname, "file", "setting weight 0", t, has_owner, diags)
                      for t in grp.track_files)
        procs = tuple(_clear_for_owner(gname, "process", "setting weight 0", t, has_owner, diags)
                      for t in grp.track_processes)
        ifs = tuple(_clear_for_owner(gname, "interface", "clearing the weight", t, has_owner,
                                     diags) for t in grp.track_interfaces)
        if not (scripts or files or procs or ifs):
            continue
        for t in ifs:                         # keepalived's order: tracker, then member
            for i in members:
                if _tracks_interface_itself(i, t.name):
                    diags.error(t.pos, "(%s) track_interface %s is configured on VRRP instance "
                                "and sync group. Remove vrrp instance or sync group config"
                                % (i.name, t.name), "duplicate-tracker")
        for i in members:
            by_name[i.name] = replace(
                i, track_interfaces=i.track_interfaces + ifs,
                track_scripts=i.track_scripts + scripts,
                track_files=i.track_files + files,
                track_processes=i.track_processes + procs)
    return [by_name[i.name] for i in instances]
