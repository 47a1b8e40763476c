"""Which trackers a sync-group member keeps, and with what weight (keepalived-vrrp.md §3.15).

A pure function over plain tuples, so the config layer, the trackers
(fastvrrp.track.aggregate) and the tests can share it:

    plan = sync_group_trackers(
        "G1",
        {"VI_1": (100, (("track_interface", "eth0", 10, False),
                        ("track_script", "chk", 5, False))),
         "VI_2": (100, ())},
        (("track_script", "grp", -20, False),),
        tracking_weight=False)
    plan.trackers["VI_1"]   # (("track_interface", "eth0", 0, False), ("track_script", "grp", -20, False))
    plan.messages           # keepalived's config errors, in its words

A tracker is `(kind, name, weight, reverse)`; `kind` is one of TRACK_KINDS
(the config keywords, the same values as fastvrrp.track.aggregate.Kind).
Give an instance-level `track_file` without an explicit weight the weight 1,
as keepalived does: the rules below treat 1 as "not set".

keepalived 2.2.7 (vrrp.c vrrp_complete_instance, then sync_group_tracking_init,
add_vrrp_to_interface / add_vrrp_to_track_script / add_obj_to_track_file /
add_vrrp_to_track_process):

1. member level, when the group has no `sync_group_tracking_weight` (or its
   deprecated alias `global_tracking`), or the member is an address owner
   (priority 255, RFC 5798 §5.2.4): a weighted `track_interface` gets
   weight 0 (it now means FAULT when down) in a group, and is dropped for an
   owner otherwise; a weighted `track_script` is dropped; a `track_file`
   with the default weight 1 gets weight 0 and any other weight drops it.
   `track_process` weights are kept (2.2.7 has no rule for them);
2. group level: when any member is an address owner, every group tracker's
   weight becomes 0; otherwise group weights apply whatever
   `sync_group_tracking_weight` says;
3. every group tracker is added to every member.  When the member already
   tracks the same object, an unweighted member entry stays unweighted,
   otherwise the group's weight and `reverse` replace the member's (with a
   message asking to remove one of them).

Deliberate differences:
- for `track_process`, 2.2.7 takes the group's weight but keeps the member's
  `reverse`; here the group's entry wins entirely, as for every other kind;
- a member's weighted `track_interface` in a group without
  `sync_group_tracking_weight`: 2.2.7 logs "ignoring ... tracked interface
  weight due to SYNC group" but has already registered the interface with
  its weight (vrrp_complete_instance adds the instance to the interface
  before it clears the weight), so the weight still moves the priority, and
  a group entry for the same interface then replaces it (seen in 2.2.7's
  SIGUSR1 dump: priority 110 for `eth1 weight 10`, 105 with a group
  `eth1 weight 5`).  Here the weight is ignored as the message says: the
  interface is a FAULT tracker and, being unweighted, keeps a group weight
  out (rule 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

TRACK_INTERFACE = "track_interface"
TRACK_SCRIPT = "track_script"
TRACK_FILE = "track_file"
TRACK_PROCESS = "track_process"
TRACK_KINDS = (TRACK_INTERFACE, TRACK_SCRIPT, TRACK_FILE, TRACK_PROCESS)
PRIORITY_OWNER = 255  # RFC 5798 §5.2.4
DEFAULT_FILE_WEIGHT = 1
WEIGHT_LIMIT = 254


@dataclass(frozen=True)
class TrackingPlan:
    """The result: per member, its trackers in order; keepalived's messages."""

    trackers: Mapping[str, tuple]
    messages: tuple


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_tracker(where: str, tracker) -> tuple:
    if not isinstance(tracker, tuple) or len(tracker) != 4:
        raise ValueError("%s: a tracker is a (kind, name, weight, reverse) tuple, not %r"
                         % (where, tracker))
    kind, name, weight, reverse = tracker
    if kind not in TRACK_KINDS:
        raise ValueError("%s: tracker kind must be one of %s, not %r"
                         % (where, ", ".join(TRACK_KINDS), kind))
    if not isinstance(name, str) or not name:
        raise ValueError("%s: %s name must be a non-empty string, not %r" % (where, kind, name))
    if not _is_int(weight) or abs(weight) > WEIGHT_LIMIT:
        raise ValueError("%s: %s %s: weight must be an integer -%d..%d, not %r"
                         % (where, kind, name, WEIGHT_LIMIT, WEIGHT_LIMIT, weight))
    if not isinstance(reverse, bool):
        raise ValueError("%s: %s %s: reverse must be a bool, not %r" % (where, kind, name, reverse))
    return tracker


