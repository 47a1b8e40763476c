"""The network-namespace lab shared by the tests and `fastvrrp bench`.

A lab is a set of network namespaces with one unique id (`fv` + 6 hex digits),
named `<id>-<role>`: "switch" namespaces hold bridges, "node" namespaces hold
the routers under test, joined to a bridge by veth pairs.  The usual shape:

    with Lab() as lab:
        links = lab.star(("a", "b"))                 # sw: br0 <- a:eth0, b:eth0
        a = links["a"][0]                            # Link: ns, ifname, ipv4, ipv6, ipv6_ll...
        cap = lab.capture("sw", "br0")               # tcpdump, returns once listening
        proc = lab.popen("a", ["keepalived", ...])   # runs inside namespace a
        frames = cap.wait_frames(3, timeout=10)
    # every process stopped, every namespace removed, even on an exception

Links are made in batches (one netlink round trip per chunk of requests per
namespace, no subprocess per link), so thousands are cheap.  Node namespaces
have IPv6 DAD off (accept_dad=0, and IFA_F_NODAD on added addresses) so every
IPv6 address, link-locals included, is usable at once; switch namespaces have
IPv6 disabled so they add no traffic of their own.

Teardown runs on close(), on leaving the `with` block, at interpreter exit
(atexit) and from the pytest fixture's finaliser; `cleanup_stale()` (also run
when a Lab is created) removes what a crashed earlier run left behind.
"""

import atexit
import ipaddress
import os
import secrets
import shutil
import signal
import tempfile
import weakref
from dataclasses import dataclass, replace

from pyroute2 import IPRoute

from . import labstate, netns, nlbatch, nldump, nsproc
from .capture import VRRP_FILTER, Capture
from .waitfor import wait_for

LAB_PREFIX = "fv"
IFF_RUNNING = 0x40
IFA_F_TENTATIVE = 0x40
_FIRST_IFINDEX = 100  # explicit indexes, clear of lo and fallback tunnel devices
_LIVE = weakref.WeakSet()
_ROLE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789")


class LabError(RuntimeError):
    """A lab operation failed; the message says what and where."""


def cleanup_stale(prefix=LAB_PREFIX, run_dir=labstate.RUN_DIR):
    """Remove namespaces/processes of `prefix` labs whose creating process is dead."""
    return labstate.cleanup_stale(prefix, run_dir)


@dataclass(frozen=True)
class LinkSpec:
    """A veth link from `node` to `bridge` in `switch`; addresses as "addr/prefix"."""

    node: str
    switch: str = "sw"
    bridge: str = "br0"
    ifname: str = None          # node side; default eth<n>
    port: str = None            # switch side; default <node><n>
    ipv4: tuple = ()
    ipv6: tuple = ()


@dataclass(frozen=True)
class Link:
    """A link made by the lab (node end first)."""

    node: str
    ns: str
    ifname: str
    ifindex: int
    mac: str
    switch: str
    switch_ns: str
    bridge: str
    port: str
    port_ifindex: int
    ipv4: tuple = ()            # "10.0.0.1/24", ...
    ipv6: tuple = ()            # "fd00::1/64", ...
    ipv6_ll: str = None         # the kernel's link-local (EUI-64), once known

    @property
    def ip4(self):
        """The first IPv4 address without its prefix length."""
        return self.ipv4[0].split("/")[0] if self.ipv4 else None

    @property
    def ip6(self):
        """The first configured IPv6 address without its prefix length."""
        return self.ipv6[0].split("/")[0] if self.ipv6 else None


def _split_cidr(text):
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError as exc:
        raise LabError("bad address %r: %s" % (text, exc)) from None
    if "/" not in str(text):
        raise LabError("address %r needs a prefix length (e.g. 10.0.0.1/24)" % (text,))
    return str(iface.ip), iface.network.prefixlen, iface.version


