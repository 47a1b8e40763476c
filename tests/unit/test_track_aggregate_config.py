"""instance_trackers(): an instance's trackers from keepalived.conf, with the
interfaces keepalived tracks without being told (reference §3.2)."""

from fastvrrp.config import loads
from fastvrrp.track.aggregate import Kind, TrackerSpec, instance_trackers

IF, SC, FI, PR = Kind.INTERFACE, Kind.SCRIPT, Kind.FILE, Kind.PROCESS

CONFIG = """
vrrp_script chk {
    script "/bin/true"
    weight 5
}
vrrp_script gone {
    script "/bin/true"
}
track_file f1 {
    file /tmp/fastvrrp-test-f1
}
track_file f2 {
    file /tmp/fastvrrp-test-f2
    weight -3 reverse
}
vrrp_track_process p1 {
    process nginx
    weight 7
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.0.0.100/24
        10.1.0.100/24 dev eth2
        10.3.0.1/24 dev eth3 no_track
    }
    virtual_ipaddress_excluded {
        10.6.0.1/24 dev eth6
    }
    virtual_routes {
        10.9.0.0/16 via 10.0.0.1 dev eth4
        10.8.0.0/16 via 10.0.0.1 dev eth8 no_track
    }
    track_interface {
        eth1 weight 10
        eth2 weight -5 reverse
        eth5
    }
    track_script {
        chk
        gone
    }
    track_file {
        f1
        f2 weight 4
    }
    track_process {
        p1
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority 100
    dont_track_primary
    virtual_ipaddress {
        10.0.0.101/24
        10.7.0.1/24 dev eth7
    }
}
vrrp_instance VI_3 {
    interface eth0
    virtual_router_id 53
    priority 100
    virtual_ipaddress {
        10.0.0.102/24
    }
}
vrrp_instance VI_4 {
    interface eth0
    virtual_router_id 54
    priority 100
    virtual_ipaddress {
        10.0.0.103/24
    }
}
vrrp_sync_group G {
    group {
        VI_3
        VI_4
    }
    track_interface {
        eth1
    }
    track_file {
        f1 weight 0
    }
}
"""


def _instances():
    config, diags = loads(CONFIG)
    assert not diags.errors, [str(d) for d in diags.errors]
    return {i.name: i for i in config.instances}


def test_explicit_and_implicit_interfaces_files_scripts_processes():
    vi1 = _instances()["VI_1"]
    assert instance_trackers(vi1, skip_scripts=("gone",)) == [
        TrackerSpec(IF, "eth1", 10, False),
        TrackerSpec(IF, "eth2", 0, False),      # it carries a VIP: unweighted wins
        TrackerSpec(IF, "eth5", 0, False),
        TrackerSpec(IF, "eth0", 0, False),      # the instance's own interface
        TrackerSpec(IF, "eth6", 0, False),      # an eVIP's interface
        TrackerSpec(IF, "eth4", 0, False),      # a virtual route's device (eth8: no_track)
        TrackerSpec(SC, "chk", 5, False),       # the script's own weight
        TrackerSpec(FI, "f1", 1, False),        # track_file's default weight is 1
        TrackerSpec(FI, "f2", 4, True),         # weight overridden, reverse kept
        TrackerSpec(PR, "p1", 7, False),
    ]


def test_dont_track_primary_drops_the_own_interface_only():
    vi2 = _instances()["VI_2"]
    assert instance_trackers(vi2) == [TrackerSpec(IF, "eth7", 0, False)]


def test_sync_group_trackers_apply_to_every_member():
    insts = _instances()
    for name in ("VI_3", "VI_4"):
        assert instance_trackers(insts[name]) == [
            TrackerSpec(IF, "eth1", 0, False), TrackerSpec(IF, "eth0", 0, False),
            TrackerSpec(FI, "f1", 0, False)]


MEMBER_WEIGHTS = """
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.0.0.100/24
    }
    track_interface {
        eth1 weight 10
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority 100
    virtual_ipaddress {
        10.0.0.101/24
    }
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
%s
}
"""


def test_member_weights_need_sync_group_tracking_weight():
    """Without it a member's weighted interface only drives FAULT (reference §3.15)."""
    config, diags = loads(MEMBER_WEIGHTS % "")
    assert any("due to sync group" in str(d) for d in diags.errors)
    assert instance_trackers(config.instances[0]) == [TrackerSpec(IF, "eth1", 0, False),
                                                      TrackerSpec(IF, "eth0", 0, False)]
    config, diags = loads(MEMBER_WEIGHTS % "    sync_group_tracking_weight")
    assert not diags.errors, [str(d) for d in diags.errors]
    assert instance_trackers(config.instances[0]) == [TrackerSpec(IF, "eth1", 10, False),
                                                      TrackerSpec(IF, "eth0", 0, False)]
