"""Reload (SIGHUP): which running instances stay, which restart, which go.

keepalived 2.2 (vrrp.c vrrp_exist / clear_diff_*; reference §3.17) matches
instances by identity, not by name: VRID, interface, family, and the unicast
source for unicast instances (fastvrrp.config.model.VrrpInstance.identity).

    plan = diff(running, new_plans)      # running: [(identity, InstancePlan)]
    plan.kept       [(old, new)]  same identity, same core: keeps running, its state,
                                  its VIPs (not flapped), its counters; only tracker
                                  weights and notify scripts change in place
    plan.restarted  [(old, new)]  same identity, something the running machine cannot
                                  change (priority, interval, VIPs, auth, peers ...):
                                  the old one stops (priority 0 if master, VIPs
                                  removed), the new one starts in BACKUP
    plan.added      [new]
    plan.removed    [old]         stops; notify DELETED (FAULT without notify_deleted)

What keepalived does and fastvrrp does not yet: a matched instance whose
priority, interval or VIP list changed keeps its state and gets its VIPs
diffed; here it restarts (its VIPs are removed and it must win the election
again).  Unchanged instances, the common case, are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ReloadPlan:
    kept: list = field(default_factory=list)
    restarted: list = field(default_factory=list)
    added: list = field(default_factory=list)
    removed: list = field(default_factory=list)

    def summary(self) -> str:
        return ("%d kept, %d restarted, %d added, %d removed"
                % (len(self.kept), len(self.restarted), len(self.added), len(self.removed)))


def diff(running, new_plans) -> ReloadPlan:
    """`running`: the running instances' plans; `new_plans`: the new config's.
    Each running instance matches at most one new one (the first with its
    identity); a plan is anything with `identity` and `core()`."""
    by_identity: dict = {}
    for old in running:
        by_identity.setdefault(old.identity, []).append(old)
    out = ReloadPlan()
    for new in new_plans:
        candidates = by_identity.get(new.identity)
        if not candidates:
            out.added.append(new)
            continue
        old = candidates.pop(0)
        if old.core() == new.core():
            out.kept.append((old, new))
        else:
            out.restarted.append((old, new))
    for left in by_identity.values():
        out.removed.extend(left)
    return out





def widen_for_groups(plan: ReloadPlan, old_groups: dict, new_groups: dict) -> ReloadPlan:
    """A vrrp_sync_group runs as a whole (keepalived-vrrp.md §3.15): when one
    member restarts, comes or goes, or the group's definition changed, every
    member of it, old and new, restarts too.  `old_groups` / `new_groups`:
    the configs' sync_groups (name -> model SyncGroup)."""
    changed_old = {g for g in old_groups if old_groups.get(g) != new_groups.get(g)}
    changed_new = {g for g in new_groups if old_groups.get(g) != new_groups.get(g)}
    while True:
        for old, new in plan.restarted:
            changed_old.add(old.sync_group)
            changed_new.add(new.sync_group)
        changed_new.update(new.sync_group for new in plan.added)
        changed_old.update(old.sync_group for old in plan.removed)
        changed_old.discard(None)
        changed_new.discard(None)
        move = [(old, new) for old, new in plan.kept
                if old.sync_group in changed_old or new.sync_group in changed_new]
        if not move:
            return plan
        plan.kept = [pair for pair in plan.kept if pair not in move]
        plan.restarted.extend(move)
__all__ = ["ReloadPlan", "diff", "widen_for_groups"]
