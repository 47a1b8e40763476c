"""Links and addresses as the host layer sees them (decoded netlink messages).

`LinkInfo.from_msg` / `AddrInfo.from_msg` turn pyroute2 ifinfmsg / ifaddrmsg
messages (dumps and RTM_NEW*/RTM_DEL* notifications alike) into small frozen
records, so nothing above the host layer touches pyroute2 objects.
"""

import socket
from dataclasses import dataclass

from .addrspec import (IFA_F_DADFAILED, IFA_F_SECONDARY, IFA_F_TENTATIVE,
                       INFINITY_LIFE_TIME, delete_request)

# Interface flags (linux/if.h).
IFF_UP = 0x1
IFF_BROADCAST = 0x2
IFF_LOOPBACK = 0x8
IFF_RUNNING = 0x40
IFF_NOARP = 0x80
IFF_MULTICAST = 0x1000
IFF_LOWER_UP = 0x10000


@dataclass(frozen=True)
class LinkInfo:
    """One interface: index, name, MAC, IFF_* flags, RFC 2863 operstate, carrier."""

    index: int
    ifname: str
    mac: str            # "aa:bb:cc:dd:ee:ff", or "" for links without one
    flags: int
    operstate: str      # "UP", "DOWN", "LOWERLAYERDOWN", "UNKNOWN", ...
    carrier: bool
    mtu: int
    kind: str = ""      # "veth", "macvlan", "bridge", ... ("" for plain devices)
    link: int = 0       # the parent's ifindex (IFLA_LINK), 0 if none

    @property
    def up(self):
        """Administratively up (IFF_UP)."""
        return bool(self.flags & IFF_UP)

    @property
    def running(self):
        """Up and carrying traffic (IFF_UP and IFF_RUNNING)."""
        return (self.flags & (IFF_UP | IFF_RUNNING)) == (IFF_UP | IFF_RUNNING)

    @property
    def noarp(self):
        return bool(self.flags & IFF_NOARP)

    @property
    def multicast(self):
        return bool(self.flags & IFF_MULTICAST)

    @classmethod
    def from_msg(cls, msg):
        info = msg.get("IFLA_LINKINFO")
        kind = (info.get("IFLA_INFO_KIND") if info is not None else None) or ""
        carrier = msg.get("IFLA_CARRIER")
        flags = int(msg.get("flags") or 0)
        return cls(
            index=int(msg["index"]),
            ifname=msg.get("IFLA_IFNAME") or "",
            mac=(msg.get("IFLA_ADDRESS") or "").lower(),
            flags=flags,
            operstate=str(msg.get("IFLA_OPERSTATE") or "UNKNOWN"),
            carrier=bool(carrier) if carrier is not None else bool(flags & IFF_LOWER_UP),
            mtu=int(msg.get("IFLA_MTU") or 0),
            kind=kind,
            link=int(msg.get("IFLA_LINK") or 0),
        )


@dataclass(frozen=True)
class AddrInfo:
    """One address on an interface, as the kernel reports it."""

    family: int
    index: int
    address: str            # the local address (IFA_LOCAL, or IFA_ADDRESS for IPv6)
    prefixlen: int
    scope: int
    flags: int              # IFA_FLAGS when present (all 32 bits), else ifa_flags
    peer: str = None        # IFA_ADDRESS when it differs from the local address
    broadcast: str = None
    label: str = None
    proto: int = 0          # IFA_PROTO, 0 when unset
    preferred: int = INFINITY_LIFE_TIME
    valid: int = INFINITY_LIFE_TIME

    @property
    def version(self):
        return 4 if self.family == socket.AF_INET else 6

    @property
    def secondary(self):
        return bool(self.flags & IFA_F_SECONDARY)

    @property
    def usable(self):
        """Not tentative (DAD running) and not DAD-failed."""
        return not self.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)

    def cidr(self):
        return "%s/%d" % (self.address, self.prefixlen)

    def delete_request(self):
        """The RTM_DELADDR request that removes exactly this address."""
        return delete_request(self.family, self.address, self.prefixlen, self.index,
                              peer=self.peer)

    @classmethod
    def from_msg(cls, msg):
        local = msg.get("IFA_LOCAL")
        addr = msg.get("IFA_ADDRESS")
        peer = None
        if local is None:
            local = addr
        elif addr is not None and addr != local:
            peer = addr
        cache = msg.get("IFA_CACHEINFO")
        flags = msg.get("IFA_FLAGS")
        return cls(
            family=int(msg["family"]),
            index=int(msg["index"]),
            address=local or "",
            prefixlen=int(msg["prefixlen"]),
            scope=int(msg["scope"]),
            flags=int(flags if flags is not None else msg.get("flags") or 0),
            peer=peer,
            broadcast=msg.get("IFA_BROADCAST"),
            label=msg.get("IFA_LABEL"),
            proto=int(msg.get("IFA_PROTO") or 0),
            preferred=int(cache["ifa_preferred"]) if cache else INFINITY_LIFE_TIME,
            valid=int(cache["ifa_valid"]) if cache else INFINITY_LIFE_TIME,
        )
