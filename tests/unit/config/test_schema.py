"""The keyword schema and its converters: every keyword of the reference's
inventory (keepalived-vrrp.md §2) is in the one table, value words are
converted as keepalived 2.2.7 does (§1.5), script lines are split with
keepalived's second tokenizer (§1.3)."""

import pytest

from fastvrrp.config import loads, schema
from fastvrrp.config.command import format_command, split_command
from fastvrrp.config.convert import BadValue, to_bool, to_decimal, to_int, to_ipv4, to_uint
from fastvrrp.config.model import Command

# Keywords the reference (§2.1-§2.7) lists, per block.  IGN ones must be in
# the table too (they are skipped with a warning, not reported as unknown).
INVENTORY = {
    "top level": """global_defs vrrp_instance vrrp_script vrrp_sync_group static_ipaddress
        static_routes static_rules track_group track_file vrrp_track_file vrrp_track_process
        garp_group linkbeat_interfaces interface_up_down_delays net_namespace
        net_namespace_ipvs namespace_with_ipsets instance use_pid_dir child_wait_time
        linkbeat_use_polling virtual_server virtual_server_group real_server SSL
        bfd_instance""",
    "global_defs": """router_id vrrp_mcast_group4 vrrp_mcast_group6 vrrp_garp_master_delay
        vrrp_garp_master_repeat vrrp_garp_master_refresh vrrp_garp_master_refresh_repeat
        vrrp_garp_lower_prio_delay vrrp_garp_lower_prio_repeat vrrp_garp_interval
        vrrp_gna_interval vrrp_min_garp vrrp_garp_extra_if vrrp_vmac_garp_intvl
        vrrp_down_timer_adverts vrrp_lower_prio_no_advert vrrp_higher_prio_send_advert
        vrrp_version vrrp_strict vrrp_check_unicast_src vrrp_skip_check_adv_addr
        vrrp_owner_ignore_adverts v3_checksum_as_v2 vrrp_iptables vrrp_ipsets nftables
        nftables_priority nftables_ifindex nftables_counters enable_script_security
        script_user notify_fifo notify_fifo_script vrrp_notify_fifo vrrp_notify_fifo_script
        vrrp_notify_priority_changes fifo_write_vrrp_states_on_reload vrrp_startup_delay
        vrrp_delay_after_boot dynamic_interfaces default_interface max_auto_priority
        min_auto_priority_delay vrrp_priority vrrp_no_swap vrrp_rt_priority vrrp_cpu_affinity
        vrrp_rlimit_rttime vrrp_rlimit_rtime vrrp_process_name process_names process_name
        vrrp_netlink_cmd_rcv_bufs vrrp_netlink_cmd_rcv_bufs_force
        vrrp_netlink_monitor_rcv_bufs vrrp_netlink_monitor_rcv_bufs_force
        process_monitor_rcv_bufs process_monitor_rcv_bufs_force vrrp_rx_bufs_policy
        vrrp_rx_bufs_multiplier disable_local_igmp log_unknown_vrids vmac_prefix
        vmac_addr_prefix startup_script startup_script_timeout shutdown_script
        shutdown_script_timeout umask random_seed include_check config_save_dir
        tmp_config_directory reload_check_config reload_time_file reload_repeat reload_file
        data_use_instance json_version state_dump_file stats_dump_file json_dump_file
        use_symlink_paths set_supplementary_groups iproute_usr_dir iproute_etc_dir
        notification_email notification_email_from smtp_server smtp_helo_name
        smtp_connect_timeout smtp_alert smtp_alert_vrrp smtp_alert_checker no_email_faults
        rs_init_notifies no_checker_emails snmp_socket enable_traps enable_dbus
        dbus_service_name dbus_no_interface_name linkbeat_use_polling""",
    "vrrp_instance": """state interface virtual_router_id priority advert_int authentication
        virtual_ipaddress virtual_ipaddress_excluded no_virtual_ipaddress virtual_routes
        virtual_rules track_interface track_script track_file track_process track_bfd
        dont_track_primary nopreempt preempt preempt_delay unicast_src_ip mcast_src_ip
        unicast_peer unicast_ttl check_unicast_src unicast_fault_no_peer mcast_dst_ip version
        native_ipv6 accept no_accept skip_check_adv_addr strict_mode garp_master_delay
        garp_master_repeat garp_master_refresh garp_master_refresh_repeat
        garp_lower_prio_delay garp_lower_prio_repeat garp_extra_if vmac_garp_intvl
        lower_prio_no_advert higher_prio_send_advert owner_ignore_adverts down_timer_adverts
        timer_expired_backup notify_master notify_backup notify_fault notify_stop notify
        notify_deleted notify_master_rx_lower_pri notify_priority_changes smtp_alert debug
        use_vmac vmac_xmit_base use_vmac_addr use_ipvlan vrf promote_secondaries track_src_ip
        kernel_rx_buf_size linkbeat_use_polling old_unicast_checksum v3_checksum_as_v2
        lvs_sync_daemon_interface auth_hmac""",
    "authentication": "auth_type auth_pass",
    "vrrp_script": "script interval timeout weight rise fall user init_fail",
    "track_file": "file weight init_file",
    "vrrp_track_process": """process param_match weight quorum quorum_max delay
        terminate_delay fork_delay full_command""",
    "vrrp_sync_group": """group notify_master notify_backup notify_fault notify_stop notify
        track_interface track_script track_file track_process track_bfd global_tracking
        sync_group_tracking_weight smtp_alert notify_priority_changes""",
    "garp_group": "garp_interval gna_interval interface interfaces",
    "track_group": "group",
}


