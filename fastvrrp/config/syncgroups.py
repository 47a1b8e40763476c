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

from .model import SyncGroup, TrackFile, TrackInterface, TrackScript

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


def apply_trackers(instances, sync_groups, diags):
    """sync_group_tracking_init: group-level trackers apply to every member; no
    weights when a member is an address owner."""
    if not sync_groups:
        return instances
    by_name = {i.name: i for i in instances}
    for gname, grp in sync_groups.items():
        members = [by_name[m] for m in grp.members if m in by_name]
        has_owner = any(i.priority == OWNER for i in members)
        scripts = []
        for t in grp.track_scripts:
            if has_owner and t.weight:
                diags.error(t.pos, "(%s) cannot have weighted track script '%s' with a member "
                            "having priority 255 - clearing the weight" % (gname, t.name),
                            "tracker-weight")
                t = TrackScript(t.name, 0, t.reverse, pos=t.pos)
            scripts.append(TrackScript(t.name, t.weight, t.reverse, gname, t.pos))
        files = []
        for t in grp.track_files:
            if has_owner and t.weight:
                diags.error(t.pos, "(%s) cannot have weighted track file '%s' with a member "
                            "having priority 255 - setting weight 0" % (gname, t.name),
                            "tracker-weight")
                t = TrackFile(t.name, 0, t.reverse, pos=t.pos)
            files.append(TrackFile(t.name, t.weight, t.reverse, gname, t.pos))
        procs = []
        for t in grp.track_processes:
            if has_owner and t.weight:
                diags.error(t.pos, "(%s) cannot have weighted track process '%s' with a member "
                            "having priority 255 - setting weight 0" % (gname, t.name),
                            "tracker-weight")
            procs.append(type(t)(t.name, 0 if has_owner else t.weight, t.reverse, gname, t.pos))
        ifs = [TrackInterface(t.name, t.weight, t.reverse, gname, t.pos)
               for t in grp.track_interfaces]
        if not (scripts or files or procs or ifs):
            continue
        for i in members:
            own_ifs = [t for t in ifs if t.name != i.interface]
            by_name[i.name] = replace(
                i, track_interfaces=i.track_interfaces + tuple(own_ifs),
                track_scripts=i.track_scripts + tuple(scripts),
                track_files=i.track_files + tuple(files),
                track_processes=i.track_processes + tuple(procs))
    return [by_name[i.name] for i in instances]

