"""Where every keyword of the schema takes effect, or why it has none.

Issue 5 point 6: "every accepted keyword has an effect or a warning".  Each
keyword of `schema.py` (block, keyword) is in exactly one of:

  EFFECTS    (module under fastvrrp/, a name that module uses for it, what it does)
  NO_EFFECT  NoEffect(reason, sample words, diagnostic code): using the keyword
             gives a diagnostic with that code.  For code "no-effect" the schema
             wraps the keyword so that it warns "'KW' has no effect in fastvrrp:
             REASON" (schema.no_effect); other codes are the diagnostic the
             keyword already gives ("ignored" for keepalived's LVS/SMTP/SNMP/BFD
             halves, "unsupported" for BFD trackers, "iptables", ...).

tests/unit/config/test_effects.py walks the whole schema: a keyword in neither
table, a module that does not exist or does not mention the name, or a
NO_EFFECT keyword that does not give its diagnostic, fails the test.  The
same tables give docs/config-differences.md its "implemented / warns" list
(`table_markdown`).
"""

from __future__ import annotations

from typing import NamedTuple


class NoEffect(NamedTuple):
    reason: str
    sample: str = ""            # the words after the keyword in the audit's config
    code: str = "no-effect"     # the diagnostic code the keyword gives


G, I, T = "global_defs", "vrrp_instance", "top level"

# --------------------------------------------------------------------- effects
# (block, keyword) -> (module under fastvrrp/, a name it uses, what it does)

