# cython: language_level=3
"""fastvrrp._fastpath: the slot table, the steady-state settle in C, batched I/O.

The rule (DESIGN.md "Data flow"): steady state never enters Python.  Two
cases are settled here, with no Python call and no Python allocation:

  (a) RFC 5798 §6.4.2 / RFC 3768 §6.4.2: a Backup receives a valid
      ADVERTISEMENT from the master it already knows, at the priority it
      already knows, that the machine would accept without changing anything
      (priority != 0 and >= ours, or nopreempt without preempt_delay; v2:
      Adver Int equal to ours; v3: Max Adver Int equal to the learned
      Master_Adver_Interval; the address list equal to ours) -> Master_Down_Timer
      is re-armed at now + Master_Down_Interval.
  (b) RFC 5798 §6.4.3: a Master's Adver_Timer fires -> the prebuilt
      ADVERTISEMENT (one per unicast peer) is queued for this tick's sendmmsg
      and the timer re-armed at t + Advertisement_Interval.

Everything else is escalated to Python: one call of the escalation callback
per event.  The Python state machine (fastvrrp.vrrp) is the authority; this
module is a filter that proves "this event changes nothing".  Whether a slot
may settle at all is decided by Python (update_slot's rx_settle / tx_settle
flags, set by fastvrrp.daemon.fastpath_bridge after every transition).

Python API (the engine uses it through fastvrrp.daemon.fastpath_bridge)
-----------------------------------------------------------------------
    fp = FastPath(tick_ns=1_000_000, capacity=1024, *, capture=False,
                  late_slack_ns=None, rx_batch=64, drain_cap=4096)
    fp.set_escalation(callback)       # callback(slot, what, now_ns, arg)
    sid = fp.add_socket(fd, family, *, ifindex=0, check_ttl=True,
                        receive=True, dontroute=False)   # fd -1: inject/capture only
    fp.configure_slot(index, *, family, version, vrid, rx_socket, tx_socket, src,
                      addresses, advert_int_cs, auth_type=0, auth_pass=b"",
                      peers=(), check_peers=False, group=None, checksum_form=None,
                      ttl=255, skip_check_adv_addr=False, accept_lower=False)
    fp.update_slot(index, *, state, priority, master, master_priority,
                   master_adver_int, master_down_ns, rx_settle, tx_settle,
                   delay_until_ns)                 # every keyword optional
    fp.set_source(index, src); fp.remove_slot(index); fp.remove_socket(sid)
    fp.arm_timer(index, kind, deadline_ns); fp.cancel_timer(index, kind)
    fp.timer_deadline(index, kind); fp.armed_deadline(index, kind)
    fp.send_advert(index, priority, now_ns=None); fp.flush()
    fp.on_readable(sid)                # loop.add_reader(fd, fp.on_readable, sid)
    fp.tick(now_ns=None, max_escalations=None) -> next deadline or None
                                      # drain, expire, settle, flush (at most
                                      # max_escalations timer escalations)
    fp.drain(now_ns=None); fp.next_deadline(); FastPath.clock()
    fp.inject(sid, packet, now_ns=None, *, src=None, dst=None, hop_limit=255)
    fp.take_settled(index) -> (last rx settle ns | None, last tx settle ns | None)
    fp.take_captured() -> [Sent(queued_ns, socket, slot, dst, packet), ...]
    fp.stats(); fp.slot_stats(index); fp.socket_stats(sid)

Escalations: `what` is ESCALATE_ADVERT (arg: a fastvrrp._packet.Advert over a
private copy of the packet: a valid advert the machine must judge, or a VRRPv2
advert whose Adver Int differs from ours, which the machine logs and counts),
ESCALATE_DROP (arg: (reason, Advert): a packet for this slot failed a check;
only the first of each reason per slot is escalated until the slot's state or
master changes, every one is counted here) or ESCALATE_TIMER (arg: the timer
kind code).  `now_ns` is the event's time: a received packet's is the time of
the receive (or tick); an expired timer's is its deadline when handled within
`late_slack_ns` of it (default: one wheel tick) and within half the slot's
advert interval, else the handling time.  So a Master re-arms at deadline +
Advertisement_Interval, with no drift from wake-up latency, and after a stall
it does not burst to catch up; a larger slack keeps the phases of a burst
of transitions handled late (issue 6: the engine's takeover).

Timers: kinds 0..7 per slot; 0 is Master_Down_Timer, 1 is Adver_Timer, the
others are opaque to C (always escalated).  One wheel (fastvrrp._wheel) holds
every timer; payload = slot << 32 | generation << 8 | kind, and the per-kind
generation makes an expiry that was cancelled or re-armed while its batch was
being handled a no-op.

Receiving: IPv4 raw sockets deliver the IP header (TTL, source, destination
from it); IPv6 takes the source from msg_name and the destination and Hop
Limit from IPV6_PKTINFO / IPV6_HOPLIMIT ancillary data (the socket must have
IPV6_RECVPKTINFO and IPV6_RECVHOPLIMIT on).  A socket serves one interface
and family: a 256-entry VRID -> slot table per socket.

Sending: IPv4 packets carry the IP header (the socket has IP_HDRINCL): the
prebuilt packet is copied into the socket's send queue and its Identification
(per slot, from 1, never 0) and header checksum patched (RFC 1624).  IPv6
packets are the VRRP message, sent to ff02::12 (scope: the socket's ifindex)
or the peer, with IPV6_PKTINFO (our source and ifindex); the Hop Limit is
the socket's (fastvrrp.daemon.sockets sets it).  One sendmmsg per socket per
flush; failures are counted, never raised.

Counters live in C and are read on demand; `python_escalations` counts every
call into Python, so "steady state never enters Python" is visible.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcmp, memcpy, memset
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

from fastvrrp._packet cimport (
    Advert, VRRP_CSUM_IPV6_PSEUDO_HEADER, VRRP_CSUM_MESSAGE_ONLY, VRRP_CSUM_PSEUDO_HEADER,
    VRRP_CSUM_PSEUDO_HEADER_GROUP, VRRP_CSUM_V2_MESSAGE, VRRP_DROP_AH, VRRP_DROP_CARP,
    VRRP_DROP_COUNT, VRRP_DROP_IP_HEADER, VRRP_DROP_IP_LENGTH, VRRP_DROP_NOT_VRRP,
    VRRP_DROP_OK, VRRP_DROP_TOO_SHORT, vrrp_advert, vrrp_build, vrrp_build_length,
    vrrp_build_spec, vrrp_check_instance, vrrp_checksum_update, vrrp_parse_ipv4,
    vrrp_parse_ipv6,
)
from fastvrrp._wheel cimport (
    Wheel, wheel_cancel, wheel_next_deadline, wheel_reschedule, wheel_schedule, wheel_t,
    wheel_advance,
)

import collections
import ipaddress
import socket as _socket

from fastvrrp import proto

# ----------------------------------------------------------------------------
# Batch I/O in plain C: the socket structs and CMSG macros are easier here.

cdef extern from *:
    """
    #include <sys/socket.h>
    #include <netinet/in.h>
    #include <errno.h>
    #include <string.h>
    #include <stdlib.h>
    #include <stdint.h>

    #define FP_CMSG_SPACE 128

    typedef struct {
        struct mmsghdr* msgs;
        struct iovec* iov;
        struct sockaddr_in6* names;      /* large enough for a sockaddr_in too */
        unsigned char* cmsgs;            /* n * FP_CMSG_SPACE */
        unsigned char* data;             /* n * bufsize (receive side only) */
        int n;
        int bufsize;
    } fp_mmsg;

    static void fp_mmsg_free(fp_mmsg* m) {
        free(m->msgs); free(m->iov); free(m->names); free(m->cmsgs); free(m->data);
        memset(m, 0, sizeof(*m));
    }

    /* n message headers; bufsize > 0 also allocates n receive buffers. */
    static int fp_mmsg_alloc(fp_mmsg* m, int n, int bufsize) {
        memset(m, 0, sizeof(*m));
        m->msgs = calloc((size_t)n, sizeof(struct mmsghdr));
        m->iov = calloc((size_t)n, sizeof(struct iovec));
        m->names = calloc((size_t)n, sizeof(struct sockaddr_in6));
        m->cmsgs = calloc((size_t)n, FP_CMSG_SPACE);
        if (bufsize > 0)
            m->data = malloc((size_t)n * (size_t)bufsize);
        if (!m->msgs || !m->iov || !m->names || !m->cmsgs || (bufsize > 0 && !m->data)) {
            fp_mmsg_free(m);
            return -1;
        }
        m->n = n;
        m->bufsize = bufsize;
        return 0;
    }

    /* recvmmsg(MSG_DONTWAIT) into the preallocated buffers: the number of
       messages, 0 when the socket is empty, -errno on error. */
    static int fp_rx(fp_mmsg* m, int fd, int n) {
        int i, r;
        if (n > m->n) n = m->n;
        for (i = 0; i < n; i++) {
            struct msghdr* h = &m->msgs[i].msg_hdr;
            m->iov[i].iov_base = m->data + (size_t)i * (size_t)m->bufsize;
            m->iov[i].iov_len = (size_t)m->bufsize;
            h->msg_name = &m->names[i];
            h->msg_namelen = sizeof(struct sockaddr_in6);
            h->msg_iov = &m->iov[i];
            h->msg_iovlen = 1;
            h->msg_control = m->cmsgs + (size_t)i * FP_CMSG_SPACE;
            h->msg_controllen = FP_CMSG_SPACE;
            h->msg_flags = 0;
            m->msgs[i].msg_len = 0;
        }
        do {
            r = recvmmsg(fd, m->msgs, (unsigned int)n, MSG_DONTWAIT, NULL);
        } while (r < 0 && errno == EINTR);
        if (r < 0)
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
        return r;
    }

    static inline unsigned char* fp_rx_data(fp_mmsg* m, int i) {
        return m->data + (size_t)i * (size_t)m->bufsize;
    }
    static inline int fp_rx_len(fp_mmsg* m, int i) { return (int)m->msgs[i].msg_len; }
    static inline int fp_rx_truncated(fp_mmsg* m, int i) {
        return (m->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    }

    /* IPv6 metadata of message i: source from msg_name, destination and
       ifindex from IPV6_PKTINFO, Hop Limit from IPV6_HOPLIMIT.  Returns
       bit 1 when pktinfo was present, bit 2 when the hop limit was. */
    static int fp_rx_meta6(fp_mmsg* m, int i, uint8_t* src, uint8_t* dst, int* hop,
                           int* ifindex) {
        struct msghdr* h = &m->msgs[i].msg_hdr;
        struct cmsghdr* c;
        int found = 0;
        memcpy(src, &m->names[i].sin6_addr, 16);
        for (c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
            if (c->cmsg_level != IPPROTO_IPV6)
                continue;
            if (c->cmsg_type == IPV6_PKTINFO
                    && c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
                struct in6_pktinfo pi;
                memcpy(&pi, CMSG_DATA(c), sizeof(pi));
                memcpy(dst, &pi.ipi6_addr, 16);
                *ifindex = (int)pi.ipi6_ifindex;
                found |= 1;
            } else if (c->cmsg_type == IPV6_HOPLIMIT && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
                int v;
                memcpy(&v, CMSG_DATA(c), sizeof(int));
                *hop = v;
                found |= 2;
            }
        }
        return found;
    }

    /* Message i of a send batch: IPv4 (the packet carries its IP header). */
    static void fp_tx_v4(fp_mmsg* m, int i, unsigned char* pkt, size_t len, const uint8_t* dst) {
        struct sockaddr_in* sin = (struct sockaddr_in*)&m->names[i];
        struct msghdr* h = &m->msgs[i].msg_hdr;
        memset(sin, 0, sizeof(*sin));
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, dst, 4);
        m->iov[i].iov_base = pkt;
        m->iov[i].iov_len = len;
        h->msg_name = sin;
        h->msg_namelen = sizeof(struct sockaddr_in);
        h->msg_iov = &m->iov[i];
        h->msg_iovlen = 1;
        h->msg_control = NULL;
        h->msg_controllen = 0;
        h->msg_flags = 0;
    }

    /* Message i of a send batch: IPv6 (the VRRP message), RFC 5798 §5.1.2:
       our (link-local) source and the interface by IPV6_PKTINFO.  The Hop
       Limit is the socket's (IPV6_MULTICAST_HOPS 255 / unicast_ttl). */
    static void fp_tx_v6(fp_mmsg* m, int i, unsigned char* pkt, size_t len, const uint8_t* dst,
                         int ifindex, const uint8_t* src) {
        struct sockaddr_in6* sin6 = &m->names[i];
        struct msghdr* h = &m->msgs[i].msg_hdr;
        unsigned char* ctl = m->cmsgs + (size_t)i * FP_CMSG_SPACE;
        struct cmsghdr* c;
        struct in6_pktinfo pi;
        memset(sin6, 0, sizeof(*sin6));
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, dst, 16);
        sin6->sin6_scope_id = (uint32_t)ifindex;
        m->iov[i].iov_base = pkt;
        m->iov[i].iov_len = len;
        memset(ctl, 0, CMSG_SPACE(sizeof(pi)));
        h->msg_name = sin6;
        h->msg_namelen = sizeof(struct sockaddr_in6);
        h->msg_iov = &m->iov[i];
        h->msg_iovlen = 1;
        h->msg_control = ctl;
        h->msg_controllen = CMSG_SPACE(sizeof(pi));
        h->msg_flags = 0;
        c = CMSG_FIRSTHDR(h);
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(pi));
        memset(&pi, 0, sizeof(pi));
        memcpy(&pi.ipi6_addr, src, 16);
        pi.ipi6_ifindex = (unsigned int)ifindex;
        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    }

    /* sendmmsg of messages [start, start + count): how many left, or -errno. */
    static int fp_tx_send(fp_mmsg* m, int fd, int start, int count, int flags) {
        int r;
        do {
            r = sendmmsg(fd, m->msgs + start, (unsigned int)count, flags);
        } while (r < 0 && errno == EINTR);
        return r < 0 ? -errno : r;
    }

    static inline int fp_msg_dontroute(void) { return MSG_DONTROUTE; }
    """
    ctypedef struct fp_mmsg:
        int n
        int bufsize
    void fp_mmsg_free(fp_mmsg* m) nogil
    int fp_mmsg_alloc(fp_mmsg* m, int n, int bufsize) nogil
    int fp_rx(fp_mmsg* m, int fd, int n) nogil
    unsigned char* fp_rx_data(fp_mmsg* m, int i) nogil
    int fp_rx_len(fp_mmsg* m, int i) nogil
    int fp_rx_truncated(fp_mmsg* m, int i) nogil
    int fp_rx_meta6(fp_mmsg* m, int i, uint8_t* src, uint8_t* dst, int* hop, int* ifindex) nogil
    void fp_tx_v4(fp_mmsg* m, int i, unsigned char* pkt, size_t length, const uint8_t* dst) nogil
    void fp_tx_v6(fp_mmsg* m, int i, unsigned char* pkt, size_t length, const uint8_t* dst,
                  int ifindex, const uint8_t* src) nogil
    int fp_tx_send(fp_mmsg* m, int fd, int start, int count, int flags) nogil
    int fp_msg_dontroute() nogil

# ----------------------------------------------------------------------------
# Constants (fastvrrp.reference.fastpath mirrors them; tests check they agree)

cdef enum:
    FP_TIMERS = 8
    FP_TIMER_MASTER_DOWN = 0            # RFC 5798 §6.2 Master_Down_Timer
    FP_TIMER_ADVER = 1                  # RFC 5798 §6.2 Adver_Timer
    # Drop reasons beyond the codec's (VRRP_DROP_* are 0..17):
    FP_DROP_INTERVAL = 18               # RFC 3768 §7.1: v2 Adver Int != ours (escalated as an advert)
    FP_DROP_NOT_PEER = 19               # unicast: the source is not a configured peer
    FP_DROP_DESTINATION = 20            # multicast instance got unicast, or the reverse
    FP_DROP_UNKNOWN_VRID = 21           # no slot for this VRID on this socket
    FP_DROP_NO_PKTINFO = 22             # IPv6: no IPV6_PKTINFO ancillary data (no destination)
    FP_DROP_TRUNCATED = 23              # larger than the receive buffer
    FP_REASONS = 24
    FP_ESC_ADVERT = 1
    FP_ESC_DROP = 2
    FP_ESC_TIMER = 3
    FP_F_RX_SETTLE = 1
    FP_F_TX_SETTLE = 2
    FP_F_ACCEPT_LOWER = 4
    FP_F_SKIP_ADDR = 8
    FP_F_CHECK_PEERS = 16
    FP_F_HAS_MASTER = 32
    FP_STATE_BACKUP = 1                 # fastvrrp.vrrp.State values
    FP_STATE_MASTER = 2
    FP_QUEUE = 256                      # send queue entries per socket
    FP_ARENA = 65536                    # send queue bytes per socket
    FP_RX_BUF = 4160                    # one received packet: 8 + 255 * 16 (IPv6) fits
    FP_EXPIRED = 1024                   # expiries taken from the wheel at once
    FP_MAX_SLOTS = 1 << 20
    FP_MAX_SOCKETS = 4096
    FP_MAX_PACKET = 4096
    FP_GEN_MASK = 0xFFFFFF

TIMER_MASTER_DOWN = FP_TIMER_MASTER_DOWN
TIMER_ADVER = FP_TIMER_ADVER
TIMER_KINDS = FP_TIMERS
ESCALATE_ADVERT = FP_ESC_ADVERT
ESCALATE_DROP = FP_ESC_DROP
ESCALATE_TIMER = FP_ESC_TIMER
DROP_INTERVAL = FP_DROP_INTERVAL
DROP_NOT_PEER = FP_DROP_NOT_PEER
DROP_DESTINATION = FP_DROP_DESTINATION
DROP_UNKNOWN_VRID = FP_DROP_UNKNOWN_VRID
DROP_NO_PKTINFO = FP_DROP_NO_PKTINFO
DROP_TRUNCATED = FP_DROP_TRUNCATED
REASONS = proto.DROP_REASONS + ("interval", "not_peer", "destination", "unknown_vrid",
                                "no_pktinfo", "truncated")
assert len(REASONS) == FP_REASONS and len(proto.DROP_REASONS) == VRRP_DROP_COUNT

Sent = collections.namedtuple("Sent", "queued_ns socket slot dst packet")
Sent.__doc__ = "One packet the capture mode collected instead of sending it."

# RFC 5798 §5.1.1.2 / §5.1.2.2
cdef uint8_t GROUP4[16]
GROUP4[:] = [224, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
cdef uint8_t GROUP6[16]
GROUP6[:] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12]
cdef uint8_t ZERO2[2]
ZERO2[:] = [0, 0]


# ----------------------------------------------------------------------------
# The tables

ctypedef struct fp_slot:
    int32_t used
    int32_t rx_sock                 # socket id receiving for this slot, -1 none
    int32_t tx_sock                 # socket id sending for it, -1 none
    uint8_t family                  # 4 or 6
    uint8_t version                 # RFC 5798 §5.2.1
    uint8_t vrid                    # RFC 5798 §5.2.3
    uint8_t state                   # fastvrrp.vrrp.State value
    uint8_t effective               # effective priority: the prebuilt packets carry it
    uint8_t master_prio             # priority of the known master
    uint8_t auth_type               # RFC 3768 §5.3.6
    uint8_t ttl                     # IPv4 TTL sent (RFC 5798 §5.1.1.3; unicast_ttl)
    uint8_t flags                   # FP_F_*
    uint8_t csum_form               # VRRP_CSUM_* used to build
    uint16_t naddr                  # RFC 5798 §5.2.5 Count IPvX Addr (ours)
    uint16_t advert_int_cs          # Advertisement_Interval, configured
    uint16_t learned_int            # the Adver Int field a settled advert carries
    uint16_t ip_id                  # IPv4 Identification of the last packet sent
    uint16_t npeers                 # unicast peers (0: multicast)
    uint16_t pkt_len                # length of one prebuilt packet
    uint8_t master[16]              # source address of the known master
    uint8_t src[16]                 # our source address
    uint8_t group[16]               # multicast destination
    uint8_t auth_pass[8]            # RFC 3768 §5.3.10, NUL-padded
    int64_t advert_int_ns
    int64_t master_down_ns          # RFC 5798 §6.1 Master_Down_Interval
    int64_t delay_until_ns          # vrrp_startup_delay end: packets before it are ignored
    int64_t rx_settled_at           # last settle since take_settled(), -1 none
    int64_t tx_settled_at
    uint8_t* addrs                  # naddr * (4 | 16) bytes, config order
    uint8_t* peers                  # npeers * 16 bytes
    uint8_t* pkts                   # max(npeers, 1) prebuilt packets of pkt_len bytes
    uint64_t handle[FP_TIMERS]      # wheel handles, 0 when not pending
    int64_t deadline[FP_TIMERS]     # last armed deadline, -1 never
    uint32_t gen[FP_TIMERS]
    uint32_t escalated              # drop reasons escalated since the last state/master change
    uint64_t rx_adverts             # keepalived advert_rcvd
    uint64_t rx_settled
    uint64_t rx_ignored             # INIT/FAULT/STOP or startup delay: dropped unseen
    uint64_t tx_adverts             # keepalived advert_sent (one per advert, not per peer)
    uint64_t tx_settled
    uint64_t tx_packets             # queued packets (per peer)
    uint64_t tx_errors
    uint64_t escalations
    uint64_t drops[FP_REASONS]

ctypedef struct fp_qent:
    int32_t slot
    uint32_t off
    uint32_t length
    uint8_t dst[16]
    int64_t queued_ns

ctypedef struct fp_sock:
    int32_t used
    int32_t fd
    int32_t ifindex
    uint8_t family
    uint8_t check_ttl
    uint8_t receive
    uint8_t dontroute
    int32_t vrid_map[256]           # VRID -> slot index, -1 none
    fp_qent* queue
    uint8_t* arena
    int32_t qn
    uint32_t arena_used
    int32_t last_errno
    uint64_t rx_batches             # recvmmsg calls that returned packets
    uint64_t rx_packets
    uint64_t rx_errors
    uint64_t tx_batches             # sendmmsg calls
    uint64_t tx_packets
    uint64_t tx_errors
    uint64_t drops[FP_REASONS]      # packets no slot took (and socket-level failures)


cdef inline int64_t _mono_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef inline bint _is_multicast(const uint8_t* addr, int family) noexcept nogil:
    if family == 4:
        return (addr[0] & 0xF0) == 0xE0          # 224.0.0.0/4
    return addr[0] == 0xFF                       # ff00::/8


cdef inline void _put_be16(uint8_t* p, uint16_t v) noexcept nogil:
    p[0] = <uint8_t>(v >> 8)
    p[1] = <uint8_t>(v & 0xFF)


cdef inline uint16_t _be16(const uint8_t* p) noexcept nogil:
    return <uint16_t>((<uint16_t>p[0] << 8) | p[1])


# ----------------------------------------------------------------------------
# Argument helpers (every bad input is a clear error)

cdef object _int_arg(object value, str name, object lo, object hi):
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("%s must be an integer, not %r" % (name, value))
    if not lo <= value <= hi:
        raise ValueError("%s must be in %d..%d, not %d" % (name, lo, hi, value))
    return value


cdef bytes _packed(object addr, int family, str name):
    """An address (str, ipaddress object or packed bytes) as packed bytes."""
    cdef int size = 4 if family == 4 else 16
    if isinstance(addr, (bytes, bytearray, memoryview)):
        raw = bytes(addr)
        if len(raw) != size:
            raise ValueError("%s must be %d packed bytes for IPv%d, not %d bytes"
                             % (name, size, family, len(raw)))
        return raw
    if isinstance(addr, str):
        try:
            addr = ipaddress.ip_address(addr)
        except ValueError:
            raise ValueError("%s %r is not an IP address" % (name, addr)) from None
    if not isinstance(addr, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        raise TypeError("%s must be str, bytes or an ipaddress object, not %r" % (name, addr))
    if addr.version != family:
        raise ValueError("%s %s is not IPv%d" % (name, addr, family))
    return addr.packed


cdef bytes _packed_list(object addresses, int family, str name):
    if isinstance(addresses, (bytes, bytearray, memoryview)):
        raw = bytes(addresses)
        if len(raw) % (4 if family == 4 else 16):
            raise ValueError("%s: %d bytes is not a whole number of IPv%d addresses"
                             % (name, len(raw), family))
        return raw
    if isinstance(addresses, str):
        raise TypeError("%s must be a sequence of addresses, not a string" % name)
    return b"".join([_packed(a, family, name) for a in addresses])


# ----------------------------------------------------------------------------

@cython.final
cdef class FastPath:
    """The slot table, the settle logic and the batch I/O.  See the module docstring."""

    cdef Wheel _wheel
    cdef wheel_t* core
    cdef fp_slot* slots
    cdef Py_ssize_t nslots
    cdef fp_sock* socks
    cdef Py_ssize_t nsocks
    cdef fp_mmsg rx
    cdef fp_mmsg tx
    cdef uint64_t* expired
    cdef int rx_batch
    cdef int drain_cap
    cdef int64_t late_slack
    cdef int64_t now
    cdef bint capture
    cdef int busy
    cdef object _escalate
    cdef object _pending_exc
    cdef list _captured
    # global counters
    cdef uint64_t c_escalations
    cdef uint64_t c_escalation_errors
    cdef uint64_t c_rx_packets
    cdef uint64_t c_rx_batches
    cdef uint64_t c_rx_settled
    cdef uint64_t c_rx_wakeups
    cdef uint64_t c_tx_packets
    cdef uint64_t c_tx_batches
    cdef uint64_t c_tx_settled
    cdef uint64_t c_tx_errors
    cdef uint64_t c_expiries
    cdef uint64_t c_stale_expiries
    cdef uint64_t c_ticks

    def __cinit__(self, tick_ns=1_000_000, capacity=1024, *, capture=False, late_slack_ns=None,
                  rx_batch=64, drain_cap=4096):
        self.slots = NULL
        self.socks = NULL
        self.expired = NULL
        memset(&self.rx, 0, sizeof(fp_mmsg))
        memset(&self.tx, 0, sizeof(fp_mmsg))
        self._wheel = Wheel(tick_ns, capacity)
        self.core = &self._wheel.core
        self.rx_batch = _int_arg(rx_batch, "rx_batch", 1, 1024)
        self.drain_cap = _int_arg(drain_cap, "drain_cap", 1, 1 << 20)
        if late_slack_ns is None:
            late_slack_ns = self.core.tick_ns
        self.late_slack = _int_arg(late_slack_ns, "late_slack_ns", 0, 10 ** 12)
        self.capture = bool(capture)
        self._captured = []
        self._escalate = None
        self._pending_exc = None
        self.now = 0
        self.busy = 0
        self.expired = <uint64_t*>malloc(FP_EXPIRED * sizeof(uint64_t))
        self.socks = <fp_sock*>calloc(FP_MAX_SOCKETS, sizeof(fp_sock))
        if self.expired == NULL or self.socks == NULL:
            raise MemoryError("cannot allocate the fast path tables")
        if fp_mmsg_alloc(&self.rx, self.rx_batch, FP_RX_BUF) != 0 or \
                fp_mmsg_alloc(&self.tx, FP_QUEUE, 0) != 0:
            raise MemoryError("cannot allocate the batch I/O buffers")

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.slots != NULL:
            for i in range(self.nslots):
                self._free_slot_memory(&self.slots[i])
            free(self.slots)
        if self.socks != NULL:
            for i in range(self.nsocks):
                free(self.socks[i].queue)
                free(self.socks[i].arena)
            free(self.socks)
        free(self.expired)
        fp_mmsg_free(&self.rx)
        fp_mmsg_free(&self.tx)

    cdef void _free_slot_memory(self, fp_slot* s) noexcept:
        free(s.addrs)
        free(s.peers)
        free(s.pkts)
        s.addrs = NULL
        s.peers = NULL
        s.pkts = NULL

    # ------------------------------------------------------------ checking

    cdef fp_slot* _slot(self, object index) except NULL:
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError("slot index must be an integer, not %r" % (index,))
        if not 0 <= index < self.nslots or not self.slots[<Py_ssize_t>index].used:
            raise KeyError("no slot %r is configured" % (index,))
        return &self.slots[<Py_ssize_t>index]

    cdef fp_sock* _sock(self, object sid) except NULL:
        if not isinstance(sid, int) or isinstance(sid, bool):
            raise TypeError("socket id must be an integer, not %r" % (sid,))
        if not 0 <= sid < self.nsocks or not self.socks[<Py_ssize_t>sid].used:
            raise KeyError("no socket %r is registered" % (sid,))
        return &self.socks[<Py_ssize_t>sid]

    cdef int _kind(self, object kind) except -1:
        return _int_arg(kind, "timer kind", 0, FP_TIMERS - 1)

    cdef int _not_busy(self, str what) except -1:
        if self.busy:
            raise RuntimeError("%s is not allowed while the fast path is dispatching "
                               "(from an escalation callback)" % what)
        return 0

    cdef int64_t _now_arg(self, object now_ns) except? -1:
        cdef int64_t now
        if now_ns is None:
            now = _mono_ns()
        else:
            now = _int_arg(now_ns, "now_ns", 0, 0x7FFFFFFFFFFFFFFF)
        if now < self.now:
            now = self.now                  # time never goes back
        self.now = now
        return now

    # ------------------------------------------------------------ set-up

    def set_escalation(self, callback):
        """callback(slot, what, now_ns, arg): called for every escalated event."""
        if callback is not None and not callable(callback):
            raise TypeError("the escalation callback must be callable, not %r" % (callback,))
        self._escalate = callback

    def add_socket(self, fd, family, *, ifindex=0, check_ttl=True, receive=True,
                   dontroute=False):
        """Register a raw socket (fd, or -1 for an inject/capture-only socket);
        returns its socket id.  The fast path never closes the fd.

        ifindex: the interface (IPv6 sends need it for the scope and
        IPV6_PKTINFO); check_ttl: False for unicast receive sockets (keepalived
        does not check the TTL of unicast adverts); receive: False for a
        send-only socket (never drained); dontroute: MSG_DONTROUTE on every
        sendmmsg (fastvrrp.daemon.sockets sets SO_DONTROUTE instead)."""
        cdef Py_ssize_t i, sid = -1
        cdef fp_sock* s
        self._not_busy("add_socket")
        fd = _int_arg(fd, "fd", -1, 0x7FFFFFFF)
        if family not in (4, 6):
            raise ValueError("family must be 4 or 6, not %r" % (family,))
        ifindex = _int_arg(ifindex, "ifindex", 0, 0x7FFFFFFF)
        for i in range(self.nsocks):
            if not self.socks[i].used:
                sid = i
                break
            if fd >= 0 and self.socks[i].fd == fd:
                raise ValueError("fd %d is already registered as socket %d" % (fd, i))
        if sid < 0:
            if self.nsocks >= FP_MAX_SOCKETS:
                raise ValueError("at most %d sockets" % FP_MAX_SOCKETS)
            sid = self.nsocks
            self.nsocks += 1
        s = &self.socks[sid]
        memset(s, 0, sizeof(fp_sock))
        s.queue = <fp_qent*>malloc(FP_QUEUE * sizeof(fp_qent))
        s.arena = <uint8_t*>malloc(FP_ARENA)
        if s.queue == NULL or s.arena == NULL:
            free(s.queue)
            free(s.arena)
            s.queue = NULL
            s.arena = NULL
            raise MemoryError("cannot allocate a send queue")
        s.used = 1
        s.fd = fd
        s.family = family
        s.ifindex = ifindex
        s.check_ttl = 1 if check_ttl else 0
        s.receive = 1 if receive else 0
        s.dontroute = 1 if dontroute else 0
        for i in range(256):
            s.vrid_map[i] = -1
        return sid

    def remove_socket(self, sid):
        """Unregister a socket no slot uses any more (its queue is dropped)."""
        cdef fp_sock* s = self._sock(sid)
        cdef Py_ssize_t i
        self._not_busy("remove_socket")
        for i in range(self.nslots):
            if self.slots[i].used and (self.slots[i].rx_sock == sid or self.slots[i].tx_sock == sid):
                raise ValueError("socket %d is still used by slot %d" % (sid, i))
        free(s.queue)
        free(s.arena)
        memset(s, 0, sizeof(fp_sock))

    def configure_slot(self, index, *, family, version, vrid, rx_socket, tx_socket, src,
                       addresses, advert_int_cs, auth_type=0, auth_pass=b"", peers=(),
                       check_peers=False, group=None, checksum_form=None, ttl=255,
                       skip_check_adv_addr=False, accept_lower=False):
        """Create (or reconfigure) slot `index`: one VRRP instance on one socket pair.

        src: our source address (IPv6: link-local); addresses: our VIPs in config
        order (RFC 5798 §5.2.9); peers: unicast peers (empty: multicast to
        `group`, default 224.0.0.18 / ff02::12); check_peers: accept adverts only
        from a peer.  A new slot starts in INIT (state 0), every packet ignored,
        no settle, until update_slot says otherwise.  Reconfiguring keeps the
        counters and the timers, and resets the known master.
        """
        cdef fp_slot* s
        cdef fp_slot tmp
        cdef Py_ssize_t i, idx, alen, naddr, npeers, cap, new_cap
        cdef bint fresh
        cdef bytes b_src, b_addrs, b_peers, b_group, b_pass
        cdef fp_slot* grown
        self._not_busy("configure_slot")
        idx = _int_arg(index, "slot index", 0, FP_MAX_SLOTS - 1)
        if family not in (4, 6):
            raise ValueError("family must be 4 or 6, not %r" % (family,))
        if version not in (2, 3):
            raise ValueError("version must be 2 or 3, not %r" % (version,))
        if version == 2 and family == 6:
            raise ValueError("VRRPv2 is IPv4 only (RFC 3768); use version 3 for IPv6")
        vrid = _int_arg(vrid, "vrid", 1, 255)
        if version == 2:
            advert_int_cs = _int_arg(advert_int_cs, "advert_int_cs", 100, 25500)
            if advert_int_cs % 100:
                raise ValueError("a VRRPv2 advert_int must be whole seconds (RFC 3768 §5.3.7)")
        else:
            advert_int_cs = _int_arg(advert_int_cs, "advert_int_cs", 1, 4095)
        if auth_type not in (0, 1):
            raise ValueError("auth_type must be 0 (none) or 1 (PASS), not %r" % (auth_type,))
        if version == 3 and auth_type:
            raise ValueError("VRRPv3 has no authentication (RFC 5798 §9)")
        if isinstance(auth_pass, str):
            auth_pass = auth_pass.encode()
        if not isinstance(auth_pass, (bytes, bytearray)) or len(auth_pass) > 8:
            raise ValueError("auth_pass must be at most 8 bytes")
        if auth_type == 0 and any(auth_pass):
            raise ValueError("auth_pass given without auth_type PASS")
        b_pass = bytes(auth_pass).ljust(8, b"\0")
        ttl = _int_arg(ttl, "ttl", 1, 255)
        rx_socket = _int_arg(rx_socket, "rx_socket", -1, FP_MAX_SOCKETS)
        tx_socket = _int_arg(tx_socket, "tx_socket", -1, FP_MAX_SOCKETS)
        for sid in (rx_socket, tx_socket):
            if sid >= 0 and self._sock(sid).family != family:
                raise ValueError("socket %d is not an IPv%d socket" % (sid, family))
        if rx_socket >= 0:
            other = self.socks[rx_socket].vrid_map[vrid]
            if other >= 0 and other != idx:
                raise ValueError("VRID %d on socket %d already belongs to slot %d"
                                 % (vrid, rx_socket, other))
        alen = 4 if family == 4 else 16
        b_src = _packed(src, family, "src")
        b_addrs = _packed_list(addresses, family, "addresses")
        naddr = len(b_addrs) // alen
        if not 1 <= naddr <= 255:
            raise ValueError("addresses must hold 1..255 addresses (RFC 5798 §5.2.5), not %d" % naddr)
        b_peers = b"".join([_packed(p, family, "peer").ljust(16, b"\0") for p in peers])
        npeers = len(b_peers) // 16
        if npeers > 1024:
            raise ValueError("at most 1024 unicast peers")
        if check_peers and not npeers:
            raise ValueError("check_peers needs unicast peers")
        b_group = (_packed(group, family, "group") if group is not None
                   else bytes(GROUP4[:4] if family == 4 else GROUP6[:16])).ljust(16, b"\0")
        if not _is_multicast(<const uint8_t*>PyBytes_AS_STRING(b_group), family):
            raise ValueError("group must be a multicast address")
        if version == 2:
            form = VRRP_CSUM_V2_MESSAGE
        elif family == 6:
            form = VRRP_CSUM_IPV6_PSEUDO_HEADER
        else:
            form = VRRP_CSUM_PSEUDO_HEADER if checksum_form is None else checksum_form
            if form not in (VRRP_CSUM_PSEUDO_HEADER, VRRP_CSUM_MESSAGE_ONLY,
                            VRRP_CSUM_PSEUDO_HEADER_GROUP):
                raise ValueError("checksum_form %r is not valid for VRRPv3 over IPv4" % (form,))
        if checksum_form is not None and form != checksum_form:
            raise ValueError("checksum_form %r is not valid for VRRPv%d over IPv%d"
                             % (checksum_form, version, family))

        # Grow the table; nothing below raises before the slot is consistent.
        if idx >= self.nslots:
            cap = self.nslots or 16
            while cap <= idx:
                cap *= 2
            if cap > FP_MAX_SLOTS:
                cap = FP_MAX_SLOTS
            # calloc, not realloc + memset: the slots not used yet stay untouched
            # zero pages, not resident memory (issue 6: 5000 instances in 8192 slots)
            grown = <fp_slot*>calloc(cap, sizeof(fp_slot))
            if grown == NULL:
                raise MemoryError("cannot grow the slot table to %d slots" % cap)
            if self.slots != NULL:
                memcpy(grown, self.slots, self.nslots * sizeof(fp_slot))
                free(self.slots)
            self.slots = grown
            self.nslots = cap
        s = &self.slots[idx]
        fresh = not s.used
        tmp = s[0]
        tmp.addrs = <uint8_t*>malloc(len(b_addrs))
        tmp.peers = <uint8_t*>malloc(len(b_peers) or 1)
        if tmp.addrs == NULL or tmp.peers == NULL:
            free(tmp.addrs)
            free(tmp.peers)
            raise MemoryError("cannot allocate slot %d" % idx)
        memcpy(tmp.addrs, PyBytes_AS_STRING(b_addrs), len(b_addrs))
        memcpy(tmp.peers, PyBytes_AS_STRING(b_peers), len(b_peers))
        tmp.pkts = NULL
        if fresh:
            tmp.state = 0
            tmp.effective = 100
            tmp.flags = 0
            tmp.delay_until_ns = -1
            tmp.rx_settled_at = -1
            tmp.tx_settled_at = -1
            for i in range(FP_TIMERS):
                tmp.handle[i] = 0
                tmp.deadline[i] = -1
        tmp.used = 1
        tmp.family = family
        tmp.version = version
        tmp.vrid = vrid
        tmp.auth_type = auth_type
        tmp.ttl = ttl
        tmp.csum_form = form
        tmp.naddr = naddr
        tmp.advert_int_cs = advert_int_cs
        tmp.advert_int_ns = <int64_t>advert_int_cs * 10000000
        tmp.learned_int = advert_int_cs // 100 if version == 2 else advert_int_cs
        tmp.npeers = npeers
        memset(tmp.src, 0, 16)
        memcpy(tmp.src, PyBytes_AS_STRING(b_src), alen)
        memcpy(tmp.group, PyBytes_AS_STRING(b_group), 16)
        memcpy(tmp.auth_pass, PyBytes_AS_STRING(b_pass), 8)
        memset(tmp.master, 0, 16)
        tmp.master_prio = 0
        tmp.flags &= ~(FP_F_HAS_MASTER | FP_F_RX_SETTLE | FP_F_SKIP_ADDR | FP_F_CHECK_PEERS
                       | FP_F_ACCEPT_LOWER)
        if skip_check_adv_addr:
            tmp.flags |= FP_F_SKIP_ADDR
        if check_peers:
            tmp.flags |= FP_F_CHECK_PEERS
        if accept_lower:
            tmp.flags |= FP_F_ACCEPT_LOWER
        tmp.escalated = 0
        if self._prebuild(&tmp) != 0:
            free(tmp.addrs)
            free(tmp.peers)
            free(tmp.pkts)
            raise ValueError("slot %d: cannot build its advert from this configuration" % idx)
        # Commit: drop the old memory and VRID registration, install the new.
        if not fresh:
            if s.rx_sock >= 0 and self.socks[s.rx_sock].vrid_map[s.vrid] == idx:
                self.socks[s.rx_sock].vrid_map[s.vrid] = -1
            self._free_slot_memory(s)
        tmp.rx_sock = rx_socket
        tmp.tx_sock = tx_socket
        s[0] = tmp
        if rx_socket >= 0:
            self.socks[rx_socket].vrid_map[vrid] = <int32_t>idx

    cdef int _prebuild(self, fp_slot* s) noexcept:
        """Build the advert(s) at the slot's effective priority into s.pkts
        (one per unicast peer, else one to the group).  0, or -1 on failure."""
        cdef vrrp_build_spec spec
        cdef Py_ssize_t n, i, ndest = s.npeers if s.npeers else 1
        cdef uint8_t* pkts
        self._fill_spec(s, &spec, s.effective, 0)
        n = vrrp_build_length(&spec)
        if n <= 0 or n > FP_MAX_PACKET:
            return -1
        pkts = <uint8_t*>malloc(n * ndest)
        if pkts == NULL:
            return -1
        for i in range(ndest):
            self._fill_spec(s, &spec, s.effective, i)
            if vrrp_build(&spec, pkts + i * n, n) != n:
                free(pkts)
                return -1
        free(s.pkts)
        s.pkts = pkts
        s.pkt_len = <uint16_t>n
        return 0

    cdef void _fill_spec(self, const fp_slot* s, vrrp_build_spec* spec, int priority,
                         Py_ssize_t dest) noexcept nogil:
        """The build spec of the slot's advert at `priority` to destination `dest`."""
        memset(spec, 0, sizeof(vrrp_build_spec))
        spec.family = s.family
        spec.version = s.version
        spec.vrid = s.vrid
        spec.priority = <uint8_t>priority
        spec.auth_type = s.auth_type
        spec.checksum_form = s.csum_form
        spec.ttl = s.ttl
        spec.ip_header = 1 if s.family == 4 else 0   # IPv4: IP_HDRINCL (keepalived)
        spec.adver_int = s.advert_int_cs // 100 if s.version == 2 else s.advert_int_cs
        spec.ident = 0
        spec.count = s.naddr
        spec.addresses = s.addrs
        memcpy(spec.auth_pass, s.auth_pass, 8)
        memcpy(spec.src, s.src, 16)
        if s.npeers:
            memcpy(spec.dst, s.peers + dest * 16, 16)
        else:
            memcpy(spec.dst, s.group, 16)

    def remove_slot(self, index):
        """Forget a slot: what it queued is sent first (a stopping instance's
        priority-0 advert), its timers are cancelled and its VRID released."""
        cdef fp_slot* s = self._slot(index)
        cdef int k
        self._not_busy("remove_slot")
        self._flush_all()
        s = &self.slots[<Py_ssize_t>index]
        for k in range(FP_TIMERS):
            self._cancel(index, k)
        if s.rx_sock >= 0 and self.socks[s.rx_sock].vrid_map[s.vrid] == index:
            self.socks[s.rx_sock].vrid_map[s.vrid] = -1
        self._free_slot_memory(s)
        memset(s, 0, sizeof(fp_slot))

    def set_source(self, index, src):
        """Our source address changed (RFC 5798 §5.1.1.1): rebuild the adverts."""
        cdef fp_slot* s = self._slot(index)
        cdef bytes b = _packed(src, s.family, "src")
        cdef uint8_t old[16]
        memcpy(old, s.src, 16)
        memcpy(s.src, PyBytes_AS_STRING(b), len(b))
        if self._prebuild(s) != 0:
            memcpy(s.src, old, 16)
            raise ValueError("slot %d: cannot build its advert from src %r" % (index, src))

    def update_slot(self, index, *, state=None, priority=None, master=False,
                    master_priority=None, master_adver_int=None, master_down_ns=None,
                    rx_settle=None, tx_settle=None, delay_until_ns=False):
        """Push the machine's state into the slot (the bridge calls it after
        every event).  Omitted keywords keep their value.

        state: a fastvrrp.vrrp.State value; priority: the effective priority
        (1..255: the prebuilt adverts are rebuilt when it changes); master: the
        known master's address (None: no master); master_priority: its
        priority; master_adver_int: the Adver Int field a settled advert must
        carry (v2: our advert_int in seconds; v3: Master_Adver_Interval in cs);
        master_down_ns: Master_Down_Interval; rx_settle / tx_settle: whether
        cases (a) / (b) may settle; delay_until_ns: end of vrrp_startup_delay
        (None: no delay).  A change of state or master re-arms the
        once-per-reason drop escalation.
        """
        cdef fp_slot* s = self._slot(index)
        cdef uint8_t new_master[16]
        cdef bint has_master = False, master_changed = False
        cdef int old_prio = s.effective
        if state is not None:
            state = _int_arg(state, "state", 0, 255)
        if priority is not None:
            priority = _int_arg(priority, "priority", 1, 255)
        if master_priority is not None:
            master_priority = _int_arg(master_priority, "master_priority", 0, 255)
        if master_adver_int is not None:
            master_adver_int = _int_arg(master_adver_int, "master_adver_int", 1, 4095)
        if master_down_ns is not None:
            master_down_ns = _int_arg(master_down_ns, "master_down_ns", 1, 10 ** 13)
        if delay_until_ns is not False and delay_until_ns is not None:
            delay_until_ns = _int_arg(delay_until_ns, "delay_until_ns", 0, 0x7FFFFFFFFFFFFFFF)
        memset(new_master, 0, 16)
        if master is not False:
            has_master = master is not None
            if has_master:
                b = _packed(master, s.family, "master")
                memcpy(new_master, PyBytes_AS_STRING(b), len(b))
            master_changed = (has_master != bool(s.flags & FP_F_HAS_MASTER)
                              or memcmp(new_master, s.master, 16) != 0)
        # Validated: apply.
        if state is not None and state != s.state:
            s.state = state
            s.escalated = 0
        if master is not False:
            memcpy(s.master, new_master, 16)
            if has_master:
                s.flags |= FP_F_HAS_MASTER
            else:
                s.flags &= ~FP_F_HAS_MASTER
            if master_changed:
                s.escalated = 0
        if master_priority is not None:
            s.master_prio = master_priority
        if master_adver_int is not None:
            s.learned_int = master_adver_int
        if master_down_ns is not None:
            s.master_down_ns = master_down_ns
        if rx_settle is not None:
            s.flags = (s.flags | FP_F_RX_SETTLE) if rx_settle else (s.flags & ~FP_F_RX_SETTLE)
        if tx_settle is not None:
            s.flags = (s.flags | FP_F_TX_SETTLE) if tx_settle else (s.flags & ~FP_F_TX_SETTLE)
        if delay_until_ns is not False:
            s.delay_until_ns = -1 if delay_until_ns is None else delay_until_ns
        if priority is not None and priority != old_prio:
            s.effective = priority
            if self._prebuild(s) != 0:
                s.effective = old_prio
                raise MemoryError("slot %d: cannot rebuild its advert" % index)

    # ------------------------------------------------------------ timers

    cdef int _arm(self, Py_ssize_t idx, int kind, int64_t deadline) noexcept:
        """Arm (or move) timer `kind` of slot idx; 0, or -1 when out of memory."""
        cdef fp_slot* s = &self.slots[idx]
        cdef uint64_t h
        if deadline < 0:
            deadline = 0
        if s.handle[kind] != 0 and wheel_reschedule(self.core, s.handle[kind], deadline) == 1:
            s.deadline[kind] = deadline
            return 0
        s.gen[kind] = (s.gen[kind] + 1) & FP_GEN_MASK
        h = wheel_schedule(self.core, deadline,
                           (<uint64_t>idx << 32) | (<uint64_t>s.gen[kind] << 8) | <uint64_t>kind)
        s.handle[kind] = h
        s.deadline[kind] = deadline
        return 0 if h != 0 else -1

    cdef bint _cancel(self, Py_ssize_t idx, int kind) noexcept:
        cdef fp_slot* s = &self.slots[idx]
        cdef bint pending = s.handle[kind] != 0 and wheel_cancel(self.core, s.handle[kind]) == 1
        s.handle[kind] = 0
        s.gen[kind] = (s.gen[kind] + 1) & FP_GEN_MASK   # an expiry already taken is stale
        return pending

    def arm_timer(self, index, kind, deadline_ns):
        """Arm timer `kind` (0..7) of a slot at deadline_ns, replacing it if armed."""
        self._slot(index)
        cdef int k = self._kind(kind)
        cdef int64_t d = _int_arg(deadline_ns, "deadline_ns", 0, 0x7FFFFFFFFFFFFFFF)
        if self._arm(index, k, d) != 0:
            raise MemoryError("cannot grow the timer wheel")

    def cancel_timer(self, index, kind):
        """Disarm timer `kind`; True when it was pending."""
        self._slot(index)
        return self._cancel(index, self._kind(kind))

    def timer_deadline(self, index, kind):
        """The deadline of a pending timer, None when it is not pending."""
        cdef fp_slot* s = self._slot(index)
        cdef int k = self._kind(kind)
        return s.deadline[k] if s.handle[k] != 0 else None

    def armed_deadline(self, index, kind):
        """The deadline the timer was last armed with (pending or expired), None if never."""
        cdef fp_slot* s = self._slot(index)
        cdef int k = self._kind(kind)
        return s.deadline[k] if s.deadline[k] >= 0 else None

    def next_deadline(self):
        """The earliest pending deadline (ns), None when no timer is armed."""
        cdef int64_t d = wheel_next_deadline(self.core)
        return None if d < 0 else d

    def take_settled(self, index):
        """(time of the last case-(a) settle, of the last case-(b) settle) since
        the previous call, None for none; resets both.  The bridge replays the
        last one into the machine before giving it any other event."""
        cdef fp_slot* s = self._slot(index)
        rx = s.rx_settled_at if s.rx_settled_at >= 0 else None
        tx = s.tx_settled_at if s.tx_settled_at >= 0 else None
        s.rx_settled_at = -1
        s.tx_settled_at = -1
        return rx, tx

    # ------------------------------------------------------------ sending

    cdef void _queue(self, Py_ssize_t idx, int priority, int64_t t) noexcept:
        """Queue slot idx's advert at `priority` (one packet per destination)."""
        cdef fp_slot* s = &self.slots[idx]
        cdef fp_sock* k
        cdef Py_ssize_t ndest, i, n
        cdef fp_qent* e
        cdef uint8_t* p
        cdef uint8_t ident[2]
        cdef vrrp_build_spec spec
        cdef uint16_t csum
        if s.tx_sock < 0:
            s.tx_errors += 1
            self.c_tx_errors += 1
            return
        k = &self.socks[s.tx_sock]
        ndest = s.npeers if s.npeers else 1
        s.tx_adverts += 1
        for i in range(ndest):
            n = s.pkt_len
            if k.qn >= FP_QUEUE or k.arena_used + n > FP_ARENA:
                self._flush_sock(s.tx_sock)
                s = &self.slots[idx]
            e = &k.queue[k.qn]
            p = k.arena + k.arena_used
            if priority == s.effective:
                memcpy(p, s.pkts + i * n, n)
            else:
                self._fill_spec(s, &spec, priority, i)
                if vrrp_build(&spec, p, FP_ARENA - k.arena_used) != n:
                    s.tx_errors += 1
                    self.c_tx_errors += 1
                    continue
            if s.family == 4:
                # RFC 791 Identification: per slot, from 1, never 0 (keepalived);
                # the header checksum follows by RFC 1624.
                s.ip_id = <uint16_t>(s.ip_id + 1)
                if s.ip_id == 0:
                    s.ip_id = 1
                _put_be16(ident, s.ip_id)
                csum = vrrp_checksum_update(_be16(p + 10), p + 4, ident, 2)
                p[4] = ident[0]
                p[5] = ident[1]
                _put_be16(p + 10, csum)
            e.slot = <int32_t>idx
            e.off = k.arena_used
            e.length = <uint32_t>n
            e.queued_ns = t
            if s.npeers:
                memcpy(e.dst, s.peers + i * 16, 16)
            else:
                memcpy(e.dst, s.group, 16)
            k.arena_used += <uint32_t>n
            k.qn += 1
            s.tx_packets += 1

    cdef void _capture(self, Py_ssize_t sid, int n) noexcept:
        """Capture mode: record the queued packets instead of sending them."""
        cdef fp_sock* k = &self.socks[sid]
        cdef fp_qent* e
        cdef int i
        try:
            for i in range(n):
                e = &k.queue[i]
                self._captured.append(Sent(
                    e.queued_ns, sid, e.slot,
                    PyBytes_FromStringAndSize(<char*>e.dst, 4 if k.family == 4 else 16),
                    PyBytes_FromStringAndSize(<char*>(k.arena + e.off), e.length)))
        except BaseException as exc:
            if self._pending_exc is None:
                self._pending_exc = exc
        k.tx_packets += n
        self.c_tx_packets += n

    cdef void _flush_sock(self, Py_ssize_t sid) noexcept:
        """One sendmmsg (more if the kernel takes part of the batch) for the queue of sid."""
        cdef fp_sock* k = &self.socks[sid]
        cdef int i, r, done, n = k.qn
        cdef fp_qent* e
        cdef int flags
        if n == 0:
            return
        k.qn = 0
        k.arena_used = 0
        if self.capture:
            self._capture(sid, n)
            return
        for i in range(n):
            e = &k.queue[i]
            if k.family == 4:
                fp_tx_v4(&self.tx, i, k.arena + e.off, e.length, e.dst)
            else:
                fp_tx_v6(&self.tx, i, k.arena + e.off, e.length, e.dst, k.ifindex,
                         self.slots[e.slot].src)
        flags = fp_msg_dontroute() if k.dontroute else 0
        done = 0
        while done < n:
            r = fp_tx_send(&self.tx, k.fd, done, n - done, flags)
            k.tx_batches += 1
            self.c_tx_batches += 1
            if r > 0:
                done += r
                k.tx_packets += r
                self.c_tx_packets += r
            else:
                # The first message failed (ENOBUFS, EAGAIN, ...): count it, skip it.
                k.last_errno = -r if r < 0 else 0
                k.tx_errors += 1
                self.c_tx_errors += 1
                e = &k.queue[done]
                if e.slot < self.nslots:
                    self.slots[e.slot].tx_errors += 1
                done += 1

    cdef void _flush_all(self) noexcept:
        cdef Py_ssize_t sid
        for sid in range(self.nsocks):
            if self.socks[sid].used and self.socks[sid].qn:
                self._flush_sock(sid)

    def send_advert(self, index, priority, now_ns=None):
        """Queue one ADVERTISEMENT of slot `index` at `priority` (0: stopping,
        RFC 5798 §6.4.3) for the next flush; counted as sent (advert_sent)."""
        cdef fp_slot* s = self._slot(index)
        cdef int prio = _int_arg(priority, "priority", 0, 255)
        cdef int64_t t = self.now if now_ns is None else _int_arg(now_ns, "now_ns", 0, 0x7FFFFFFFFFFFFFFF)
        self._queue(index, prio, t)
        self._raise_pending()

    def flush(self):
        """Send every queued packet now (one sendmmsg per socket)."""
        self._flush_all()
        self._raise_pending()

    def take_captured(self):
        """Capture mode: the packets 'sent' since the last call, in order."""
        out = self._captured
        self._captured = []
        return out

    # ------------------------------------------------------------ escalation

    cdef int _raise_pending(self) except -1:
        exc = self._pending_exc
        if exc is not None:
            self._pending_exc = None
            raise exc
        return 0

    cdef void _call(self, Py_ssize_t idx, int what, int64_t now, object arg) noexcept:
        """Call the escalation callback; an exception is kept and raised when
        the current batch is done (the batch itself always completes)."""
        cdef fp_slot* s = &self.slots[idx]
        s.escalations += 1
        self.c_escalations += 1
        if self._escalate is None:
            return
        try:
            self._escalate(idx, what, now, arg)
        except BaseException as exc:
            self.c_escalation_errors += 1
            if self._pending_exc is None:
                self._pending_exc = exc

    cdef void _out_of_memory(self) noexcept:
        """The wheel could not grow: the caller of this batch gets a MemoryError."""
        if self._pending_exc is None:
            self._pending_exc = MemoryError("the timer wheel cannot grow: an Adver_Timer was lost")

    cdef object _advert_object(self, const vrrp_advert* adv, const uint8_t* pkt, Py_ssize_t n):
        cdef bytes copy = PyBytes_FromStringAndSize(<const char*>pkt, n)
        return Advert.from_rec(adv, copy, <const uint8_t*>PyBytes_AS_STRING(copy), n)

    cdef void _escalate_packet(self, Py_ssize_t idx, int what, int reason, int64_t now,
                               const vrrp_advert* adv, const uint8_t* pkt,
                               Py_ssize_t n) noexcept:
        try:
            obj = self._advert_object(adv, pkt, n)
            arg = obj if what == FP_ESC_ADVERT else (reason, obj)
        except BaseException as exc:
            if self._pending_exc is None:
                self._pending_exc = exc
            return
        self._call(idx, what, now, arg)

    # ------------------------------------------------------------ receiving

    cdef void _drop(self, Py_ssize_t idx, int reason, int64_t now, const vrrp_advert* adv,
                    const uint8_t* pkt, Py_ssize_t n) noexcept:
        """A packet for slot idx failed a check: count it; escalate the first of
        its reason since the last state or master change (for the log)."""
        cdef fp_slot* s = &self.slots[idx]
        cdef uint32_t bit = <uint32_t>1 << reason
        s.drops[reason] += 1
        if s.escalated & bit:
            return
        s.escalated |= bit
        self._escalate_packet(idx, FP_ESC_DROP if reason != FP_DROP_INTERVAL else FP_ESC_ADVERT,
                              reason, now, adv, pkt, n)

    cdef void _rx(self, Py_ssize_t sid, const uint8_t* pkt, Py_ssize_t n, const uint8_t* src6,
                  const uint8_t* dst6, int hop, int64_t now) noexcept:
        """One received packet: parse, validate, settle case (a) or escalate."""
        cdef fp_sock* k = &self.socks[sid]
        cdef fp_slot* s
        cdef vrrp_advert adv
        cdef int r, alen
        cdef int32_t idx
        cdef Py_ssize_t i
        cdef const uint8_t* auth
        cdef bint found
        k.rx_packets += 1
        self.c_rx_packets += 1
        if k.family == 4:
            r = vrrp_parse_ipv4(pkt, n, k.check_ttl, &adv)
        else:
            r = vrrp_parse_ipv6(pkt, n, src6, dst6, hop, k.check_ttl, &adv)
        if r == VRRP_DROP_TOO_SHORT or r == VRRP_DROP_IP_HEADER or r == VRRP_DROP_IP_LENGTH \
                or r == VRRP_DROP_NOT_VRRP or r == VRRP_DROP_AH or r == VRRP_DROP_CARP:
            k.drops[r] += 1                  # not (or not enough of) a VRRP advert
            return
        idx = k.vrid_map[adv.vrid]
        if idx < 0:
            k.drops[FP_DROP_UNKNOWN_VRID] += 1
            return
        s = &self.slots[idx]
        # keepalived: packets are ignored in INIT/FAULT and during vrrp_startup_delay.
        if (s.state != FP_STATE_BACKUP and s.state != FP_STATE_MASTER) or now < s.delay_until_ns:
            s.rx_ignored += 1
            return
        if r != VRRP_DROP_OK:
            self._drop(idx, r, now, &adv, pkt, n)
            return
        auth = pkt + adv.auth_offset if adv.auth_offset else NULL
        r = vrrp_check_instance(&adv, auth, s.version, s.auth_type, s.auth_pass)
        if r != VRRP_DROP_OK:
            self._drop(idx, r, now, &adv, pkt, n)
            return
        # keepalived vrrp_check_packet: multicast instances take multicast, unicast unicast.
        if _is_multicast(adv.dst, s.family) == (s.npeers != 0):
            self._drop(idx, FP_DROP_DESTINATION, now, &adv, pkt, n)
            return
        alen = 4 if s.family == 4 else 16
        if s.flags & FP_F_CHECK_PEERS:
            found = False
            for i in range(s.npeers):
                if memcmp(s.peers + i * 16, adv.src, alen) == 0:
                    found = True
                    break
            if not found:
                self._drop(idx, FP_DROP_NOT_PEER, now, &adv, pkt, n)
                return
        if s.version == 2 and <int>adv.adver_int * 100 != s.advert_int_cs:
            # RFC 3768 §7.1 MUST discard; the machine logs and counts the first.
            self._drop(idx, FP_DROP_INTERVAL, now, &adv, pkt, n)
            return
        s.rx_adverts += 1                    # keepalived advert_rcvd
        # Case (a): RFC 5798 §6.4.2 Backup, an advert that changes nothing.
        if (s.state == FP_STATE_BACKUP
                and (s.flags & (FP_F_RX_SETTLE | FP_F_HAS_MASTER)) == (FP_F_RX_SETTLE | FP_F_HAS_MASTER)
                and adv.priority != 0
                and adv.priority == s.master_prio
                and (adv.priority >= s.effective or (s.flags & FP_F_ACCEPT_LOWER))
                and adv.adver_int == s.learned_int
                and memcmp(adv.src, s.master, alen) == 0
                and adv.count == s.naddr
                and ((s.flags & FP_F_SKIP_ADDR)
                     or memcmp(pkt + adv.addr_offset, s.addrs, adv.addr_length) == 0)
                and s.handle[FP_TIMER_MASTER_DOWN] != 0):
            if self._arm(idx, FP_TIMER_MASTER_DOWN, now + s.master_down_ns) == 0:
                s.rx_settled += 1
                self.c_rx_settled += 1
                s.rx_settled_at = now
                return
        self._escalate_packet(idx, FP_ESC_ADVERT, 0, now, &adv, pkt, n)

    cdef Py_ssize_t _drain_sock(self, Py_ssize_t sid, int64_t now) noexcept:
        """recvmmsg(MSG_DONTWAIT) until the socket is empty or drain_cap packets."""
        cdef fp_sock* k = &self.socks[sid]
        cdef int r, i, hop, ifindex, found, length
        cdef Py_ssize_t total = 0
        cdef uint8_t src6[16]
        cdef uint8_t dst6[16]
        cdef int fd = k.fd
        cdef int family = k.family
        while total < self.drain_cap:
            r = fp_rx(&self.rx, fd, self.rx_batch)
            k = &self.socks[sid]
            if r <= 0:
                if r < 0:
                    k.rx_errors += 1
                    k.last_errno = -r
                break
            k.rx_batches += 1
            self.c_rx_batches += 1
            for i in range(r):
                length = fp_rx_len(&self.rx, i)
                if fp_rx_truncated(&self.rx, i):
                    k = &self.socks[sid]
                    k.rx_packets += 1
                    self.c_rx_packets += 1
                    k.drops[FP_DROP_TRUNCATED] += 1
                    continue
                if family == 6:
                    hop = 0
                    ifindex = 0
                    memset(dst6, 0, 16)
                    found = fp_rx_meta6(&self.rx, i, src6, dst6, &hop, &ifindex)
                    if not (found & 1):
                        k = &self.socks[sid]
                        k.rx_packets += 1
                        self.c_rx_packets += 1
                        k.drops[FP_DROP_NO_PKTINFO] += 1
                        continue
                    self._rx(sid, fp_rx_data(&self.rx, i), length, src6, dst6, hop, now)
                else:
                    self._rx(sid, fp_rx_data(&self.rx, i), length, NULL, NULL, 0, now)
            total += r
            if not self.socks[sid].used or r < self.rx_batch:
                break
        return total

    cdef Py_ssize_t _drain_all(self, int64_t now) noexcept:
        cdef Py_ssize_t sid, total = 0
        for sid in range(self.nsocks):
            if self.socks[sid].used and self.socks[sid].receive and self.socks[sid].fd >= 0:
                total += self._drain_sock(sid, now)
        return total

    # ------------------------------------------------------------ expiries

    cdef void _expire(self, uint64_t payload, int64_t now) noexcept:
        cdef Py_ssize_t idx = <Py_ssize_t>(payload >> 32)
        cdef uint32_t gen = <uint32_t>((payload >> 8) & FP_GEN_MASK)
        cdef int kind = <int>(payload & 0xFF)
        cdef fp_slot* s
        cdef int64_t t, d
        if idx >= self.nslots or kind >= FP_TIMERS:
            self.c_stale_expiries += 1
            return
        s = &self.slots[idx]
        if not s.used or s.gen[kind] != gen:
            self.c_stale_expiries += 1       # cancelled or re-armed since it was taken
            return
        s.handle[kind] = 0
        self.c_expiries += 1
        d = s.deadline[kind]
        # handled at its deadline when late by less than the slack (and than
        # half the slot's advert interval: a master never bursts to catch up)
        t = d if (now - d < self.late_slack and now - d < s.advert_int_ns // 2) else now
        # Case (b): RFC 5798 §6.4.3 Adver_Timer fires: send an ADVERTISEMENT, reset the timer.
        if kind == FP_TIMER_ADVER and s.state == FP_STATE_MASTER and (s.flags & FP_F_TX_SETTLE):
            self._queue(idx, s.effective, t)
            s = &self.slots[idx]
            if self._arm(idx, FP_TIMER_ADVER, t + s.advert_int_ns) != 0:
                self._out_of_memory()
            s.tx_settled += 1
            self.c_tx_settled += 1
            s.tx_settled_at = t
            return
        self._call(idx, FP_ESC_TIMER, t, kind)

    cdef void _run_timers(self, int64_t now, int64_t budget) noexcept:
        """Expire the due timers; with budget >= 0, stop once `budget` of them
        escalated into Python (the rest stay due, in order, for the next call)."""
        cdef Py_ssize_t n, i, take
        cdef int rounds = 0
        cdef int64_t d
        cdef uint64_t start = self.c_escalations
        while rounds < 64:
            d = wheel_next_deadline(self.core)
            if d < 0 or d > now:
                break
            take = FP_EXPIRED
            if budget >= 0:
                # every expiry escalates at most once: never take more than is left
                if <int64_t>(self.c_escalations - start) >= budget:
                    break
                if budget - <int64_t>(self.c_escalations - start) < take:
                    take = <Py_ssize_t>(budget - <int64_t>(self.c_escalations - start))
            rounds += 1
            n = wheel_advance(self.core, now, self.expired, take)
            for i in range(n):
                self._expire(self.expired[i], now)

    # ------------------------------------------------------------ driving

    cdef int _enter(self, str what) except -1:
        if self.busy:
            raise RuntimeError("%s called from inside an escalation callback" % what)
        self.busy = 1
        return 0

    cdef int _leave(self) except -1:
        self.busy = 0
        self._flush_all()
        self._raise_pending()
        return 0

    def tick(self, now_ns=None, max_escalations=None):
        """Drain every receive socket, expire the due timers (settling or
        escalating each), flush the send queues; returns the next deadline.
        `max_escalations`: stop expiring once that many timers escalated into
        Python (the others stay due: the next deadline is then <= now), so a
        burst of transitions leaves the loop to other work between calls."""
        cdef int64_t now
        cdef int64_t d
        cdef int64_t budget = -1
        if max_escalations is not None:
            budget = _int_arg(max_escalations, "max_escalations", 1, 0x7FFFFFFF)
        self._enter("tick")
        try:
            now = self._now_arg(now_ns)
            self.c_ticks += 1
            self._drain_all(now)
            self._run_timers(now, budget)
        finally:
            self._leave()
        d = wheel_next_deadline(self.core)
        return None if d < 0 else d

    def on_readable(self, sid):
        """Readiness callback: loop.add_reader(fd, fp.on_readable, sid)."""
        cdef int64_t now
        cdef fp_sock* k = self._sock(sid)
        self._enter("on_readable")
        try:
            now = self._now_arg(None)
            self.c_rx_wakeups += 1
            if k.fd >= 0:
                self._drain_sock(sid, now)
        finally:
            self._leave()

    def drain(self, now_ns=None):
        """Drain every receive socket now; returns the packets read."""
        cdef Py_ssize_t n
        self._enter("drain")
        try:
            n = self._drain_all(self._now_arg(now_ns))
        finally:
            self._leave()
        return n

    def inject(self, sid, packet, now_ns=None, *, src=None, dst=None, hop_limit=255):
        """Process `packet` as if socket `sid` received it (the test seam).

        IPv4: the packet with its IP header.  IPv6: the VRRP message, with its
        src and dst addresses and Hop Limit (the ancillary data)."""
        cdef fp_sock* k = self._sock(sid)
        cdef bytes data, b_src, b_dst
        cdef int hop = 255
        cdef int64_t now
        if not isinstance(packet, (bytes, bytearray, memoryview)):
            raise TypeError("packet must be bytes-like, not %r" % (type(packet).__name__,))
        data = bytes(packet)
        if k.family == 6:
            if src is None or dst is None:
                raise ValueError("an IPv6 packet needs src and dst (its ancillary data)")
            b_src = _packed(src, 6, "src")
            b_dst = _packed(dst, 6, "dst")
            hop = _int_arg(hop_limit, "hop_limit", 0, 255)
        elif src is not None or dst is not None:
            raise ValueError("IPv4 packets carry their addresses in the IP header")
        self._enter("inject")
        try:
            now = self._now_arg(now_ns)
            if k.family == 6:
                self._rx(sid, <const uint8_t*>PyBytes_AS_STRING(data), len(data),
                         <const uint8_t*>PyBytes_AS_STRING(b_src),
                         <const uint8_t*>PyBytes_AS_STRING(b_dst), hop, now)
            else:
                self._rx(sid, <const uint8_t*>PyBytes_AS_STRING(data), len(data),
                         NULL, NULL, 0, now)
        finally:
            self._leave()

    @property
    def busy(self):
        """True while the fast path is dispatching (inside an escalation callback)."""
        return bool(self.busy)

    @property
    def now_ns(self):
        """The latest time the fast path was driven with."""
        return self.now

    @property
    def tick_ns(self):
        return self.core.tick_ns

    @staticmethod
    def clock():
        """clock_gettime(CLOCK_MONOTONIC) in ns (= time.monotonic_ns())."""
        return _mono_ns()

    # ------------------------------------------------------------ counters

    def stats(self, drops=True):
        """Global counters; drops=False leaves out the drop totals (a walk over
        every slot) for callers that poll, like the loop driver."""
        cdef Py_ssize_t sid, r
        totals = dict.fromkeys(REASONS[1:], 0)
        if drops:
            for sid in range(self.nsocks):
                if self.socks[sid].used:
                    for r in range(1, FP_REASONS):
                        totals[REASONS[r]] += self.socks[sid].drops[r]
            for sid in range(self.nslots):
                if self.slots[sid].used:
                    for r in range(1, FP_REASONS):
                        totals[REASONS[r]] += self.slots[sid].drops[r]
        return {
            "python_escalations": self.c_escalations,
            "escalation_errors": self.c_escalation_errors,
            "rx_packets": self.c_rx_packets,
            "rx_batches": self.c_rx_batches,
            "rx_wakeups": self.c_rx_wakeups,
            "rx_settled": self.c_rx_settled,
            "tx_packets": self.c_tx_packets,
            "tx_batches": self.c_tx_batches,
            "tx_settled": self.c_tx_settled,
            "tx_errors": self.c_tx_errors,
            "timer_expiries": self.c_expiries,
            "stale_expiries": self.c_stale_expiries,
            "ticks": self.c_ticks,
            "timers": self.core.count,
            "drops": {k: v for k, v in totals.items() if v},
        }

    def slot_stats(self, index):
        """Counters of one slot (advert_rcvd / advert_sent as keepalived counts them)."""
        cdef fp_slot* s = self._slot(index)
        cdef Py_ssize_t r
        return {
            "advert_rcvd": s.rx_adverts,
            "advert_sent": s.tx_adverts,
            "packets_sent": s.tx_packets,
            "rx_settled": s.rx_settled,
            "tx_settled": s.tx_settled,
            "rx_ignored": s.rx_ignored,
            "tx_errors": s.tx_errors,
            "escalations": s.escalations,
            "drops": {REASONS[r]: s.drops[r] for r in range(1, FP_REASONS) if s.drops[r]},
        }

    def slot_info(self, index):
        """What the slot currently holds (for status dumps and tests)."""
        cdef fp_slot* s = self._slot(index)
        alen = 4 if s.family == 4 else 16
        return {
            "family": s.family, "version": s.version, "vrid": s.vrid, "state": s.state,
            "priority": s.effective,
            "master": (ipaddress.ip_address(PyBytes_FromStringAndSize(<char*>s.master, alen))
                       if s.flags & FP_F_HAS_MASTER else None),
            "master_priority": s.master_prio, "master_adver_int": s.learned_int,
            "master_down_ns": s.master_down_ns, "advert_int_ns": s.advert_int_ns,
            "rx_settle": bool(s.flags & FP_F_RX_SETTLE),
            "tx_settle": bool(s.flags & FP_F_TX_SETTLE),
            "accept_lower": bool(s.flags & FP_F_ACCEPT_LOWER),
            "delay_until_ns": s.delay_until_ns if s.delay_until_ns >= 0 else None,
            "rx_socket": s.rx_sock, "tx_socket": s.tx_sock,
            "packet": PyBytes_FromStringAndSize(<char*>s.pkts, s.pkt_len),
            "ip_id": s.ip_id,
        }

    def socket_stats(self, sid):
        cdef fp_sock* k = self._sock(sid)
        cdef Py_ssize_t r
        return {
            "fd": k.fd, "family": k.family, "ifindex": k.ifindex,
            "rx_batches": k.rx_batches, "rx_packets": k.rx_packets, "rx_errors": k.rx_errors,
            "tx_batches": k.tx_batches, "tx_packets": k.tx_packets, "tx_errors": k.tx_errors,
            "queued": k.qn, "last_errno": k.last_errno,
            "drops": {REASONS[r]: k.drops[r] for r in range(1, FP_REASONS) if k.drops[r]},
        }

    # ------------------------------------------------------------ benchmarks

    def _bench_inject(self, sid, packet, Py_ssize_t n, int64_t start_ns, int64_t step_ns):
        """Benchmark: process `packet` n times in a C loop (times now = start +
        i * step); returns the elapsed ns.  IPv4 sockets only."""
        cdef fp_sock* k = self._sock(sid)
        cdef bytes data = bytes(packet)
        cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(data)
        cdef Py_ssize_t length = len(data), i
        cdef int64_t t0, t1
        if k.family != 4:
            raise ValueError("_bench_inject takes an IPv4 socket")
        self._enter("_bench_inject")
        try:
            t0 = _mono_ns()
            for i in range(n):
                self._rx(sid, p, length, NULL, NULL, 0, start_ns + i * step_ns)
            t1 = _mono_ns()
            self.now = start_ns + n * step_ns
        finally:
            self._leave()
        return t1 - t0

    def _bench_send(self, Py_ssize_t rounds):
        """Benchmark: `rounds` times, queue every slot's advert once and flush
        (one sendmmsg per socket per round); returns the elapsed ns."""
        cdef Py_ssize_t r, i
        cdef int64_t t0, t1
        self._enter("_bench_send")
        try:
            t0 = _mono_ns()
            for r in range(rounds):
                for i in range(self.nslots):
                    if self.slots[i].used:
                        self._queue(i, self.slots[i].effective, self.now)
                self._flush_all()
            t1 = _mono_ns()
        finally:
            self._leave()
        return t1 - t0