@pytest.mark.parametrize("block", sorted(INVENTORY))
def test_inventory_keywords_are_in_the_schema(block):
    keys = schema.BLOCKS[block].keys
    missing = [k for k in INVENTORY[block].split() if k not in keys]
    assert missing == []


def test_every_key_is_well_formed():
    kinds = {"value", "flag", "bool", "block", "list", "named", "ignore"}
    for block, key in schema.iter_keys():
        assert key.prio in (schema.P0, schema.P1, schema.P2, schema.IGN), (block, key.name)
        assert key.kind in kinds, (block, key.name)
        assert (key.conv is not None) == (key.kind in ("value", "bool")), (block, key.name)
        assert (key.entry is not None) == (key.kind == "list"), (block, key.name)
        assert (key.block is not None) == (key.kind in ("block", "named")), (block, key.name)
        assert (key.prio == schema.IGN) <= (key.kind in ("ignore", "list")), (block, key.name)
        assert 0 <= key.lo <= key.hi


def test_seed_keywords_are_p0():
    for block, names in (("vrrp_instance", "state interface virtual_router_id priority "
                          "advert_int authentication track_script virtual_ipaddress"),
                         ("vrrp_script", "script interval weight"),
                         ("authentication", "auth_type auth_pass")):
        for name in names.split():
            assert schema.BLOCKS[block].keys[name].prio == schema.P0, name


# ---------------------------------------------------------------- converters

@pytest.mark.parametrize("text,lo,hi,value", [
    ("0", 0, 10, 0), ("255", 1, 255, 255), ("  90", 1, 255, 90), ("+7", 0, 9, 7)])
def test_to_uint_accepts(text, lo, hi, value):
    assert to_uint(text, lo, hi) == value


@pytest.mark.parametrize("text,message", [
    ("-1", "negative number '-1'"), ("10abc", "invalid number '10abc'"),
    ("0x10", "invalid number '0x10'"), ("", "invalid number ''"), ("²", "invalid number '²'"),
    ("256", "number '256' outside range [1, 255]")])
def test_to_uint_rejects(text, message):
    with pytest.raises(BadValue) as e:
        to_uint(text, 1, 255)
    assert str(e.value) == message