EFFECTS: dict = {
    # top level
    (T, "global_defs"): ("config/build.py", "finish_globals", "global settings"),
    (T, "vrrp_instance"): ("daemon/convert.py", "plan_instance", "one running VRRP instance"),
    (T, "vrrp_script"): ("track/scripts.py", "interval_us", "tracked check scripts"),
    (T, "vrrp_sync_group"): ("vrrp/sync.py", "class SyncGroup", "members change state together"),
    (T, "track_file"): ("track/files.py", "init_file", "tracked files (inotify)"),
    (T, "vrrp_track_file"): ("track/files.py", "init_file", "old name of track_file"),
    (T, "vrrp_track_process"): ("track/processes.py", "quorum", "tracked processes"),
    (T, "static_ipaddress"): ("host/statics.py", "class Statics", "static addresses"),
    (T, "static_routes"): ("host/statics.py", "routes", "static routes"),
    (T, "static_rules"): ("host/statics.py", "rules", "static rules"),
    (T, "interface_up_down_delays"): ("track/links.py", "interface_up_down_delays",
                                      "debounced link tracking"),
    (T, "net_namespace"): ("daemon/process.py", "net_namespace", "runs in that namespace"),
    (T, "instance"): ("daemon/process.py", "instance_name", "pid file and log names"),
    # global_defs
    (G, "router_id"): ("daemon/engine_dumps.py", "router_id", "state dumps"),
    (G, "vrrp_rt_priority"): ("daemon/sched.py", "vrrp_rt_priority",
                              "SCHED_RR for the daemon's threads, not its scripts"),
    (G, "vrrp_priority"): ("daemon/sched.py", "vrrp_priority", "nice value of the daemon"),
    (G, "vrrp_rlimit_rttime"): ("daemon/sched.py", "vrrp_rlimit_rttime", "RLIMIT_RTTIME"),
    (G, "vrrp_rlimit_rtime"): ("daemon/sched.py", "vrrp_rlimit_rtime",
                               "old name of vrrp_rlimit_rttime"),
    (G, "vrrp_no_swap"): ("daemon/sched.py", "vrrp_no_swap", "memory locked (mlockall)"),
    (G, "vrrp_cpu_affinity"): ("daemon/sched.py", "vrrp_cpu_affinity", "CPUs of the daemon"),
    (G, "vrrp_mcast_group4"): ("config/instance.py", "vrrp_mcast_group4",
                               "default IPv4 group -> VrrpInstance.mcast_dst_ip"),
    (G, "vrrp_mcast_group6"): ("config/instance.py", "vrrp_mcast_group6",
                               "default IPv6 group -> VrrpInstance.mcast_dst_ip"),
    (G, "vrrp_garp_master_delay"): ("config/instance.py", "garp_master_delay_us",
                                    "instance default (second GARP burst)"),
    (G, "vrrp_garp_master_repeat"): ("config/instance.py", "garp_master_repeat",
                                     "instance default (GARP burst size)"),
    (G, "vrrp_garp_master_refresh"): ("config/instance.py", "garp_master_refresh_us",
                                      "instance default (GARP refresh)"),
    (G, "vrrp_garp_master_refresh_repeat"): ("config/instance.py", "garp_master_refresh_repeat",
                                             "instance default (GARP refresh size)"),
    (G, "vrrp_garp_lower_prio_delay"): ("config/instance.py", "vrrp_garp_lower_prio_delay_us",
                                        "instance default"),
    (G, "vrrp_garp_lower_prio_repeat"): ("config/instance.py", "vrrp_garp_lower_prio_repeat",
                                         "instance default"),
    (G, "vrrp_down_timer_adverts"): ("config/instance.py", "vrrp_down_timer_adverts",
                                     "instance default"),
    (G, "vrrp_garp_interval"): ("daemon/engine.py", "vrrp_garp_interval_us",
                                "gap between GARP rounds"),
    (G, "vrrp_gna_interval"): ("daemon/engine.py", "vrrp_gna_interval_us",
                               "gap between unsolicited NA rounds"),
    (G, "vrrp_min_garp"): ("config/schema.py", "def min_garp", "GARP defaults 1/0/0/0"),
    (G, "vrrp_lower_prio_no_advert"): ("config/instance.py", "vrrp_lower_prio_no_advert",
                                       "instance default"),
    (G, "vrrp_higher_prio_send_advert"): ("config/instance.py", "vrrp_higher_prio_send_advert",
                                          "instance default"),
    (G, "vrrp_version"): ("config/instance.py", "vrrp_version", "instance default"),
    (G, "nftables_priority"): ("daemon/engine.py", "nftables_priority",
                               "accept-mode chain priority"),
    (G, "vrrp_check_unicast_src"): ("daemon/convert.py", "check_unicast_src",
                                    "unicast adverts only from configured peers"),
    (G, "vrrp_skip_check_adv_addr"): ("config/instance.py", "vrrp_skip_check_adv_addr",
                                      "instance default"),
    (G, "vrrp_strict"): ("config/instance.py", "vrrp_strict", "strict mode for every instance"),
    (G, "v3_checksum_as_v2"): ("daemon/convert.py", "v3_checksum_as_v2", "checksum form"),
    (G, "notify_fifo"): ("daemon/fifo.py", "notify_fifo", "event FIFO"),
    (G, "notify_fifo_script"): ("daemon/fifo.py", "notify_fifo_script", "FIFO reader"),
    (G, "vrrp_notify_fifo"): ("daemon/fifo.py", "vrrp_notify_fifo", "VRRP event FIFO"),
    (G, "vrrp_notify_fifo_script"): ("daemon/fifo.py", "vrrp_notify_fifo_script",
                                     "VRRP FIFO reader"),
    (G, "vrrp_notify_priority_changes"): ("config/instance.py", "vrrp_notify_priority_changes",
                                          "instance default"),
    (G, "fifo_write_vrrp_states_on_reload"): ("daemon/notify.py",
                                              "fifo_write_vrrp_states_on_reload",
                                              "states rewritten at reload"),
    (G, "script_user"): ("track/security.py", "script_user", "default script user"),
    (G, "enable_script_security"): ("daemon/engine.py", "enable_script_security",
                                    "script security checks"),
    (G, "vrrp_startup_delay"): ("daemon/convert.py", "vrrp_startup_delay_us",
                                "delay before instances act"),
    (G, "vmac_prefix"): ("daemon/convert.py", "vmac_prefix", "VMAC interface names"),
    (G, "umask"): ("daemon/configload.py", "umask", "file creation mask"),
    (G, "random_seed"): ("config/preprocess.py", "random_seed", "${_RANDOM} values"),
    (G, "include_check"): ("config/include.py", "include_check", "include file checks"),
    (G, "data_use_instance"): ("daemon/dumpfiles.py", "data_use_instance", "dump file names"),
    (G, "use_symlink_paths"): ("daemon/convert.py", "use_symlink_paths", "script paths"),
    (G, "dynamic_interfaces"): ("daemon/engine.py", "_waits_for_interface",
                                "FAULT until a missing interface appears"),
    (G, "default_interface"): ("daemon/engine_host.py", "default_interface",
                               "interface of static addresses"),
    # authentication
    ("authentication", "auth_type"): ("daemon/convert.py", "auth_type", "RFC 3768 §5.3.6"),
    ("authentication", "auth_pass"): ("daemon/convert.py", "auth_pass", "RFC 3768 §5.3.10"),
    # vrrp_instance
    (I, "state"): ("daemon/convert.py", "initial_state", "initial state (RFC 5798 §6.4.1)"),
    (I, "interface"): ("daemon/convert.py", "inst.interface", "the instance's interface"),
    (I, "virtual_router_id"): ("daemon/convert.py", "vrid", "RFC 5798 §5.2.3"),
    (I, "priority"): ("daemon/convert.py", "priority", "RFC 5798 §5.2.4"),
    (I, "advert_int"): ("daemon/convert.py", "advert_int_cs", "RFC 5798 §5.2.7"),
    (I, "authentication"): ("daemon/convert.py", "auth_type", "VRRPv2 authentication"),
    (I, "virtual_ipaddress"): ("host/vips.py", "class VipSet", "VIPs (RFC 5798 §5.2.9)"),
    (I, "virtual_ipaddress_excluded"): ("daemon/convert.py", "evips", "eVIPs"),
    (I, "virtual_routes"): ("host/routes.py", "class RouteSet", "routes while master"),
    (I, "virtual_rules"): ("host/rules.py", "class RuleSet", "rules while master"),
    (I, "track_interface"): ("track/aggregate.py", "track_interfaces", "link tracking"),
    (I, "track_script"): ("track/aggregate.py", "track_scripts", "script tracking"),
    (I, "track_file"): ("track/aggregate.py", "track_files", "file tracking"),
    (I, "track_process"): ("track/aggregate.py", "track_processes", "process tracking"),
    (I, "dont_track_primary"): ("track/aggregate.py", "dont_track_primary",
                                "own interface not tracked"),
    (I, "nopreempt"): ("vrrp/machine.py", "nopreempt", "RFC 5798 §6.1 Preempt_Mode"),
    (I, "preempt"): ("config/build.py", '"preempt"', "clears nopreempt"),
    (I, "preempt_delay"): ("daemon/convert.py", "preempt_delay_us", "delayed preemption"),
    (I, "unicast_src_ip"): ("daemon/engine.py", "unicast_src_ip", "unicast source address"),
    (I, "mcast_src_ip"): ("daemon/engine.py", "mcast_src_ip", "multicast source address"),
    (I, "unicast_peer"): ("daemon/convert.py", "unicast_peers", "unicast adverts"),
    (I, "unicast_fault_no_peer"): ("daemon/convert.py", "unicast_fault_no_peer",
                                  "no peers: the instance stays in FAULT"),
    (I, "unicast_ttl"): ("daemon/convert.py", "unicast_ttl", "unicast TTL"),
    (I, "check_unicast_src"): ("daemon/convert.py", "check_unicast_src",
                               "unicast adverts only from configured peers"),
    (I, "mcast_dst_ip"): ("daemon/convert.py", "mcast_dst_ip", "multicast group"),
    (I, "version"): ("daemon/convert.py", "version", "VRRPv2 / VRRPv3"),
    (I, "accept"): ("daemon/engine.py", "_needs_firewall", "RFC 5798 §6.4.3 Accept_Mode"),
    (I, "no_accept"): ("daemon/engine.py", "_needs_firewall",
                       "nftables drop rules for the VIPs (host/firewall.py)"),
    (I, "skip_check_adv_addr"): ("vrrp/machine.py", "skip_check_adv_addr",
                                 "address list check"),
    (I, "strict_mode"): ("config/instance.py", "strict_mode", "strict-mode derivations"),
    (I, "garp_master_delay"): ("daemon/convert.py", "garp_master_delay_us",
                               "second GARP burst"),
    (I, "garp_master_repeat"): ("vrrp/machine.py", "garp_master_repeat", "GARP burst size"),
    (I, "garp_master_refresh"): ("daemon/convert.py", "garp_master_refresh_us",
                                 "GARP refresh"),
    (I, "garp_master_refresh_repeat"): ("vrrp/machine.py", "garp_master_refresh_repeat",
                                        "GARP refresh size"),
    (I, "garp_lower_prio_delay"): ("daemon/convert.py", "garp_lower_prio_delay_us",
                                   "GARPs after a lower-priority advert"),
    (I, "garp_lower_prio_repeat"): ("vrrp/machine.py", "garp_lower_prio_repeat",
                                    "GARPs after a lower-priority advert"),
    (I, "lower_prio_no_advert"): ("vrrp/machine.py", "lower_prio_no_advert",
                                  "no advert on a lower one"),
    (I, "higher_prio_send_advert"): ("vrrp/machine.py", "higher_prio_send_advert",
                                     "advert before yielding"),
    (I, "v3_checksum_as_v2"): ("daemon/convert.py", "v3_checksum_as_v2", "checksum form"),
    (I, "down_timer_adverts"): ("vrrp/machine.py", "down_timer_adverts",
                                "Master_Down_Interval multiplier"),
    (I, "notify_master"): ("daemon/notify.py", "notify_master", "notify script"),
    (I, "notify_backup"): ("daemon/notify.py", "notify_backup", "notify script"),
    (I, "notify_fault"): ("daemon/notify.py", "notify_fault", "notify script"),
    (I, "notify_stop"): ("daemon/notify.py", "notify_stop", "notify script"),
    (I, "notify"): ("daemon/notify.py", "notify", "generic notify script"),
    (I, "notify_deleted"): ("daemon/notify.py", "notify_deleted", "DELETED on reload"),
    (I, "notify_master_rx_lower_pri"): ("daemon/notify.py", "notify_master_rx_lower_pri",
                                        "notify script"),
    (I, "notify_priority_changes"): ("daemon/notify.py", "notify_priority_changes",
                                     "FIFO priority events"),
    (I, "use_vmac"): ("daemon/engine_host.py", "use_vmac", "macvlan VMAC (RFC 5798 §7.3)"),
    (I, "vmac_xmit_base"): ("host/vmac.py", "xmit_base", "adverts via the base interface"),
    (I, "promote_secondaries"): ("host/vmac_sysctl.py", "promote_secondaries",
                                 "interface sysctl"),
    (I, "old_unicast_checksum"): ("daemon/convert.py", "old_unicast_checksum",
                                  "checksum compatibility"),
    # vrrp_script
    ("vrrp_script", "script"): ("track/scripts.py", "command", "the check command"),
    ("vrrp_script", "interval"): ("track/scripts.py", "interval_us", "run period"),
    ("vrrp_script", "timeout"): ("track/scripts.py", "timeout_us", "run timeout"),
    ("vrrp_script", "weight"): ("track/aggregate.py", "weight", "priority weight"),
    ("vrrp_script", "rise"): ("track/risefall.py", "rise", "successes to go up"),
    ("vrrp_script", "fall"): ("track/risefall.py", "fall", "failures to go down"),
    ("vrrp_script", "user"): ("track/security.py", "user", "runs as that user"),
    ("vrrp_script", "init_fail"): ("track/scripts.py", "init_fail", "starts failed"),
    # track_file
    ("track_file", "file"): ("track/files.py", "path", "the file read"),
    ("track_file", "weight"): ("track/aggregate.py", "weight", "value times weight"),
    ("track_file", "init_file"): ("track/files.py", "init_file", "file created at start"),
    # vrrp_track_process
    ("vrrp_track_process", "process"): ("track/processes.py", "process", "process matched"),
    ("vrrp_track_process", "param_match"): ("track/processes.py", "param_match",
                                            "argument matching"),
    ("vrrp_track_process", "weight"): ("track/aggregate.py", "weight", "priority weight"),
    ("vrrp_track_process", "quorum"): ("track/processes.py", "quorum", "minimum count"),
    ("vrrp_track_process", "quorum_max"): ("track/processes.py", "quorum_max",
                                           "maximum count"),
    ("vrrp_track_process", "delay"): ("track/processes.py", "delay_us", "debounce"),
    ("vrrp_track_process", "terminate_delay"): ("track/processes.py", "terminate_delay_us",
                                                "debounce on exit"),
    ("vrrp_track_process", "fork_delay"): ("track/processes.py", "fork_delay_us",
                                           "debounce on fork"),
    ("vrrp_track_process", "full_command"): ("track/processes.py", "full_command",
                                             "match the full command line"),
    # vrrp_sync_group
    ("vrrp_sync_group", "group"): ("daemon/convert.py", "members", "the member instances"),
    ("vrrp_sync_group", "track_interface"): ("track/aggregate.py", "track_interfaces",
                                             "group link tracking"),
    ("vrrp_sync_group", "track_script"): ("track/aggregate.py", "track_scripts",
                                          "group script tracking"),
    ("vrrp_sync_group", "track_file"): ("track/aggregate.py", "track_files",
                                        "group file tracking"),
    ("vrrp_sync_group", "track_process"): ("track/aggregate.py", "track_processes",
                                           "group process tracking"),
    ("vrrp_sync_group", "notify_master"): ("daemon/notify.py", "notify_master", "group notify"),
    ("vrrp_sync_group", "notify_backup"): ("daemon/notify.py", "notify_backup", "group notify"),
    ("vrrp_sync_group", "notify_fault"): ("daemon/notify.py", "notify_fault", "group notify"),
    ("vrrp_sync_group", "notify_stop"): ("daemon/notify.py", "notify_stop", "group notify"),
    ("vrrp_sync_group", "notify"): ("daemon/notify.py", "notify", "group notify"),
    ("vrrp_sync_group", "global_tracking"): ("vrrp/sync_tracking.py",
                                             "sync_group_tracking_weight",
                                             "old name of sync_group_tracking_weight"),
    ("vrrp_sync_group", "sync_group_tracking_weight"): ("vrrp/sync_tracking.py",
                                                        "sync_group_tracking_weight",
                                                        "members' weights apply to the group"),
    ("vrrp_sync_group", "notify_priority_changes"): ("daemon/notify.py",
                                                     "notify_priority_changes",
                                                     "FIFO priority events"),
}

