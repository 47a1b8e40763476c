"""fastvrrp.host: the daemon's hands on the host, with no dependency on the daemon.

- values:     checks of the values specs take (numbers, iproute2 names, addresses)
- addrspec:   VipSpec (one virtual_ipaddress entry) -> IfaRequest (netlink attrs)
- nlsocket:   IPRoute: link/address dumps and notifications on its own sockets, the rest
              through pyroute2's AsyncIPRoute (which it makes run on uvloop)
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

import importlib
import importlib.util
import sys
import threading

_PYROUTE2 = "pyroute2"
_lock = threading.RLock()


def lazy_pyroute2():
    """Issue 6 (start-up): pyroute2's package __init__ imports every part of the
    library (IPDB, NDB, nftables, wireguard, ...: about 100 ms), while the daemon
    uses a few rtnetlink modules.  Unless pyroute2 is already imported, its
    package goes into sys.modules un-run: `import pyroute2.netlink.rtnl` loads
    just that part, `from pyroute2 import netns` just that submodule, and the
    first other name asked of the package (`from pyroute2 import IPRoute`)
    runs the real __init__ once, so every caller sees the same pyroute2.
    Returns True when the lazy package is (already) in place."""
    with _lock:
        current = sys.modules.get(_PYROUTE2)
        if current is not None:
            return getattr(current, "__fastvrrp_lazy__", False)
        try:
            spec = importlib.util.find_spec(_PYROUTE2)
        except (ImportError, ValueError):
            return False
        if spec is None or spec.loader is None or not spec.submodule_search_locations:
            return False
        module = importlib.util.module_from_spec(spec)

        def __getattr__(name, _module=module, _spec=spec):
            return _lazy_attribute(_module, _spec, name)

        module.__getattr__ = __getattr__
        module.__fastvrrp_lazy__ = True
        sys.modules[_PYROUTE2] = module
        return True


def _lazy_attribute(module, spec, name):
    """A name not yet on the lazy pyroute2 package: a submodule, else the real
    __init__ runs (once) and the name is looked up in what it defined."""
    if name.startswith("__"):
        raise AttributeError(name)
    with _lock:
        if "__getattr__" in module.__dict__:
            try:
                return importlib.import_module("%s.%s" % (_PYROUTE2, name))
            except ModuleNotFoundError as exc:
                if exc.name != "%s.%s" % (_PYROUTE2, name):
                    raise
            del module.__dict__["__getattr__"]       # from now on: a plain package
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(_PYROUTE2, None)     # a later import tries for real
                raise
    try:
        return module.__dict__[name]
    except KeyError:
        raise AttributeError("module 'pyroute2' has no attribute %r" % (name,)) from None


lazy_pyroute2()
