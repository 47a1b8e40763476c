"""The state machine's vocabulary: states, timers, notifications, counters.

Shared by events.py, actions.py and machine.py.  Values follow keepalived
where keepalived exposes them (state numbers in its JSON dump, counter names in
its stats and JSON files, notify state words in FIFO lines and script args).
"""

from __future__ import annotations

import enum


class State(enum.IntEnum):
    """Instance states (RFC 5798 §6.4 / RFC 3768 §6.4, plus keepalived's own).

    The numbers are keepalived's (`VRRP_STATE_*`), as its JSON dump shows them.
    RFC 9568 calls MASTER "Active"; keepalived's words are kept because its log
    lines and notify scripts use them.
    """

    INIT = 0  # RFC 5798 §6.4.1 Initialize
    BACKUP = 1  # RFC 5798 §6.4.2 Backup
    MASTER = 2  # RFC 5798 §6.4.3 Master (RFC 9568: Active)
    FAULT = 3  # keepalived: a tracked interface/script/address is down
    STOP = 98  # keepalived: the instance was shut down


class TimerKind(enum.Enum):
    """The timers an instance owns; at most one of each kind is armed."""

    MASTER_DOWN = "Master_Down_Timer"  # RFC 5798 §6.2
    ADVER = "Adver_Timer"  # RFC 5798 §6.2
    GARP_DELAYED = "garp_master_delay"  # keepalived: 2nd GARP burst after becoming master
    GARP_REFRESH = "garp_master_refresh"  # keepalived: periodic GARP while master
    GARP_LOWER_PRIO = "garp_lower_prio_delay"  # keepalived: 2nd burst after a lower advert
    STARTUP_DELAY = "vrrp_startup_delay"  # keepalived: end of the delayed start


class NotifyState(enum.Enum):
    """What a notify script / FIFO line announces (keepalived's words)."""

    MASTER = "MASTER"
    BACKUP = "BACKUP"
    FAULT = "FAULT"
    STOP = "STOP"
    MASTER_RX_LOWER_PRI = "MASTER_RX_LOWER_PRI"


# The notification for entering a state (keepalived's notify words).
NOTIFY_FOR_STATE = {State.MASTER: NotifyState.MASTER, State.BACKUP: NotifyState.BACKUP,
                    State.FAULT: NotifyState.FAULT, State.STOP: NotifyState.STOP}


class Counter(enum.Enum):
    """Per-instance counters, named as in keepalived's stats (`vrrp.h` stats_t).

    `advert_sent` is not among the machine's Count actions: whoever sends an
    advert (the adapter executing SendAdvert, or the fast path sending a due
    advert on its own) counts it, once per send call as keepalived does.
    """

    ADVERT_RCVD = "advert_rcvd"
    ADVERT_SENT = "advert_sent"
    BECOME_MASTER = "become_master"
    RELEASE_MASTER = "release_master"
    PACKET_LEN_ERR = "packet_len_err"
    ADVERT_INTERVAL_ERR = "advert_interval_err"
    IP_TTL_ERR = "ip_ttl_err"
    INVALID_TYPE_RCVD = "invalid_type_rcvd"
    ADDR_LIST_ERR = "addr_list_err"
    INVALID_AUTHTYPE = "invalid_authtype"
    AUTHTYPE_MISMATCH = "authtype_mismatch"
    AUTH_FAILURE = "auth_failure"
    PRI_ZERO_RCVD = "pri_zero_rcvd"
    PRI_ZERO_SENT = "pri_zero_sent"
    # SNMP-only counters in keepalived; the codec counts them per instance too.
    CHK_ERR = "chk_err"
    VERS_ERR = "vers_err"


# Reasons a packet matched to an instance can be rejected before the machine
# sees it as an advert (keepalived's vrrp_check_packet failures, RFC 5798 §7.1).
REJECT_COUNTERS = frozenset(
    {
        Counter.PACKET_LEN_ERR,
        Counter.ADVERT_INTERVAL_ERR,
        Counter.IP_TTL_ERR,
        Counter.INVALID_TYPE_RCVD,
        Counter.ADDR_LIST_ERR,
        Counter.INVALID_AUTHTYPE,
        Counter.AUTHTYPE_MISMATCH,
        Counter.AUTH_FAILURE,
        Counter.CHK_ERR,
        Counter.VERS_ERR,
    }
)