# --------------------------------------------------------------------- no effect

_IGN = "keepalived's LVS/SMTP/SNMP/DBus/BFD side: not part of fastvrrp"
_SCHED = ("the priority is not raised automatically when the daemon is delayed; set "
          "vrrp_rt_priority for a realtime daemon")
_BUFS = "socket buffer sizes stay the kernel's defaults"
_RELOAD = "keepalived's reload machinery; fastvrrp reloads on SIGHUP"
_NAMES = "fastvrrp is one process; process names are not changed"
_POLL = "link state always comes from netlink events; there is no polling"
_PARENT = "run by keepalived's parent process; fastvrrp has no parent process and does not run it"
_EXTRA_IF = ("periodic GARPs on VMAC/extra interfaces are not sent (use garp_master_refresh "
             "for periodic GARPs on the VIPs' interface)")
_GARP_GROUP = ("per-interface-group GARP gaps are not applied; vrrp_garp_interval and "
               "vrrp_gna_interval apply to each instance")
_TRACK_GROUP = ("static addresses, routes and rules stay in place whatever the state of "
                "their track_group's instances")

NO_EFFECT: dict = {
    (T, "track_group"): NoEffect(_TRACK_GROUP, "TG { group { VI_1 } }"),
    (T, "garp_group"): NoEffect(_GARP_GROUP, "{ garp_interval 1 }"),
    (T, "linkbeat_interfaces"): NoEffect(_POLL, "{ eth0 }"),
    (T, "namespace_with_ipsets"): NoEffect("fastvrrp uses no ipsets"),
    (T, "use_pid_dir"): NoEffect("pid files are where -p/-r say (or keepalived's defaults)"),
    (T, "child_wait_time"): NoEffect("fastvrrp has no child processes to wait for", "5"),
    (T, "linkbeat_use_polling"): NoEffect(_POLL),
    (T, "net_namespace_ipvs"): NoEffect(_IGN, "x", "ignored"),
    (T, "virtual_server"): NoEffect(_IGN, "10.0.0.1 80 { }", "ignored"),
    (T, "virtual_server_group"): NoEffect(_IGN, "G { }", "ignored"),
    (T, "real_server"): NoEffect(_IGN, "10.0.0.1 80", "ignored"),
    (T, "SSL"): NoEffect(_IGN, "{ }", "ignored"),
    (T, "bfd_instance"): NoEffect(_IGN, "B { }", "ignored"),
    (G, "vrrp_garp_extra_if"): NoEffect(_EXTRA_IF, "10"),
    (G, "vrrp_vmac_garp_intvl"): NoEffect(_EXTRA_IF, "10"),
    (G, "vrrp_iptables"): NoEffect("iptables is not supported; no_accept uses nftables "
                                   "(table 'fastvrrp')", "", "iptables"),
    (G, "vrrp_ipsets"): NoEffect("fastvrrp uses no ipsets (no_accept uses an nftables set)",
                                 "a b"),
    (G, "nftables"): NoEffect("the table name is not used: fastvrrp's accept-mode rules live "
                              "in its own tables 'ip fastvrrp' / 'ip6 fastvrrp'", "keepalived"),
    (G, "nftables_ifindex"): NoEffect("link-local VIPs are matched on every interface"),
    (G, "nftables_counters"): NoEffect("the accept-mode rules carry no counters"),
    (G, "vrrp_owner_ignore_adverts"): NoEffect("keepalived >= 2.3.3 only: an owner processes "
                                               "adverts as in 2.2.7"),
    (G, "max_auto_priority"): NoEffect(_SCHED, "10"),
    (G, "min_auto_priority_delay"): NoEffect(_SCHED, "1000"),
    (G, "vrrp_netlink_cmd_rcv_bufs"): NoEffect(_BUFS, "1000000"),
    (G, "vrrp_netlink_cmd_rcv_bufs_force"): NoEffect(_BUFS),
    (G, "vrrp_netlink_monitor_rcv_bufs"): NoEffect(_BUFS, "1000000"),
    (G, "vrrp_netlink_monitor_rcv_bufs_force"): NoEffect(_BUFS),
    (G, "process_monitor_rcv_bufs"): NoEffect(_BUFS, "1000000"),
    (G, "process_monitor_rcv_bufs_force"): NoEffect(_BUFS),
    (G, "vrrp_rx_bufs_policy"): NoEffect(_BUFS, "MTU"),
    (G, "vrrp_rx_bufs_multiplier"): NoEffect(_BUFS, "3"),
    (G, "vrrp_delay_after_boot"): NoEffect("keepalived >= 2.4.0 only; use vrrp_startup_delay",
                                           "10"),
    (G, "log_unknown_vrids"): NoEffect("adverts for unknown VRIDs are counted, not logged"),
    (G, "vmac_addr_prefix"): NoEffect("VMAC names come from vmac_prefix", "vr"),
    (G, "reload_check_config"): NoEffect(_RELOAD + " and always checks the new config "
                                         "first (a bad one keeps the old running)"),
    (G, "reload_time_file"): NoEffect(_RELOAD + "; timed reloads are not supported", "/tmp/x"),
    (G, "reload_repeat"): NoEffect(_RELOAD + "; timed reloads are not supported"),
    (G, "reload_file"): NoEffect(_RELOAD + "; reload files are not watched"),
    (G, "config_save_dir"): NoEffect(_RELOAD + "; configs are not saved", "/tmp"),
    (G, "tmp_config_directory"): NoEffect("fastvrrp writes no temporary config copies", "/tmp"),
    (G, "json_version"): NoEffect("keepalived >= 2.2.8 only; the JSON dump is version 1", "2"),
    (G, "state_dump_file"): NoEffect("keepalived >= 2.3.3 only; dumps go to keepalived "
                                     "2.2.7's paths", "/tmp/x"),
    (G, "stats_dump_file"): NoEffect("keepalived >= 2.3.3 only; dumps go to keepalived "
                                     "2.2.7's paths", "/tmp/x"),
    (G, "json_dump_file"): NoEffect("keepalived >= 2.3.3 only; dumps go to keepalived "
                                    "2.2.7's paths", "/tmp/x"),
    (G, "set_supplementary_groups"): NoEffect("newer keepalived only; scripts get the "
                                              "script user's groups"),
    (G, "iproute_usr_dir"): NoEffect("keepalived >= 2.3.2 only; route/rule table names come "
                                     "from /etc/iproute2", "/usr/lib/iproute2"),
    (G, "iproute_etc_dir"): NoEffect("keepalived >= 2.3.2 only; route/rule table names come "
                                     "from /etc/iproute2", "/etc/iproute2"),
    (G, "process_names"): NoEffect(_NAMES),
    (G, "process_name"): NoEffect(_NAMES, "ka"),
    (G, "vrrp_process_name"): NoEffect(_NAMES, "ka_vrrp"),
    (G, "startup_script"): NoEffect(_PARENT, "/bin/true"),
    (G, "startup_script_timeout"): NoEffect(_PARENT, "5"),
    (G, "shutdown_script"): NoEffect(_PARENT, "/bin/true"),
    (G, "shutdown_script_timeout"): NoEffect(_PARENT, "5"),
    (G, "disable_local_igmp"): NoEffect("igmp_link_local_mcast_reports is not changed"),
    (G, "linkbeat_use_polling"): NoEffect(_POLL),
    (I, "no_virtual_ipaddress"): NoEffect("keepalived >= 2.2.8 only; an instance without "
                                          "VIPs is refused at start"),
    (I, "track_bfd"): NoEffect("BFD is not supported (the tracker counts as up)", "{ b1 }",
                               "unsupported"),
    (I, "native_ipv6"): NoEffect("the family comes from the addresses (an IPv6 VIP means "
                                 "IPv6 and VRRPv3)"),
    (I, "garp_extra_if"): NoEffect(_EXTRA_IF, "10"),
    (I, "vmac_garp_intvl"): NoEffect(_EXTRA_IF, "10"),
    (I, "owner_ignore_adverts"): NoEffect("keepalived >= 2.3.3 only: an owner processes "
                                          "adverts as in 2.2.7"),
    (I, "timer_expired_backup"): NoEffect("keepalived >= 2.2.8 only; a stalled nopreempt "
                                          "master is not forced back to BACKUP"),
    (I, "smtp_alert"): NoEffect(_IGN, "", "ignored"),
    (I, "debug"): NoEffect("not implemented in keepalived either (use -D)", "1"),
    (I, "use_vmac_addr"): NoEffect("the base interface keeps its own MAC"),
    (I, "use_ipvlan"): NoEffect("ipvlan interfaces are not implemented: fastvrrp check "
                                "refuses it and the instance does not start; use use_vmac"),
    (I, "vrf"): NoEffect("the VMAC is not put into a VRF", "vrf0"),
    (I, "track_src_ip"): NoEffect("losing the source address gives FAULT anyway; the "
                                  "configured address is not tracked separately"),
    (I, "kernel_rx_buf_size"): NoEffect(_BUFS, "65536"),
    (I, "linkbeat_use_polling"): NoEffect(_POLL),
    (I, "lvs_sync_daemon_interface"): NoEffect(_IGN, "eth0", "ignored"),
    (I, "auth_hmac"): NoEffect("keepalived >= 2.4.0 only; not supported", "{ x }",
                               "unsupported"),
    ("vrrp_sync_group", "track_bfd"): NoEffect("BFD is not supported (the tracker counts as up)",
                                               "{ b1 }", "unsupported"),
    ("vrrp_sync_group", "smtp_alert"): NoEffect(_IGN, "", "ignored"),
    ("track_group", "group"): NoEffect(_TRACK_GROUP, "{ VI_1 }"),
    ("garp_group", "garp_interval"): NoEffect(_GARP_GROUP, "1"),
    ("garp_group", "gna_interval"): NoEffect(_GARP_GROUP, "1"),
    ("garp_group", "interface"): NoEffect(_GARP_GROUP, "eth0"),
    ("garp_group", "interfaces"): NoEffect(_GARP_GROUP, "{ eth0 }"),
}

