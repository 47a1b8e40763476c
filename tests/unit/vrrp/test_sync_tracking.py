"""Which trackers a sync-group member keeps (keepalived-vrrp.md §3.15;
keepalived 2.2.7 vrrp_complete_instance + sync_group_tracking_init)."""

import pytest

from fastvrrp.vrrp.sync_tracking import sync_group_trackers

IF, SC, FI, PR = "track_interface", "track_script", "track_file", "track_process"


def plan(members, group=(), weight=False):
    return sync_group_trackers("G", members, group, tracking_weight=weight)


def test_member_weights_are_dropped_or_zeroed_without_sync_group_tracking_weight():
    p = plan({"VI_1": (100, ((IF, "eth1", 10, False), (IF, "eth2", 0, True), (SC, "chk", 5, False),
                             (SC, "plain", 0, False), (FI, "f1", 1, False), (FI, "f2", 7, False),
                             (PR, "nginx", -30, True)))})
    assert p.trackers["VI_1"] == ((IF, "eth1", 0, False), (IF, "eth2", 0, True),
                                  (SC, "plain", 0, False), (FI, "f1", 0, False),
                                  (PR, "nginx", -30, True))
    assert p.messages == (
        "(VI_1) ignoring eth1 tracked interface weight due to SYNC group",
        "(VI_1) ignoring tracked script chk with weights due to SYNC group",
        "(VI_1) ignoring weight from tracked file f1 due to SYNC group. specify weight 0",
        "(VI_1) ignoring tracked file f2 with weight 7 due to SYNC group",
    )


def test_sync_group_tracking_weight_keeps_member_weights():
    mine = ((IF, "eth1", 10, False), (SC, "chk", -5, True), (FI, "f1", 1, False))
    p = plan({"VI_1": (100, mine)}, weight=True)
    assert p.trackers["VI_1"] == mine and p.messages == ()


def test_an_owner_loses_its_weighted_trackers_even_with_tracking_weight():
    p = plan({"VI_1": (255, ((IF, "eth1", 10, False), (SC, "chk", 5, False), (FI, "f1", 1, False))),
              "VI_2": (100, ((SC, "chk", 5, False),))}, weight=True)
    assert p.trackers["VI_1"] == ((FI, "f1", 0, False),)      # the interface is dropped, not zeroed
    assert p.trackers["VI_2"] == ((SC, "chk", 5, False),)
    assert p.messages == (
        "(VI_1) ignoring eth1 tracked interface due to address owner",
        "(VI_1) ignoring tracked script chk with weights due to address_owner",
        "(VI_1) ignoring weight from tracked file f1 due to address_owner. specify weight 0",
    )


def test_group_trackers_apply_to_every_member_with_their_weights():
    group = ((SC, "grp", -20, False), (IF, "uplink", 0, False))
    p = plan({"VI_1": (100, ()), "VI_2": (90, ((IF, "eth0", 0, False),))}, group)
    assert p.trackers == {"VI_1": group, "VI_2": ((IF, "eth0", 0, False),) + group}
    assert p.messages == ()


def test_group_weights_are_cleared_next_to_an_address_owner():
    group = ((SC, "s", 5, False), (FI, "f", 3, False), (PR, "p", -4, False), (IF, "i", 2, True))
    p = plan({"VI_1": (255, ()), "VI_2": (100, ())}, group)
    cleared = ((SC, "s", 0, False), (FI, "f", 0, False), (PR, "p", 0, False), (IF, "i", 0, True))
    assert p.trackers == {"VI_1": cleared, "VI_2": cleared}
    assert p.messages == (
        "(G) Cannot have weighted track script 's' with member having priority 255 - clearing weight",
        "(G) Cannot have weighted track file 'f' with member having priority 255 - setting weight 0",
        "(G) Cannot have weighted track process 'p' with member having priority 255 - setting weight 0",
        "(G) Cannot have weighted track interface 'i' with member having priority 255 - clearing weight",
    )


def test_a_tracker_on_member_and_group_is_merged_as_keepalived_does():
    # an unweighted member entry stays unweighted; a weighted one takes the group's
    p = plan({"VI_1": (100, ((SC, "chk", 0, False), (PR, "nginx", 10, False)))},
             ((SC, "chk", 15, False), (PR, "nginx", -7, True)), weight=True)
    assert p.trackers["VI_1"] == ((SC, "chk", 0, False), (PR, "nginx", -7, True))
    assert p.messages == (
        "(VI_1) track_script chk is configured on VRRP instance and sync group. "
        "Remove vrrp instance config",
        "(VI_1) track_process nginx is configured on VRRP instance and sync group. "
        "Remove vrrp instance config",
    )


def test_member_rules_apply_before_the_group_merge():
    # the member's weighted interface becomes unweighted first, so the group's
    # weight does not replace it
    p = plan({"VI_1": (100, ((IF, "eth1", 10, False),))}, ((IF, "eth1", 25, False),))
    assert p.trackers["VI_1"] == ((IF, "eth1", 0, False),)
    assert p.messages[-1] == ("(VI_1) track_interface eth1 is configured on VRRP instance and "
                              "sync group. Remove vrrp instance or sync group config")


@pytest.mark.parametrize("args, match", [
    (("", {"VI_1": (100, ())}, ()), "name"),
    (("G", {}, ()), "non-empty mapping"),
    (("G", {"VI_1": 100}, ()), r"\(priority, trackers\)"),
    (("G", {"VI_1": (0, ())}, ()), "1..255"),
    (("G", {"VI_1": (100, "eth0")}, ()), "trackers must be a tuple"),
    (("G", {"VI_1": (100, (("track_bfd", "b", 0, False),))}, ()), "kind must be one of"),
    (("G", {"VI_1": (100, ((SC, "", 0, False),))}, ()), "name must be a non-empty string"),
    (("G", {"VI_1": (100, ((SC, "s", 300, False),))}, ()), "weight must be an integer"),
    (("G", {"VI_1": (100, ((SC, "s", 1, "no"),))}, ()), "reverse must be a bool"),
    (("G", {"VI_1": (100, ((SC, "s", 1),))}, ()), "tuple"),
    (("G", {"VI_1": (100, ())}, "chk"), "group trackers must be a tuple"),
])
def test_bad_input_is_refused(args, match):
    with pytest.raises(ValueError, match=match):
        sync_group_trackers(*args)


def test_tracking_weight_must_be_a_bool():
    with pytest.raises(ValueError, match="bool"):
        sync_group_trackers("G", {"VI_1": (100, ())}, (), tracking_weight="yes")
