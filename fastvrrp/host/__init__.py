"""fastvrrp.host: the daemon's hands on the host, with no dependency on the daemon.

- values:     checks of the values specs take (numbers, iproute2 names, addresses)
- addrspec:   VipSpec (one virtual_ipaddress entry) -> IfaRequest (netlink attrs)
- nlsocket:   pyroute2 AsyncIPRoute that also runs on uvloop
- objects:    LinkInfo / AddrInfo records decoded from netlink messages
- outcome:    Outcome (DONE / EXISTS / ABSENT / FAILED) and NetlinkQueryError
- nlrequest:  one rtnetlink change or query through a Netlink, errors classified
- netlink:    Netlink: link lookups, source addresses, add/del address -> Outcome
- routespec / routes: RouteSpec -> RouteRequest; RouteSet (HeldSet, heldset.py)
- rules:      RuleSpec -> RuleRequest; RuleSet; keepalived's automatic preferences
- statics:    static_ipaddress / static_routes / static_rules
- vmacspec / vmac_sysctl / vmac: VMAC specs and marks, their sysctls, VmacManager
- events:     NetlinkEvents: link/address notifications as an async iterator
- vips:       VipSet (add_all/remove_all, what is ours), cleanup_stale, cleanup_by_proto
- forwarding: IPv6 forwarding per interface (NA Router flag), cached 5 s
- announce:   Announcer.send_round: one GARP / unsolicited NA round on an interface
"""