# keepalived's other halves skipped whole in global_defs: one shared reason
for _kw in ("notification_email", "notification_email_from", "smtp_server", "smtp_helo_name",
            "smtp_connect_timeout", "smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker",
            "no_email_faults", "rs_init_notifies", "no_checker_emails", "enable_traps",
            "enable_dbus", "dbus_service_name", "dbus_no_interface_name", "snmp_socket",
            "lvs_sync_daemon", "lvs_timeouts", "lvs_flush", "lvs_flush_on_stop",
            "lvs_flush_onstop", "lvs_notify_fifo", "lvs_notify_fifo_script",
            "checker_process_name", "lvs_process_name", "bfd_process_name"):
    NO_EFFECT[(G, _kw)] = NoEffect(_IGN, "x", "ignored")


def no_effect_reason(block: str, keyword: str) -> str | None:
    """The reason a keyword has no effect, for the schema's warning (None: it has one)."""
    entry = NO_EFFECT.get((block, keyword))
    return entry.reason if entry is not None and entry.code == "no-effect" else None


def table_markdown() -> str:
    """The "implemented / warns, and why" list (docs and the issue's closing note)."""
    lines = ["| block | keyword | implemented in / warns because |", "|---|---|---|"]
    rows = []
    for (block, kw), (module, _name, what) in EFFECTS.items():
        rows.append((block, kw, "implemented: %s (`fastvrrp/%s`)" % (what, module)))
    for (block, kw), ne in NO_EFFECT.items():
        word = {"no-effect": "warns", "ignored": "ignored, warns"}.get(ne.code, ne.code)
        rows.append((block, kw, "%s: %s" % (word, ne.reason)))
    order = {T: 0, G: 1, I: 2}
    rows.sort(key=lambda r: (order.get(r[0], 3), r[0], r[2].startswith("implemented") is False,
                             r[1]))
    lines += ["| %s | `%s` | %s |" % r for r in rows]
    return "\n".join(lines) + "\n"


__all__ = ["EFFECTS", "NO_EFFECT", "NoEffect", "no_effect_reason", "table_markdown"]
