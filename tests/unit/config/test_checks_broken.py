"""The folder of broken configs (tests/data/config/broken/): one problem per
file, each with its exact diagnostics (line:col: severity: message, {path}
standing for the file) and the exit status `fastvrrp check --no-host` gives."""

import pytest

from fastvrrp.config import load
from fastvrrp.config.check import exit_status
from paths import DATA

BROKEN = DATA / "config" / "broken"

EXPECTED = {
    'advert_int_fraction_v2.conf': [
        '4:5: error: (VI_1) VRRPv2 advertisement interval 0.500000s must be a whole number of seconds - rounding to 1s',
    ],
    'auth_pass_too_long.conf': [
        "6:19: error: (VI_1) auth_pass is longer than 8 characters - truncating it to '12345678'",
    ],
    'auth_with_v3.conf': [
        '6:9: error: (VI_1) VRRP version 3 does not support authentication - ignoring it',
    ],
    'bad_boolean.conf': [
        "4:17: error: (VI_1) strict_mode: invalid boolean 'maybe' (use true/on/yes or false/off/no) - ignoring",
    ],
    'bad_vip.conf': [
        "6:9: error: (VI_1) invalid IP address '192.0.2.300/24' - skipping it",
    ],
    'duplicate_instance.conf': [
        '8:15: error: vrrp instance VI_1 already defined at {path}:1:1 - skipping this block',
    ],
    'duplicate_vip.conf': [
        '6:9: warning: (VI_1) duplicate VIP 192.0.2.1 (first given at {path}:5:9) - dropped',
    ],
    'duplicate_vrid.conf': [
        '10:5: error: VI_1 and VI_2 both use VRID 51 with IPv4 on interface eth0 (VI_1 is at {path}:1:1)',
    ],
    'extra_words.conf': [
        "3:26: warning: (VI_1) extra words after 'virtual_router_id' ignored: ; priority 90",
    ],
    'global_keyword_in_instance.conf': [
        "4:5: warning: (VI_1) unknown keyword 'vrrp_strict' in vrrp_instance; 'vrrp_strict' belongs in global_defs",
    ],
    'missing_interface.conf': [
        "6:1: error: (VI_1) no interface given (an instance needs 'interface', or unicast peers with unicast_src_ip)",
    ],
    'missing_value.conf': [
        "4:5: error: (VI_1) 'priority' needs a value - ignoring the line",
    ],
    'missing_vrid.conf': [
        '6:1: error: (VI_1) the virtual router id (virtual_router_id) must be set',
    ],
    'no_vip_v3.conf': [
        '5:1: error: (VI_1) no VIP specified; at least one is required (VRRPv3, IPv6 or strict mode)',
    ],
    'nopreempt_with_master.conf': [
        '6:5: error: (VI_1) nopreempt will not work with initial state MASTER - clearing it',
    ],
    'old_style_sync_group.conf': [
        '1:1: error: sync group G1 has no virtual router(s) - removing it',
        "2:5: warning: (G1) unknown keyword 'VI_1' in vrrp_sync_group; sync group members go inside 'group { ... }'",
    ],
    'priority_out_of_range.conf': [
        "4:14: error: (VI_1) priority: number '300' outside range [1, 255] - using the default 100",
    ],
    'script_without_command.conf': [
        '3:1: error: no script set for vrrp_script chk - removing it',
    ],
    'skip_check_adv_addr_false.conf': [
        '4:25: warning: (VI_1) skip_check_adv_addr false: fastvrrp honours it; keepalived 2.2.7 would enable the option',
    ],
    'state_lowercase.conf': [
        "2:11: error: (VI_1) unknown state 'master', defaulting to BACKUP (states are upper case: MASTER or BACKUP)",
    ],
    'strict_state_master.conf': [
        '5:5: error: (VI_1) state MASTER must match being the address owner (priority 255) in strict mode - using BACKUP',
    ],
    'sync_group_unknown_member.conf': [
        "5:9: error: virtual router VI_9 specified in sync group G1 doesn't exist - ignoring it",
    ],
    'track_own_interface.conf': [
        "8:9: error: (VI_1) ignoring track_interface eth0 since it is the instance's own interface",
    ],
    'track_script_before_definition.conf': [
        '8:9: error: (VI_1) track script chk_late not found, ignoring (it is defined later in the file; keepalived needs it before its users)',
        '11:1: warning: vrrp_script chk_late is not used by any instance',
    ],
    'track_script_weight_254.conf': [
        '11:20: error: (VI_1) weight for chk cannot be +/-254 - using +253',
    ],
    'track_weight_out_of_range.conf': [
        '8:21: error: (VI_1) track_interface eth1: weight -300 must be in [-253, 253] - using 0',
    ],
    'unicast_ttl_without_peers.conf': [
        '4:5: error: (VI_1) cannot use unicast_ttl without unicast peers - resetting',
    ],
    'unknown_keyword.conf': [
        "4:5: warning: (VI_1) unknown keyword 'priorty' in vrrp_instance; did you mean 'priority'?",
    ],
    'unknown_subblock.conf': [
        "3:5: warning: (VI_1) unknown sub-block 'future_block' in vrrp_instance (skipped with its { } block)",
    ],
    'unknown_top_level.conf': [
        "1:1: warning: unknown block 'Global_Defs' (skipped with its { } block); did you mean 'global_defs'?",
    ],
    'vip_family_mismatch.conf': [
        '6:9: error: (VI_1) 2001:db8::1/64: address family must match the instance (IPv4) - ignoring',
    ],
    'vip_prefix_33.conf': [
        "5:9: error: (VI_1) invalid prefix length '33' for address 192.0.2.1/33 - using 32",
    ],
    'virtual_server_ignored.conf': [
        "8:1: warning: 'virtual_server' block ignored: fastvrrp runs only the VRRP side of keepalived (LVS/BFD blocks are skipped)",
    ],
    'vrid_out_of_range.conf': [
        "3:23: error: (VI_1) virtual_router_id: number '300' outside range [1, 255] - the instance cannot run without a valid VRID",
    ],
}


def test_every_broken_file_has_an_expectation():
    assert sorted(p.name for p in BROKEN.glob("*.conf")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_config_diagnostics(name):
    path = str(BROKEN / name)
    config, diags = load(path)
    got = ["%d:%d: %s: %s" % (d.pos.line, d.pos.col, d.severity, d.message)
           for d in sorted(diags, key=lambda d: (d.pos.line, d.pos.col))]
    assert got == [e.replace("{path}", path) for e in EXPECTED[name]]
    assert all(d.pos.file == path for d in diags)
    want = 5 if any(": error: " in e for e in EXPECTED[name]) else 0
    assert exit_status(diags) == want
