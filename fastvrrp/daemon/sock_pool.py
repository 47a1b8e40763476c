"""Share VRRP sockets between instances, as keepalived's socket pool does.

keepalived 2.2 keeps one socket pair per (family, interface, multicast group
or unicast source) (vrrp.c open_sockpool_socket; reference notes §3.9 step
1).  fastvrrp keeps the same receive key, and one send socket per (family,
interface, multicast or unicast [and its hop limit]): an IPv4 send socket
takes the source from the packet's own header and an IPv6 one from each
packet's IPV6_PKTINFO, so every instance on an interface can share it, and
the fast path sends an interface's due adverts in one sendmmsg.

    pool = SocketPool()
    rx = pool.rx(4, "eth0")                          # 224.0.0.18 on eth0
    rxu = pool.rx(4, "eth0", source="10.0.0.1")      # unicast_src_ip
    tx = pool.tx(6, "eth0")                          # ff02::12 sender
    pool.release(rx)                                 # closed with its last user
    pool.close()                                     # everything

Acquiring the same key again returns the same socket and counts one more
user.  Sockets are opened in the calling thread's network namespace.
"""

from fastvrrp import proto

from .sock_common import DEFAULT_RCVBUF, VrrpSocket, check_address, resolve_interface
from .sock_v4 import open_rx_v4, open_tx_v4
from .sock_v6 import open_rx_v6, open_tx_v6

_GROUPS = {4: proto.VRRP_GROUP_IPV4, 6: proto.VRRP_GROUP_IPV6}
_OPEN_RX = {4: open_rx_v4, 6: open_rx_v6}


def _pool_ifindex(iface):
    """The pool key's interface: a positive ifindex as it is (issue 6: no
    if_indextoname per instance; the opener resolves it once, when a socket
    is really opened), a name through resolve_interface."""
    if type(iface) is int and iface > 0:
        return iface
    return resolve_interface(iface)[0]


def _family(family):
    if family not in (4, 6):
        raise ValueError("family must be 4 or 6, got %r" % (family,))
    return family


class SocketPool:
    """Reference-counted VRRP sockets by key; see the module docstring."""

    def __init__(self, *, rcvbuf=DEFAULT_RCVBUF):
        self.rcvbuf = rcvbuf
        self._by_key = {}           # key -> [VrrpSocket, users]
        self._key_of = {}           # id(VrrpSocket) -> key
        self._targets = {}          # (value, family, kind) -> canonical address text

    def _target(self, value, family, what):
        """check_address, remembered per distinct value (1000 instances share a
        handful of groups and sources)."""
        try:
            key = (value, family, what)
            known = self._targets.get(key)
        except TypeError:               # unhashable: check_address says what is wrong
            return check_address(value, family, what)
        if known is None:
            known = self._targets[key] = check_address(value, family, what)
        return known

    def _get(self, key, opener):
        entry = self._by_key.get(key)
        if entry is None:
            vsock = opener()
            entry = self._by_key[key] = [vsock, 0]
            self._key_of[id(vsock)] = key
        entry[1] += 1
        return entry[0]

    def rx(self, family, iface, *, group=None, source=None):
        """The receive socket for `group` (default: the family's VRRP group) or the
        unicast `source` on `iface`."""
        family = _family(family)
        if group is not None and source is not None:
            raise ValueError("give a multicast group or a unicast source, not both")
        if source is not None:
            target = ("source", self._target(source, family, "unicast source"))
        else:
            target = ("group", self._target(group or _GROUPS[family], family, "multicast group"))
        ifindex = _pool_ifindex(iface)
        key = ("rx", family, ifindex) + target
        kwargs = {"group": None, "source": target[1]} if target[0] == "source" else \
            {"group": target[1]}
        return self._get(key, lambda: _OPEN_RX[family](ifindex, rcvbuf=self.rcvbuf, **kwargs))

    def tx(self, family, iface, *, multicast=True, unicast_hops=proto.VRRP_TTL):
        """The send socket of `family` on `iface` for multicast or unicast adverts."""
        family = _family(family)
        ifindex = _pool_ifindex(iface)
        if family == 4:
            key = ("tx", 4, ifindex, bool(multicast))
            return self._get(key, lambda: open_tx_v4(ifindex, multicast=multicast))
        key = ("tx", 6, ifindex, bool(multicast), None if multicast else unicast_hops)
        return self._get(key, lambda: open_tx_v6(ifindex, multicast=multicast,
                                                 unicast_hops=unicast_hops))

    def users(self, vsock):
        """How many acquisitions of `vsock` are not yet released (0: not in the pool)."""
        key = self._key_of.get(id(vsock))
        return self._by_key[key][1] if key is not None else 0

    def release(self, vsock):
        """One user fewer; the socket is closed when none is left."""
        if not isinstance(vsock, VrrpSocket):
            raise TypeError("release() takes a VrrpSocket, got %s" % type(vsock).__name__)
        key = self._key_of.get(id(vsock))
        if key is None or self._by_key[key][0] is not vsock:
            raise ValueError("%r is not a socket of this pool" % (vsock,))
        entry = self._by_key[key]
        entry[1] -= 1
        if entry[1] == 0:
            del self._by_key[key]
            del self._key_of[id(vsock)]
            vsock.close()

    def sockets(self):
        return [entry[0] for entry in self._by_key.values()]

    def __len__(self):
        return len(self._by_key)

    def close(self):
        """Close every socket (leaving their groups), whoever still uses it."""
        entries, self._by_key = list(self._by_key.values()), {}
        self._key_of = {}
        for vsock, _users in entries:
            vsock.close()
