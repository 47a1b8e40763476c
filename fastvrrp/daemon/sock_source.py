"""Which address a VRRP instance sends from (RFC 5798 §5.1.1.1, §5.1.2.1; keepalived 2.2).

IPv4: the configured `mcast_src_ip` / `unicast_src_ip`, else the
interface's primary IPv4 address (its first non-secondary address that is
not one of the instance's VIPs).  IPv6: the configured address, else the
interface's link-local.  The lookups are fastvrrp.host.netlink's
(`Netlink.primary_ipv4`, `Netlink.ipv6_linklocal`); this module adds the
choice and the error keepalived reports when there is nothing to send from.
"""

import ipaddress

from fastvrrp.host.netlink import NetlinkQueryError


class NoSourceAddress(RuntimeError):
    """The interface has no address to send adverts from (keepalived: FAULT)."""

    def __init__(self, family, ifindex, ifname=None):
        what = ifname or "ifindex %d" % ifindex
        super().__init__("no IPv4 address for interface %s" % what if family == 4 else
                         "no usable IPv6 link-local address for interface %s" % what)
        self.family = family
        self.ifindex = ifindex


async def source_address(netlink, family, ifindex, *, configured=None, exclude=(), ifname=None):
    """The source of `family` (4 or 6) for adverts on `ifindex` -> canonical address string.

    `configured` wins when set (it must be of `family`); `exclude` are
    addresses never chosen (the VIPs).  Raises NoSourceAddress when the
    interface has none, ValueError for bad arguments, and lets
    NetlinkQueryError (the kernel or the socket failed) through.
    """
    if family not in (4, 6):
        raise ValueError("family must be 4 or 6, got %r" % (family,))
    if isinstance(ifindex, bool) or not isinstance(ifindex, int) or ifindex <= 0:
        raise ValueError("ifindex must be a positive int, got %r" % (ifindex,))
    if configured is not None:
        try:
            addr = ipaddress.ip_address(configured)
        except ValueError:
            raise ValueError("configured source %r is not an IP address" % (configured,)) from None
        if addr.version != family:
            raise ValueError("configured source %s is not IPv%d" % (addr, family))
        return str(addr)
    if family == 4:
        found = await netlink.primary_ipv4(ifindex, exclude=exclude)
    else:
        found = await netlink.ipv6_linklocal(ifindex, exclude=exclude)
    if found is None:
        raise NoSourceAddress(family, ifindex, ifname)
    return str(ipaddress.ip_address(found))


__all__ = ["NoSourceAddress", "NetlinkQueryError", "source_address"]
