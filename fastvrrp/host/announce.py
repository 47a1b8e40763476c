"""Gratuitous ARP and unsolicited Neighbor Advertisement: one round, now.

RFC 5798 §6.4.1 / §6.4.2 (Transition to Master): "for each IPv4 address
associated with the virtual router, broadcast a gratuitous ARP request
containing the virtual router MAC address"; "for each IPv6 address ...
send an Unsolicited ND Neighbor Advertisement with the Router Flag (R) set
[when a router], the Solicited Flag (S) unset, the Override flag (O) set,
the target address set to the IPv6 address of the virtual router, and the
target link-layer address set to the virtual router MAC address".

`Announcer.send_round(ifindex, mac, vips)` sends one GARP per IPv4 VIP and
one NA per IPv6 VIP out of interface `ifindex`; `send_rounds([(ifindex,
mac, vips), ...])` sends many rounds looking each interface up once
(garpbatch.py gathers the rounds of a burst of transitions into one call).  When and how often (the
`garp_master_delay`, `garp_master_repeat`, `garp_master_refresh` schedule) is
the state machine's business.  The frames are keepalived's (reference notes
§3.13), built by the compiled codec: GARP = ARP REQUEST to ff:ff:ff:ff:ff:ff,
sender IP = target IP = VIP, target MAC ff:ff:ff:ff:ff:ff; NA from the VIP to
ff02::1 (33:33:00:00:00:01), hop limit 255, Override, Router when IPv6
forwarding is on for the interface (re-read at most every 5 s), a Target
Link-Layer Address option.

Nothing is sent on IFF_NOARP interfaces (counted as skipped).  Each
interface gets one non-blocking AF_PACKET SOCK_RAW socket bound to its
ifindex, with protocol 0 so it never receives.  Send errors are counted and
logged, never raised; a send that would block is counted and dropped.  Bad
arguments (a malformed MAC or VIP) raise ValueError.
"""

import errno
import fcntl
import functools
import ipaddress
import logging
import socket
import struct
from collections import Counter
from dataclasses import dataclass

from .forwarding import Forwarding
from .garpbatch import GarpBatch      # imported now: not on a first takeover's path

log = logging.getLogger("fastvrrp.host")

SIOCGIFFLAGS = 0x8913
IFF_NOARP = 0x80
_GONE = (errno.ENXIO, errno.ENODEV)             # the interface no longer exists
_STOP = _GONE + (errno.ENETDOWN,)               # the rest of the round would fail too


def _default_codec():
    from fastvrrp import _packet
    return _packet


@dataclass(frozen=True)
class RoundResult:
    """What one send_round() did."""

    sent: int = 0           # frames handed to the kernel
    would_block: int = 0    # dropped: the socket's send buffer was full
    errors: int = 0         # send errors (and an interface that could not be opened)
    skipped: int = 0        # not sent: IFF_NOARP interface

    @property
    def ok(self):
        return not (self.would_block or self.errors)


def _mac_bytes(mac):
    if isinstance(mac, (bytes, bytearray)):
        if len(mac) != 6:
            raise ValueError("MAC must be 6 bytes, got %d" % len(mac))
        return bytes(mac)
    if isinstance(mac, str):
        return _mac_text(mac)
    raise ValueError("MAC %r is not like 02:00:5e:00:01:01" % (mac,))


@functools.lru_cache(maxsize=256)
def _mac_text(mac):
    """An interface's MAC text -> bytes, parsed once per MAC (every GARP round of
    a burst names the same few interfaces, issue 6)."""
    parts = mac.split(":")
    if len(parts) == 6 and all(1 <= len(p) <= 2 for p in parts):
        try:
            return bytes(int(p, 16) for p in parts)
        except ValueError:
            pass
    raise ValueError("MAC %r is not like 02:00:5e:00:01:01" % (mac,))