def test_to_int_signs_and_range():
    assert to_int("-253", -253, 253) == -253
    assert to_int("+4", -5, 5) == 4
    with pytest.raises(BadValue, match=r"number '-300' outside range \[-254, 254\]"):
        to_int("-300", -254, 254)
    with pytest.raises(BadValue, match="invalid number"):
        to_int("--3")


def test_to_decimal_scales_and_rounds_like_keepalived():
    assert to_decimal("1", 6, 0, 10**9) == (1_000_000, False)
    assert to_decimal("0.5", 6, 0, 10**9) == (500_000, False)
    assert to_decimal(".25", 2, 0, 10**9) == (25, False)
    # too many places: rounded at the last kept digit, reported by the caller
    assert to_decimal("1.0005", 3, 0, 10**9) == (1001, True)
    assert to_decimal("1.0004", 3, 0, 10**9) == (1000, True)
    with pytest.raises(BadValue, match=r"outside range \[0.000001, 4294.967295\]"):
        to_decimal("0", 6, 1, 0xFFFFFFFF)
    for bad in ("1.2.3", "abc", "-1", "1e3", "."):
        with pytest.raises(BadValue):
            to_decimal(bad, 6, 0, 10**9)


def test_booleans_are_exact_lowercase_words():
    assert [to_bool(w) for w in ("true", "on", "yes", "false", "off", "no")] == \
        [True, True, True, False, False, False]
    for bad in ("True", "YES", "1", "0", "enable"):
        with pytest.raises(BadValue):
            to_bool(bad)


def test_ipv4_is_strict_dotted_quad():
    assert str(to_ipv4("192.168.16.130")) == "192.168.16.130"
    for bad in ("192.168.1.", "192.168.1.300", "1.2.3", "01.2.3.4", "a.b.c.d", "1.2.3.4.5"):
        with pytest.raises(BadValue):
            to_ipv4(bad)


# ---------------------------------------------------------------- script lines

@pytest.mark.parametrize("text,argv", [
    ("killall -0 sshd", ["killall", "-0", "sshd"]),
    ("/bin/x  'a b'  \"c d\"", ["/bin/x", "a b", "c d"]),
    ('abc"d e"f', ["abcd ef"]),
    ("bash -c '</dev/tcp/127.0.0.1/80'", ["bash", "-c", "</dev/tcp/127.0.0.1/80"]),
    (r"a\tb \x41\102 \cA \q", ["a\tb", "AB", "\x01", "q"]),
    (r"'it\'s'", ["it's"]),
])
def test_split_command_vectors(text, argv):
    assert split_command(text) == argv


@pytest.mark.parametrize("text", ["'open", '"open', "ends with \\"])
def test_split_command_rejects_bad_quoting(text):
    with pytest.raises(BadValue):
        split_command(text)


@pytest.mark.parametrize("argv", [
    ("/usr/bin/x",), ("/bin/sh", "-c", "echo 'hi' \"there\" $HOME"), ("a b", "", "\\", "\t#!{}")])
def test_format_command_round_trips_through_the_reader(argv):
    text = "vrrp_script s {\n    script %s\n}\n" % format_command(Command(argv))
    config, diags = loads(text)
    assert diags.errors == []
    assert config.scripts["s"].command.argv == argv


def test_notify_command_splits_user_and_group_from_the_line():
    config, diags = loads(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n"
        " virtual_ipaddress {\n  10.0.0.1\n }\n"
        ' notify_master "/usr/local/bin/vrrp.sh  MASTER  VI_1" nobody nogroup\n'
        " notify_backup /usr/local/bin/backup arg\n}\n")
    inst = config.instances[0]
    assert inst.notify_master.argv == ("/usr/local/bin/vrrp.sh", "MASTER", "VI_1")
    assert (inst.notify_master.user, inst.notify_master.group) == ("nobody", "nogroup")
    # keepalived's gotcha: the unquoted second word is the user, and fastvrrp says so
    assert inst.notify_backup.argv == ("/usr/local/bin/backup",)
    assert inst.notify_backup.user == "arg"
    assert [(d.pos.line, d.code) for d in diags.warnings] == [(8, "notify-user")]
