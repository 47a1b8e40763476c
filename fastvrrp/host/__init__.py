"""fastvrrp.host: the daemon's hands on the host, with no dependency on the daemon.

- addrspec:   VipSpec (one virtual_ipaddress entry) -> IfaRequest (netlink attrs)
- nlsocket:   pyroute2 AsyncIPRoute that also runs on uvloop
- objects:    LinkInfo / AddrInfo records decoded from netlink messages
- netlink:    Netlink: link lookups, source addresses, add/del address -> Outcome
- events:     NetlinkEvents: link/address notifications as an async iterator
- vips:       VipSet (add_all/remove_all, what is ours), cleanup_stale, cleanup_by_proto
- forwarding: IPv6 forwarding per interface (NA Router flag), cached 5 s
- announce:   Announcer.send_round: one GARP / unsolicited NA round on an interface
"""