def _vip_address(vip):
    """A VipSpec, an ipaddress object or an address string -> ipaddress object."""
    addr = getattr(vip, "address", vip)
    if isinstance(addr, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return addr
    if isinstance(addr, str):
        try:
            return ipaddress.ip_address(addr)
        except ValueError:
            pass
    raise ValueError("VIP %r is not an IP address" % (vip,))


class Announcer:
    """See the module docstring.  Call close() to release the sockets."""

    def __init__(self, *, forwarding=None, codec=None):
        self.forwarding = forwarding if forwarding is not None else Forwarding()
        self.codec = codec if codec is not None else _default_codec()
        self.stats = Counter()      # garp_sent, na_sent, would_block, send_errors, noarp_skipped
        self._sockets = {}          # ifindex -> socket
        self._batch = None          # GarpBatch of announce()
        self.hurry = None           # () -> True in a burst of transitions (garpbatch.py)

    def close(self, ifindex=None):
        """Close the socket of `ifindex` (or every socket)."""
        if ifindex is None and self._batch is not None:
            self._batch.close()
        indexes = list(self._sockets) if ifindex is None else [ifindex]
        for index in indexes:
            sock = self._sockets.pop(index, None)
            if sock is not None:
                sock.close()

    def _socket(self, ifindex, ifname):
        sock = self._sockets.get(ifindex)
        if sock is None:
            sock = socket.socket(socket.AF_PACKET,
                                 socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC, 0)
            try:
                sock.bind((ifname, 0))
                if socket.if_nametoindex(ifname) != ifindex:    # renamed meanwhile
                    raise OSError(errno.ENODEV, "interface %s is no longer ifindex %d"
                                  % (ifname, ifindex))
            except BaseException:
                sock.close()
                raise
            self._sockets[ifindex] = sock
        return sock

    def prepare(self, ifindexes):
        """Open the sockets of `ifindexes` now, not at the first GARP (issue 6: a
        backup's first takeover); one that cannot be opened is left for the
        first round to report."""
        for ifindex in ifindexes:
            try:
                self._socket(ifindex, socket.if_indextoname(ifindex))
            except OSError:
                self.close(ifindex)

    @staticmethod
    def _flags(sock, ifname):
        req = struct.pack("16sH", ifname.encode(), 0)
        return struct.unpack_from("16sH", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, req))[1]

    def send_round(self, ifindex, mac, vips, *, router=None):
        """One GARP per IPv4 VIP and one NA per IPv6 VIP on `ifindex` -> RoundResult.

        `mac` is the sender MAC (the interface's, or the VMAC); `router`
        forces the NA Router flag (default: IPv6 forwarding of the interface).
        """
        _check_ifindex(ifindex)
        mac = _mac_bytes(mac)
        addrs = [_vip_address(v) for v in vips]
        if not addrs:
            return RoundResult()
        port = self._port(ifindex)
        if isinstance(port, RoundResult):
            return port
        return self._send(port, mac, addrs, router)

    def send_rounds(self, rounds):
        """Several rounds at once: `rounds` is [(ifindex, mac, vips)], sent in that
        order; the interface of each ifindex is looked up once for all of them
        (garpbatch.py sends a burst of transitions this way) -> [RoundResult].
        Arguments are checked first: a bad one raises ValueError, nothing sent."""
        return self.send_checked([self.checked(ifindex, mac, vips)
                                  for ifindex, mac, vips in rounds])

    def send_checked(self, rounds):
        """send_rounds() of rounds already through checked() (garpbatch.py checks
        each announce() once, not once per round)."""
        ports, out = {}, []
        for ifindex, mac, addrs in rounds:
            if not addrs:
                out.append(RoundResult())
                continue
            port = ports.get(ifindex)
            if port is None:
                port = ports[ifindex] = self._port(ifindex)
            if isinstance(port, RoundResult):
                out.append(port)
                continue
            result = self._send(port, mac, addrs, None)
            if ifindex not in self._sockets:
                del ports[ifindex]      # closed (the interface went away): look it up again
            out.append(result)
        return out

    def flush_now(self):
        """Send the announce() first rounds queued so far now (garpbatch.py)."""
        if self._batch is not None:
            self._batch.flush_now()

    @property
    def busy(self):
        """announce() rounds queued, not sent yet (garpbatch.py)."""
        return self._batch is not None and self._batch.pending > 0

    @staticmethod
    def checked(ifindex, mac, vips):
        """(ifindex, MAC bytes, [ipaddress]) of one round's arguments; ValueError if bad."""
        _check_ifindex(ifindex)
        return ifindex, _mac_bytes(mac), [_vip_address(v) for v in vips]

    def announce(self, groups, repeat, *, live=None):
        """`repeat` rounds on each ((ifindex, mac), vips) of `groups`, sent with every
        other announce() of this loop iteration, first rounds first (garpbatch.py)
        -> Future of the rounds sent.  Bad arguments raise ValueError here."""
        if self._batch is None:
            self._batch = GarpBatch(self)
        return self._batch.announce(groups, repeat, live=live)

    def _port(self, ifindex):
        """(socket, ifname, flags) of `ifindex`, or the RoundResult of failing to open it."""
        try:
            ifname = socket.if_indextoname(ifindex)
            sock = self._socket(ifindex, ifname)
            flags = self._flags(sock, ifname)
        except OSError as exc:
            self.close(ifindex)
            self.stats["send_errors"] += 1
            log.warning("cannot announce VIPs on ifindex %d: %s", ifindex,
                        exc.strerror or exc)
            return RoundResult(errors=1)
        return sock, ifname, flags, ifindex

    def _send(self, port, mac, addrs, router):
        sock, ifname, flags, ifindex = port
        if flags & IFF_NOARP:
            self.stats["noarp_skipped"] += len(addrs)
            return RoundResult(skipped=len(addrs))
        if router is None and any(a.version == 6 for a in addrs):
            router = self.forwarding.enabled(ifname)
        sent = blocked = errors = 0
        for addr in addrs:
            if addr.version == 4:
                frame, kind = self.codec.build_garp(mac, addr.packed), "garp"      # RFC 5798 §6.4.1
            else:
                frame, kind = (self.codec.build_unsolicited_na(mac, addr.packed, bool(router)),
                               "na")                                               # RFC 5798 §6.4.2
            try:
                sock.send(frame)
            except BlockingIOError:
                blocked += 1
                self.stats["would_block"] += 1
                continue
            except OSError as exc:
                errors += 1
                self.stats["send_errors"] += 1
                log.warning("error %d (%s) sending %s on %s for %s", exc.errno, exc.strerror,
                            "gratuitous ARP" if kind == "garp" else "unsolicited NA",
                            ifname, addr)
                if exc.errno in _GONE:
                    self.close(ifindex)
                if exc.errno in _STOP:
                    break
                continue
            sent += 1
            self.stats[kind + "_sent"] += 1
        return RoundResult(sent=sent, would_block=blocked, errors=errors)


def _check_ifindex(ifindex):
    if not isinstance(ifindex, int) or isinstance(ifindex, bool) or ifindex <= 0:
        raise ValueError("ifindex must be a positive int, got %r" % (ifindex,))