class Lab:
    """A set of namespaces with a unique id; see the module docstring."""

    def __init__(self, prefix=LAB_PREFIX, *, run_dir=labstate.RUN_DIR, cleanup=True,
                 workdir=None):
        if not (isinstance(prefix, str) and 1 <= len(prefix) <= 4 and prefix.isalpha()
                and prefix.islower()):
            raise LabError("lab prefix must be 1-4 lowercase letters, got %r" % (prefix,))
        if os.geteuid() != 0:
            raise LabError("the lab needs root (network namespaces, veth, tcpdump)")
        if cleanup:
            cleanup_stale(prefix, run_dir)
        self.prefix = prefix
        self.id = prefix + secrets.token_hex(3)
        self.closed = False
        self._roles = {}            # role -> (kind, ns name)
        self._ipv6 = {}             # node role -> IPv6 enabled
        self._next_index = {}       # ns -> next explicit ifindex
        self._bridges = {}          # (switch role, bridge name) -> ifindex
        self._procs = []
        self._iproutes = []
        self._mac_counter = 0
        self._captures = 0
        self._owner_pid = os.getpid()
        self._port_counter = {}     # node role -> links made
        self.links = []
        self.state = labstate.LabState(self.id, run_dir)
        self.workdir = workdir or tempfile.mkdtemp(prefix=self.id + "-")
        self._own_workdir = workdir is None
        _LIVE.add(self)

    # -- context manager ---------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return "<Lab %s %s%s>" % (self.id, sorted(self._roles), " closed" if self.closed else "")

    # -- namespaces --------------------------------------------------------
    def ns(self, role):
        """The namespace name of `role` (a role of this lab, or one of its names)."""
        if role in self._roles:
            return self._roles[role][1]
        for _kind, name in self._roles.values():
            if role == name:
                return name
        raise LabError("lab %s has no namespace %r (has: %s)"
                       % (self.id, role, ", ".join(sorted(self._roles)) or "none"))

    def namespaces(self):
        return [name for _kind, name in self._roles.values()]

    def _check_role(self, role):
        limit = 15 - len(self.id) - 1
        if not (isinstance(role, str) and 1 <= len(role) <= limit and set(role) <= _ROLE_CHARS
                and role[0].isalpha()):
            raise LabError("role %r: use 1-%d lowercase letters/digits, starting with a letter"
                           % (role, limit))
        if role in self._roles:
            raise LabError("lab %s already has a namespace for role %r" % (self.id, role))

    def _add_namespace(self, role, kind, sysctls):
        self._check_live()
        self._check_role(role)
        name = "%s-%s" % (self.id, role)
        self.state.add_namespace(name)  # recorded first: a crash now is still cleaned up
        try:
            netns.create(name)
            self._roles[role] = (kind, name)
            self._next_index[name] = _FIRST_IFINDEX
            netns.write_sysctls(name, sysctls)
        except netns.NetnsError as exc:
            raise LabError(str(exc)) from exc
        batch = nlbatch.RtnlBatch(name)
        batch.link_set(1, up=True, what="set lo up")
        self._commit(batch)
        return name

    def add_node(self, role, *, ipv6=True):
        """A node namespace (lo up; IPv6 without DAD, or IPv6 disabled)."""
        if ipv6:
            sysctls = {"ipv6.conf.all.accept_dad": 0, "ipv6.conf.default.accept_dad": 0}
        else:
            sysctls = {"ipv6.conf.all.disable_ipv6": 1, "ipv6.conf.default.disable_ipv6": 1}
        name = self._add_namespace(role, "node", sysctls)
        self._ipv6[role] = bool(ipv6)
        return name

    def add_switch(self, role="sw", bridges=("br0",)):
        """A switch namespace (IPv6 off) holding the given bridges."""
        name = self._add_namespace(role, "switch", {"ipv6.conf.all.disable_ipv6": 1,
                                                    "ipv6.conf.default.disable_ipv6": 1})
        if bridges:
            self.add_bridges(role, bridges)
        return name

    def add_bridge(self, switch, bridge):
        """Another bridge in a switch namespace; returns its ifindex."""
        return self.add_bridges(switch, [bridge])[0]

    def add_bridges(self, switch, bridges):
        """Bridges in a switch namespace, made in one batch; returns their ifindexes."""
        self._check_live()
        if self._roles.get(switch, (None,))[0] != "switch":
            raise LabError("%r is not a switch of lab %s" % (switch, self.id))
        bridges = list(bridges)
        for bridge in bridges:
            if (switch, bridge) in self._bridges or bridges.count(bridge) > 1:
                raise LabError("switch %s already has a bridge %s" % (switch, bridge))
        ns = self.ns(switch)
        batch = nlbatch.RtnlBatch(ns)
        indexes = []
        for bridge in bridges:
            indexes.append(self._take_index(ns))
            batch.bridge(bridge, index=indexes[-1], mac=self._new_mac())
        self._commit(batch)
        self._bridges.update(((switch, b), i) for b, i in zip(bridges, indexes))
        return indexes

    def _take_index(self, ns):
        index = self._next_index[ns]
        self._next_index[ns] = index + 1
        return index

    def _new_mac(self):
        self._mac_counter += 1
        if self._mac_counter > 0xFFFF:
            raise LabError("lab %s ran out of MAC addresses" % self.id)
        lab = self.id[-6:]
        return "02:%s:%s:%s:%02x:%02x" % (lab[0:2], lab[2:4], lab[4:6],
                                         self._mac_counter >> 8, self._mac_counter & 0xFF)

    @staticmethod
    def _commit(batch):
        try:
            batch.commit()
        except nlbatch.NetlinkBatchError as exc:
            raise LabError(str(exc)) from exc

    # -- links -------------------------------------------------------------
    def connect(self, *specs, wait=True, timeout=10.0):
        """Make the links in `specs` (LinkSpec), batched; return them as Links.

        With wait=True (the default) returns once every new link is running
        (carrier up, bridge port forwarding) and node-side IPv6 link-locals exist.
        """
        self._check_live()
        planned = [self._plan(spec) for spec in specs]
        by_switch, by_node = {}, {}
        fds = {}
        try:
            for link in planned:
                if link.ns not in fds:
                    fds[link.ns] = netns.open_fd(link.ns)
                batch = by_switch.setdefault(link.switch_ns, nlbatch.RtnlBatch(link.switch_ns))
                batch.veth(link.port, index=link.port_ifindex, mac=self._new_mac(),
                           peer=link.ifname, peer_index=link.ifindex, peer_mac=link.mac,
                           peer_netns_fd=fds[link.ns],
                           master=self._bridges[(link.switch, link.bridge)])
                batch.link_set(link.port_ifindex, up=True, what="set %s up" % link.port)
                nb = by_node.setdefault(link.ns, nlbatch.RtnlBatch(link.ns))
                nb.link_set(link.ifindex, up=True, what="set %s up" % link.ifname)
                for cidr in link.ipv4 + link.ipv6:
                    addr, plen, _ver = _split_cidr(cidr)
                    nb.address(link.ifindex, addr, plen, what="add %s to %s" % (cidr, link.ifname))
            for batch in list(by_switch.values()) + list(by_node.values()):
                self._commit(batch)
        finally:
            for fd in fds.values():
                os.close(fd)
        self.links.extend(planned)
        if wait:
            planned = self.wait_links(planned, timeout=timeout)
        return planned

    def _plan(self, spec):
        if not isinstance(spec, LinkSpec):
            raise LabError("connect() takes LinkSpec objects, got %r" % (spec,))
        if self._roles.get(spec.node, (None,))[0] != "node":
            raise LabError("%r is not a node of lab %s" % (spec.node, self.id))
        if (spec.switch, spec.bridge) not in self._bridges:
            raise LabError("lab %s has no bridge %s in switch %r" % (self.id, spec.bridge, spec.switch))
        v4 = (spec.ipv4,) if isinstance(spec.ipv4, str) else tuple(spec.ipv4)
        v6 = (spec.ipv6,) if isinstance(spec.ipv6, str) else tuple(spec.ipv6)
        for cidr, version in [(c, 4) for c in v4] + [(c, 6) for c in v6]:
            if _split_cidr(cidr)[2] != version:
                raise LabError("%s is not an IPv%d address" % (cidr, version))
        n = self._port_counter.get(spec.node, 0)
        ifname = spec.ifname or "eth%d" % n
        port = spec.port or "%s%d" % (spec.node, n)
        for name in (ifname, port):
            if len(name.encode()) > 15:
                raise LabError("interface name %r is longer than 15 bytes" % name)
        self._port_counter[spec.node] = n + 1
        ns, sw_ns = self.ns(spec.node), self.ns(spec.switch)
        return Link(node=spec.node, ns=ns, ifname=ifname, ifindex=self._take_index(ns),
                    mac=self._new_mac(), switch=spec.switch, switch_ns=sw_ns,
                    bridge=spec.bridge, port=port, port_ifindex=self._take_index(sw_ns),
                    ipv4=v4, ipv6=v6)

    def wait_links(self, links, *, timeout=10.0):
        """Wait until `links` are running and have their link-locals; return them updated."""
        want = {}   # ns -> set of ifindexes that must be running
        for link in links:
            want.setdefault(link.switch_ns, set()).add(link.port_ifindex)
            want.setdefault(link.ns, set()).add(link.ifindex)
        for link in links:  # the bridges carry a carrier once a port is forwarding
            want[link.switch_ns].add(self._bridges[(link.switch, link.bridge)])
        needs_ll = {(l.ns, l.ifindex) for l in links if self._ipv6.get(l.node)}
        found_ll = {}

        def ready():
            for ns, indexes in want.items():
                flags = nldump.link_flags(ns)
                if not all(flags.get(i, 0) & IFF_RUNNING for i in indexes):
                    return None
                for index, addrs in nldump.ipv6_addresses(ns).items():
                    for addr, aflags in addrs:
                        if ((ns, index) in needs_ll and addr.startswith("fe80:")
                                and not aflags & IFA_F_TENTATIVE):
                            found_ll[(ns, index)] = addr
            return set(found_ll) >= needs_ll or None

        try:
            wait_for(ready, timeout, what="%d link(s) of lab %s running" % (len(links), self.id))
        except TimeoutError as exc:
            raise LabError(str(exc)) from None
        done = [replace(l, ipv6_ll=found_ll[(l.ns, l.ifindex)]) if (l.ns, l.ifindex) in found_ll
                else l for l in links]
        position = {(l.ns, l.ifindex): i for i, l in enumerate(self.links)}
        for link in done:
            self.links[position[(link.ns, link.ifindex)]] = link
        return done

    def star(self, nodes=("a", "b"), *, switch="sw", links_per_node=1, ipv4=True, ipv6=True,
             ipv4_base="10.0.0.0", ipv6_base="fd00::", wait=True):
        """Nodes joined to one switch; link i of every node goes to bridge br<i>.

        Link i of node k (0-based) gets ipv4_base + 256*i + k+1 /24 and
        ipv6_base + i<<64 + k+1 /64, so each bridge is its own subnet.
        Returns {node role: [Link, ...]}.  Missing namespaces are created.
        """
        if not 1 <= len(nodes) <= 250:
            raise LabError("star() takes 1-250 nodes, got %d" % len(nodes))
        if not 1 <= links_per_node <= 4096:
            raise LabError("links_per_node must be 1-4096, got %r" % (links_per_node,))
        if switch not in self._roles:
            self.add_switch(switch, bridges=())
        missing = [b for b in ("br%d" % i for i in range(links_per_node))
                   if (switch, b) not in self._bridges]
        if missing:
            self.add_bridges(switch, missing)
        for node in nodes:
            if node not in self._roles:
                self.add_node(node, ipv6=ipv6)
        base4 = int(ipaddress.IPv4Address(ipv4_base))
        base6 = int(ipaddress.IPv6Address(ipv6_base))
        specs = []
        for k, node in enumerate(nodes):
            for i in range(links_per_node):
                specs.append(LinkSpec(
                    node=node, switch=switch, bridge="br%d" % i,
                    ipv4=("%s/24" % ipaddress.IPv4Address(base4 + 256 * i + k + 1),) if ipv4 else (),
                    ipv6=("%s/64" % ipaddress.IPv6Address(base6 + (i << 64) + k + 1),) if ipv6 else ()))
        made = self.connect(*specs, wait=wait)
        out = {node: [] for node in nodes}
        for link in made:
            out[link.node].append(link)
        return out

    def link(self, node, n=0):
        """The n-th link made for `node`."""
        mine = [l for l in self.links if l.node == node]
        if not 0 <= n < len(mine):
            raise LabError("node %r has %d link(s), no link %d" % (node, len(mine), n))
        return mine[n]

    # -- processes ---------------------------------------------------------
    def popen(self, ns, argv, **kwargs):
        """subprocess.Popen(argv, **kwargs) inside namespace `ns` (a role or a name).

        The process is tracked: close() stops it (and its process group) if
        it still runs.  Pass private_sysfs=False to keep the host's /sys.
        """
        self._check_live()
        name = self.ns(ns)
        try:
            proc = nsproc.popen_in(name, argv, **kwargs)
        except nsproc.NsProcError as exc:
            raise LabError(str(exc)) from exc
        self._procs.append(proc)
        self.state.add_process(proc.pid, os.path.basename(str(argv[0])))
        return proc

    def stop(self, proc, *, grace=5.0, sig=signal.SIGTERM):
        """Stop a process this lab started (SIGTERM, then SIGKILL); return its exit code."""
        if proc not in self._procs:
            raise LabError("process %s was not started by lab %s" % (proc.pid, self.id))
        code = nsproc.stop(proc, grace=grace, sig=sig)
        self._procs.remove(proc)
        self.state.remove_process(proc.pid)
        return code

    def processes(self):
        """Processes started by this lab and not yet stopped through it."""
        return list(self._procs)

    # -- helpers -----------------------------------------------------------
    def capture(self, ns="sw", ifname="br0", *, bpf=VRRP_FILTER, name=None, timeout=10.0):
        """Start tcpdump on `ifname` in `ns`; returns a Capture once it listens."""
        self._check_live()
        self._captures += 1
        path = self.path(name or "%s-%s-%d.pcap" % (ns, ifname, self._captures))
        return Capture(self, self.ns(ns), ifname, path, bpf).start(timeout=timeout)

    def iproute(self, ns):
        """A pyroute2 IPRoute inside `ns`, cached; closed by close().

        The netlink socket is opened by this thread while it is inside the
        namespace (a socket stays in the namespace it was made in), not with
        IPRoute(netns=...), which forks a helper from this multi-threaded
        process: a signal handler inherited by that child could run the
        parent's code in it."""
        self._check_live()
        name = self.ns(ns)
        for ipr_ns, ipr in self._iproutes:
            if ipr_ns == name:
                return ipr
        with netns.inside(name):
            ipr = IPRoute()
        self._iproutes.append((name, ipr))
        return ipr

    def path(self, name):
        """A path for a file of this lab (configs, pid files, captures)."""
        if not name or "/" in name or name in (".", ".."):
            raise LabError("bad lab file name %r" % (name,))
        return os.path.join(self.workdir, name)

    def _check_live(self):
        if self.closed:
            raise LabError("lab %s is closed" % self.id)

    # -- teardown ----------------------------------------------------------
    def close(self):
        """Stop every process, remove every namespace and file; safe to call twice."""
        if self.closed:
            return
        self.closed = True
        if os.getpid() != self._owner_pid:
            return  # a forked child never tears down its parent's lab
        errors = []
        for proc in reversed(self._procs):
            try:
                nsproc.stop(proc, grace=5.0)
            except Exception as exc:  # keep tearing down; report at the end
                errors.append("stopping pid %d: %s" % (proc.pid, exc))
        self._procs.clear()
        for _ns, ipr in self._iproutes:
            try:
                ipr.close()
            except Exception as exc:
                errors.append("closing IPRoute: %s" % exc)
        self._iproutes.clear()
        names = self.state.data["namespaces"]
        leftovers = sorted({pid for name in names for pid in netns.pids_in(name)} - {os.getpid()})
        if leftovers:
            labstate.kill_and_wait(leftovers)
        for name in reversed(names):
            try:
                netns.remove(name)
            except Exception as exc:
                errors.append(str(exc))
        if not errors:
            self.state.delete()
        if self._own_workdir and not os.environ.get("FASTVRRP_LAB_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)
        _LIVE.discard(self)
        if errors:
            raise LabError("teardown of lab %s: %s" % (self.id, "; ".join(errors)))


@atexit.register
def _close_live_labs():
    for lab in list(_LIVE):
        try:
            lab.close()
        except Exception:
            pass