def _member_rules(name: str, priority: int, trackers, in_group_no_weight: bool,
                  messages: list) -> list:
    """Rule 1 (vrrp_complete_instance)."""
    owner = priority == PRIORITY_OWNER
    if not (in_group_no_weight or owner):
        return list(trackers)
    why_long = "SYNC group" if in_group_no_weight else "address owner"
    why_short = "SYNC group" if in_group_no_weight else "address_owner"
    kept = []
    for kind, tname, weight, reverse in trackers:
        if not weight or kind == TRACK_PROCESS:
            kept.append((kind, tname, weight, reverse))
        elif kind == TRACK_INTERFACE:
            messages.append("(%s) ignoring %s tracked interface %sdue to %s"
                            % (name, tname, "weight " if in_group_no_weight else "", why_long))
            if in_group_no_weight:
                kept.append((kind, tname, 0, reverse))
        elif kind == TRACK_SCRIPT:
            messages.append("(%s) ignoring tracked script %s with weights due to %s"
                            % (name, tname, why_short))
        elif weight == DEFAULT_FILE_WEIGHT:
            messages.append("(%s) ignoring weight from tracked file %s due to %s. specify weight 0"
                            % (name, tname, why_short))
            kept.append((kind, tname, 0, reverse))
        else:
            messages.append("(%s) ignoring tracked file %s with weight %d due to %s"
                            % (name, tname, weight, why_short))
    return kept


_OWNER_GROUP_TEXT = {
    TRACK_SCRIPT: ("script", "clearing weight"),
    TRACK_FILE: ("file", "setting weight 0"),
    TRACK_PROCESS: ("process", "setting weight 0"),
    TRACK_INTERFACE: ("interface", "clearing weight"),
}

_DUPLICATE_TEXT = {
    TRACK_SCRIPT: "(%s) track_script %s is configured on VRRP instance and sync group. "
                  "Remove vrrp instance config",
    TRACK_FILE: "(%s) track_file %s is configured on VRRP instance and sync group. "
                "Remove vrrp instance config",
    TRACK_PROCESS: "(%s) track_process %s is configured on VRRP instance and sync group. "
                   "Remove vrrp instance config",
    TRACK_INTERFACE: "(%s) track_interface %s is configured on VRRP instance and sync group. "
                     "Remove vrrp instance or sync group config",
}


def sync_group_trackers(group: str, members: Mapping[str, tuple], group_trackers: Sequence[tuple],
                        *, tracking_weight: bool = False) -> TrackingPlan:
    """The trackers each member of sync group `group` ends up with.

    `members`: {instance name: (base priority, (tracker, ...))}, in
    `group { }` order; `group_trackers`: the group's own `track_*` entries;
    `tracking_weight`: `sync_group_tracking_weight` / `global_tracking`.
    Raises ValueError on malformed input.
    """
    if not isinstance(group, str) or not group:
        raise ValueError("sync group name must be a non-empty string, not %r" % (group,))
    if not isinstance(members, Mapping) or not members:
        raise ValueError("sync group %s: members must be a non-empty mapping of "
                         "name -> (priority, trackers)" % group)
    if not isinstance(tracking_weight, bool):
        raise ValueError("sync group %s: tracking_weight must be a bool, not %r"
                         % (group, tracking_weight))
    checked = {}
    for name, entry in members.items():
        if not isinstance(name, str) or not name:
            raise ValueError("sync group %s: member name must be a non-empty string, not %r"
                             % (group, name))
        if not isinstance(entry, tuple) or len(entry) != 2:
            raise ValueError("sync group %s: member %s must be (priority, trackers), not %r"
                             % (group, name, entry))
        priority, trackers = entry
        if not _is_int(priority) or not 1 <= priority <= PRIORITY_OWNER:
            raise ValueError("sync group %s: member %s priority must be 1..255, not %r"
                             % (group, name, priority))
        if not isinstance(trackers, (tuple, list)):
            raise ValueError("sync group %s: member %s trackers must be a tuple, not %r"
                             % (group, name, type(trackers).__name__))
        checked[name] = (priority, [_check_tracker("(%s)" % name, t) for t in trackers])
    if not isinstance(group_trackers, (tuple, list)):
        raise ValueError("sync group %s: group trackers must be a tuple, not %r"
                         % (group, type(group_trackers).__name__))
    group_list = [_check_tracker("sync group %s" % group, t) for t in group_trackers]

    messages: list = []
    per_member = {name: _member_rules(name, priority, trackers, not tracking_weight, messages)
                  for name, (priority, trackers) in checked.items()}

    # Rule 2 (sync_group_tracking_init): no weights next to an address owner.
    has_owner = any(priority == PRIORITY_OWNER for priority, _ in checked.values())
    applied = []
    for kind, tname, weight, reverse in group_list:
        if has_owner and weight:
            what, fix = _OWNER_GROUP_TEXT[kind]
            messages.append("(%s) Cannot have weighted track %s '%s' with member having "
                            "priority %d - %s" % (group, what, tname, PRIORITY_OWNER, fix))
            weight = 0
        applied.append((kind, tname, weight, reverse))

    # Rule 3: merge into every member.
    for name, trackers in per_member.items():
        for kind, tname, weight, reverse in applied:
            at = next((i for i, t in enumerate(trackers) if t[0] == kind and t[1] == tname), None)
            if at is None:
                trackers.append((kind, tname, weight, reverse))
                continue
            messages.append(_DUPLICATE_TEXT[kind] % (name, tname))
            if trackers[at][2]:
                trackers[at] = (kind, tname, weight, reverse)
    return TrackingPlan({name: tuple(t) for name, t in per_member.items()}, tuple(messages))


__all__ = ["TRACK_FILE", "TRACK_INTERFACE", "TRACK_KINDS", "TRACK_PROCESS", "TRACK_SCRIPT",
           "TrackingPlan", "sync_group_trackers"]
