"""VMAC interfaces (keepalived's `use_vmac`): macvlans carrying the VRRP virtual MAC.

RFC 5798 §7.3: a virtual router's MAC is 00-00-5E-00-01-{VRID} (IPv4) or
00-00-5E-00-02-{VRID} (IPv6).  keepalived 2.2.7 (vrrp_vmac.c, vrrp_if_config.c)
gives an instance with `use_vmac` its own macvlan interface with that MAC, and
so does `VmacManager.create(VmacSpec(...))`, through netlink only:

1. RTM_NEWLINK (create, exclusive): kind macvlan, IFLA_MACVLAN_MODE private
   (macvlans on one base do not see each other; frames from the wire to the
   virtual MAC reach the VMAC), IFLA_LINK = the base interface, IFLA_ADDRESS =
   the virtual MAC (or `use_vmac`'s MAC), named `vrrp.<VRID>` unless named;
2. RTM_NEWLINK (set): IFLA_IFALIAS = our mark (below) and IFLA_AF_SPEC
   inet6 IFLA_INET6_ADDR_GEN_MODE = none: no EUI-64 link-local from the
   virtual MAC (RFC 5798 §7.4 wants the link-local of the real interface);
3. IPv4 VMACs, sysctls as keepalived sets them (written to /proc/sys/net of
   the calling thread's network namespace):
   - the VMAC: arp_ignore=1, accept_local=1, rp_filter=0,
     promote_secondaries=1; IPv6 off (disable_ipv6=1) unless the instance
     has IPv6 eVIPs (`other_family`);
   - the base interface: arp_ignore=1 and arp_filter=1, so that the base
     does not answer ARP for the VIPs on the VMAC (the VIP answers with the
     virtual MAC); counted per base, restored when its last VMAC goes;
   - rp_filter: a VMAC needs net.ipv4.conf.all.rp_filter=0 (the kernel uses
     the larger of `all` and the interface's value); keepalived first raises
     `default` and every interface (not lo, not VMACs) below the old `all`
     value to it, so their filtering is unchanged, then sets `all` to 0.
     Restored (each value only if it is still what we set) when the last
     IPv4 VMAC is deleted;
   IPv6 VMACs: disable_ipv6=0, nothing else;
4. RTM_NEWLINK (set) IFF_UP;
5. IPv6 VMACs without `vmac_xmit_base`: the link-local the adverts are sent
   from, /64, IFA_F_NODAD, preferred_lft 0 (deprecated, as keepalived
   2.2.7 adds it): `source` if given, else the base's link-local, else the
   EUI-64 of the base's MAC.

`delete(spec)` removes the VMAC (RTM_DELLINK) and restores what it changed.
A VMAC deleted by someone else (keepalived 2.2.7 keepalived_netlink.c: an
RTM_DELLINK of an interface that is ours and that it is not deleting runs
recreate_vmac_thread): `lost(ifindex)` names the held VMAC of a link that
went away without our asking, `recreate(spec)` forgets it and makes it again
(same name when free, same MAC and settings).

Ownership.  Only an interface we can prove is ours is ever deleted or
reused: kind macvlan, mode private, and IFLA_IFALIAS starting with
"fastvrrp:" (the mark written right after creation):

    fastvrrp:<instance> pid=<pid> family=<4|6> [arp_ignore=N] [arp_filter=N]
                        [rp_filter=N] [all.rp_filter=N] [default.rp_filter=N]

The optional fields are the original values of the base's (arp_ignore,
arp_filter, rp_filter) and the global sysctls this daemon changed, so a later
run can restore them after a crash.  The mark is written before any sysctl
changes; when it cannot be written the new macvlan is deleted at once (a
crash in that instant leaves an unmarked macvlan, which no run will touch).
`cleanup_stale_vmacs()` (start-up, after kill -9) deletes every marked VMAC
not in `keep` whose pid is not a live fastvrrp process other than us, then
restores the recorded sysctls (per base once no marked VMAC remains on it;
rp_filter, with the bases' own, once no marked IPv4 VMAC remains).  The
rp_filter values raised on other interfaces are not recorded: after a crash
they stay raised, which filters exactly as before (the kernel uses
max(all, interface)).

Deliberate differences from keepalived 2.2.7: it adopts any private macvlan
on the base with the right MAC (even one an administrator made) and deletes
it at stop; fastvrrp adopts and deletes only marked ones.  keepalived 2.2.7
(its devconf code path, observed in a namespace) leaves the base's
arp_ignore/arp_filter and the raised per-interface rp_filter at 1 after stop;
fastvrrp restores them.  keepalived's nftables rules for IGMP/MLD reports on
VMACs are not made here (firewall, not links).

The spec, names and the mark are vmacspec.py's, the sysctl handling
vmac_sysctl.py's; their names are importable from here too.
"""

import errno
import logging
import os
import socket
from dataclasses import dataclass

from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST
from pyroute2.netlink.rtnl import RTM_DELLINK, RTM_NEWLINK
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from .addrspec import VipSpec
from .nlrequest import collect, name_prefix, netlink_change, netlink_query
from .objects import IFF_UP
from .outcome import ABSENT, DONE, EXISTS, FAILED, NetlinkQueryError, Outcome
from .vmac_sysctl import (BASE_SYSCTLS, VMAC_SYSCTLS, RpFilter, Sysctl, restore_after,
                          restore_base, restore_rp_filter)
from .vmacspec import VmacMark, VmacSpec, eui64_linklocal, virtual_mac, vmac_name

log = logging.getLogger("fastvrrp.host")

MACVLAN_MODE_PRIVATE = 1
IN6_ADDR_GEN_MODE_NONE = 1


def _pid_is_other_fastvrrp(pid):
    """True if `pid` is a running fastvrrp process other than this one."""
    if pid == os.getpid() or pid <= 0:
        return False
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            return b"fastvrrp" in fh.read()
    except OSError:
        return False


# -- what netlink tells us about links ----------------------------------------------
@dataclass(frozen=True)
class LinkView:
    """The link attributes VMAC handling looks at."""

    index: int
    ifname: str
    kind: str
    mode: int               # IFLA_MACVLAN_MODE (0 if not a macvlan)
    alias: str
    link: int               # IFLA_LINK: the base's ifindex
    mac: str
    flags: int

    @property
    def mark(self):
        if self.kind != "macvlan" or self.mode != MACVLAN_MODE_PRIVATE:
            return None
        return VmacMark.decode(self.alias)

    @classmethod
    def from_msg(cls, msg):
        info = msg.get("IFLA_LINKINFO")
        kind, mode = "", 0
        if info is not None:
            kind = info.get("IFLA_INFO_KIND") or ""
            data = info.get("IFLA_INFO_DATA")
            if kind == "macvlan" and data is not None:
                raw = data.get("IFLA_MACVLAN_MODE")
                names = {"private": 1, "vepa": 2, "bridge": 4, "passthru": 8, "source": 16}
                mode = names.get(raw, raw) if isinstance(raw, str) else int(raw or 0)
                mode = mode if isinstance(mode, int) else 0
        return cls(index=int(msg["index"]), ifname=msg.get("IFLA_IFNAME") or "", kind=kind,
                   mode=mode, alias=msg.get("IFLA_IFALIAS") or "",
                   link=int(msg.get("IFLA_LINK") or 0),
                   mac=(msg.get("IFLA_ADDRESS") or "").lower(), flags=int(msg.get("flags") or 0))


async def dump_links(netlink):
    """Every link as LinkView; raises NetlinkQueryError."""
    async def dump(ipr):
        return [LinkView.from_msg(m) for m in await collect(await ipr.link("dump"))]
    return await netlink_query(netlink, "dump links", dump)


# -- requests --------------------------------------------------------------------
@dataclass(frozen=True)
class LinkRequest:
    """Describes a VMAC link request for Outcomes and logs."""

    ifname: str
    base: str
    mac: str
    index: int = 0

    def describe(self):
        return "VMAC %s (macvlan private on %s, %s)" % (self.ifname, self.base, self.mac)


def _msg(index=0, attrs=(), flags=0, change=0):
    msg = ifinfmsg()
    msg["family"] = socket.AF_UNSPEC
    msg["index"] = index
    msg["flags"] = flags
    msg["change"] = change
    msg["attrs"] = [list(a) for a in attrs]
    return msg


def create_msg(ifname, base_index, mac):
    """RTM_NEWLINK body creating the private-mode macvlan."""
    return _msg(attrs=[
        ("IFLA_IFNAME", ifname), ("IFLA_LINK", base_index), ("IFLA_ADDRESS", mac),
        ("IFLA_LINKINFO", {"attrs": [
            ["IFLA_INFO_KIND", "macvlan"],
            ["IFLA_INFO_DATA", {"attrs": [["IFLA_MACVLAN_MODE", MACVLAN_MODE_PRIVATE]]}]]})])


def mark_msg(index, alias):
    """RTM_NEWLINK (set): our mark and IPv6 address generation off."""
    return _msg(index, attrs=[
        ("IFLA_IFALIAS", alias),
        ("IFLA_AF_SPEC", {"attrs": [["AF_INET6", {"attrs": [
            ["IFLA_INET6_ADDR_GEN_MODE", IN6_ADDR_GEN_MODE_NONE]]}]]})])


@dataclass(frozen=True)
class Vmac:
    """A VMAC this manager holds."""

    spec: VmacSpec
    ifname: str
    ifindex: int
    mac: str
    base_ifname: str
    base_ifindex: int
    adopted: bool = False       # found from an earlier run, not created now


class _Base:
    """Sysctl state of one base interface (keepalived's reset_arp_config count)."""

    def __init__(self, ifname):
        self.ifname = ifname
        self.refs = 0           # VMACs held on it
        self.saved = {}         # key -> original value (only the keys we changed)


class VmacManager:
    """Creates and deletes VMACs; see the module docstring.  Never raises on netlink errors."""

    def __init__(self, netlink, *, sysctl=None):
        if getattr(netlink, "netns", None) is not None:
            raise ValueError("VmacManager needs a Netlink of the calling thread's namespace "
                             "(the sysctls are written there), not netns=%r" % (netlink.netns,))
        self.netlink = netlink
        self.sysctl = sysctl or Sysctl()
        self._held = {}         # spec -> Vmac
        self._deleting = set()  # specs whose VMAC we are deleting ourselves
        self._bases = {}        # base ifindex -> _Base
        self._rp = None         # RpFilter once an IPv4 VMAC needed all.rp_filter cleared

    # -- what we hold ------------------------------------------------------
    @property
    def vmacs(self):
        return tuple(self._held.values())

    def get(self, spec):
        """The Vmac of `spec`, or None if not held."""
        return self._held.get(spec)

    def lost(self, ifindex):
        """The Vmac held at `ifindex` when its link went away behind our back
        (an RTM_DELLINK we did not cause), else None."""
        for spec, vmac in self._held.items():
            if vmac.ifindex == ifindex and spec not in self._deleting:
                return vmac
        return None

    async def recreate(self, spec):
        """keepalived vrrp_netlink.c / vrrp_if.c recreate_vmac_thread: a VMAC of
        ours was deleted by someone else; make it again with the same name
        (when free), MAC and settings -> Outcome of the creation.  What it
        held is forgotten first, its sysctls restored and set again."""
        if not isinstance(spec, VmacSpec):
            raise TypeError("recreate() takes a VmacSpec, got %r" % (spec,))
        if spec in self._held:
            gone = await self.delete(spec)     # ABSENT: the link is already gone
            if not gone.ok:
                return gone
        return await self.create(spec)

    @staticmethod
    def _prefix(spec):
        return name_prefix(spec.instance)

    # -- create ------------------------------------------------------------
    async def create(self, spec):
        """Create (or adopt a marked leftover of) the VMAC -> Outcome.

        DONE: created; EXISTS: already held, or a VMAC of ours from an earlier
        run was adopted; FAILED: see the error (nothing unmarked left behind).
        The name used is `get(spec).ifname`.
        """
        if not isinstance(spec, VmacSpec):
            raise TypeError("create() takes a VmacSpec, got %r" % (spec,))
        held = self._held.get(spec)
        if held is not None:
            return Outcome("add", LinkRequest(held.ifname, held.base_ifname, held.mac,
                                              held.ifindex), EXISTS, 0, "already created")
        prefix = self._prefix(spec)
        unresolved = LinkRequest(spec.default_name(), spec.base_ifname, spec.virtual_mac)
        try:
            base = await self.netlink.link(spec.base_ifname)
            links = await dump_links(self.netlink)
        except NetlinkQueryError as exc:
            return self._fail(unresolved, exc.errno, str(exc), prefix)
        if base is None:
            return self._fail(unresolved, errno.ENODEV,
                              "base interface %s does not exist" % spec.base_ifname, prefix)
        ifname, existing, stale = self._choose(spec, base, links)
        req = LinkRequest(ifname, spec.base_ifname, spec.virtual_mac)
        if stale is not None:
            # A VMAC of ours with this name that cannot be reused (other base or MAC).
            log.info("%sremoving our old VMAC %s (its base or MAC differ)", prefix, stale.ifname)
            gone = await self._delete_link(LinkRequest(stale.ifname, spec.base_ifname,
                                                       stale.mac, stale.index))
            if not gone.ok:
                return gone
            restore_after(self.sysctl, [stale], {l.index: l.ifname for l in links},
                          busy_bases={v.base_ifindex for v in self._held.values()
                                      if v.spec.family == 4},
                          rp_busy=self._rp is not None)
        adopted = existing is not None
        if adopted:
            index = existing.index
            self._adopt_saved(existing, base)
        else:
            outcome = await netlink_change(
                self.netlink, "add", req, create_msg(ifname, base.index, spec.virtual_mac),
                RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
            if not outcome.changed:
                return Outcome("add", req, FAILED, outcome.errno, outcome.error)
            try:
                link = await self.netlink.link(ifname)
            except NetlinkQueryError as exc:
                link = None
                log.warning("%scannot read back VMAC %s: %s", prefix, ifname, exc)
            if link is None:
                return self._fail(req, errno.ENODEV, "VMAC %s vanished after creation" % ifname,
                                  prefix)
            index = link.index
        req = LinkRequest(ifname, spec.base_ifname, spec.virtual_mac, index)
        saved = self._plan(spec, base)
        mark = VmacMark(spec.instance, os.getpid(), spec.family, tuple(sorted(saved.items())))
        marked = await netlink_change(self.netlink, "add", req, mark_msg(index, mark.encode()),
                                      RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK)
        if not marked.changed:
            # An unmarked macvlan must not outlive this call: no later run could prove it ours.
            if not adopted:
                await self._delete_link(req)
            return Outcome("add", req, FAILED, marked.errno,
                           "cannot mark %s as ours: %s" % (ifname, marked.error))
        self._apply(spec, base, ifname, saved)
        up = await netlink_change(self.netlink, "add", req,
                                  _msg(index, flags=IFF_UP, change=IFF_UP),
                                  RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK)
        if not up.changed:
            log.warning("%scannot set VMAC %s up: %s", prefix, ifname, up.error)
        self._held[spec] = Vmac(spec, ifname, index, spec.virtual_mac, base.ifname, base.index,
                                adopted)
        if spec.family == 6 and not spec.xmit_base:
            await self._add_linklocal(spec, base, index, prefix)
        log.info("%s%s VMAC interface %s", prefix, "reusing" if adopted else "created", ifname)
        return Outcome("add", req, EXISTS if adopted else DONE, 0,
                       "adopted from an earlier run" if adopted else "")

    @staticmethod
    def _fail(req, code, message, prefix):
        log.warning("%scannot create %s: %s", prefix, req.describe(), message)
        return Outcome("add", req, FAILED, code, message)

    def _choose(self, spec, base, links):
        """(name, reusable marked link or None, marked link to replace or None)."""
        by_name = {l.ifname: l for l in links}
        held_names = {v.ifname for v in self._held.values()}
        held_indexes = {v.ifindex for v in self._held.values()}

        def ours_free(link):
            return (link.mark is not None and link.index not in held_indexes
                    and not _pid_is_other_fastvrrp(link.mark.pid))

        def reusable(link):
            return (ours_free(link) and link.link == base.index
                    and link.mac == spec.virtual_mac and link.mark.family == spec.family)

        if spec.name is not None and spec.name not in held_names:
            link = by_name.get(spec.name)
            if link is None:
                return spec.name, None, None
            if reusable(link):
                return spec.name, link, None
            if ours_free(link):
                return spec.name, None, link
        if spec.name is not None:
            log.warning("%sinterface %s already exists and is not a VMAC of ours to use; using "
                        "a generated name", self._prefix(spec), spec.name)
        taken = set(held_names) | {l.ifname for l in links if not reusable(l)}
        name = vmac_name(spec.prefix, spec.vrid, spec.family, taken)
        return name, by_name.get(name), None

    def _adopt_saved(self, link, base):
        """Take the original sysctl values recorded on a reused VMAC as ours."""
        mark = link.mark
        if mark is None or mark.family != 4:
            return
        state = self._bases.get(base.index)
        if state is None:
            state = self._bases[base.index] = _Base(base.ifname)
        if state.refs == 0:
            for key, _want in BASE_SYSCTLS:
                value = mark.saved_value(key)
                if value is not None:
                    state.saved.setdefault(key, value)
        all_value = mark.saved_value("all.rp_filter")
        if self._rp is None and all_value is not None:
            self._rp = RpFilter(all_value, mark.saved_value("default.rp_filter"))
        if self._rp is not None and mark.saved_value("rp_filter") is not None:
            self._rp.interfaces.setdefault(base.ifname, mark.saved_value("rp_filter"))

    # -- sysctls ---------------------------------------------------------------
    def _plan(self, spec, base):
        """The originals this VMAC's mark records (read before anything is written)."""
        saved = {}
        if spec.family != 4:
            return saved
        state = self._bases.get(base.index)
        if state is not None and state.refs > 0:
            saved.update(state.saved)
        else:
            known = state.saved if state is not None else {}
            for key, want in BASE_SYSCTLS:
                if key in known:
                    saved[key] = known[key]
                    continue
                value = self.sysctl.get("ipv4", base.ifname, key)
                if value is not None and value != want:
                    saved[key] = value
        rp = self._rp
        all_value = rp.all if rp is not None else self.sysctl.get("ipv4", "all", "rp_filter")
        if not all_value:
            return saved
        saved["all.rp_filter"] = all_value
        changing = rp is None or not rp.applied         # the values are still the originals
        default = self.sysctl.get("ipv4", "default", "rp_filter")
        if rp is not None and rp.default is not None:
            saved["default.rp_filter"] = rp.default
        elif changing and default is not None and default < all_value:
            saved["default.rp_filter"] = default
        own = self.sysctl.get("ipv4", base.ifname, "rp_filter")
        if rp is not None and base.ifname in rp.interfaces:
            saved["rp_filter"] = rp.interfaces[base.ifname]
        elif changing and own is not None and own < all_value:
            saved["rp_filter"] = own
        return saved

    def _apply(self, spec, base, ifname, saved):
        """Write the sysctls of a new (or adopted) VMAC and of its base."""
        ctl = self.sysctl
        if spec.family == 4:
            self._clear_rp_filter(saved, skip={ifname} | {v.ifname for v in self._held.values()})
            state = self._bases.get(base.index)
            if state is None:
                state = self._bases[base.index] = _Base(base.ifname)
            state.ifname = base.ifname
            if state.refs == 0:
                state.saved = {k: saved[k] for k, _w in BASE_SYSCTLS if k in saved}
                for key, want in BASE_SYSCTLS:
                    if ctl.get("ipv4", base.ifname, key) != want:
                        ctl.set("ipv4", base.ifname, key, want)
            state.refs += 1
            for key, want in VMAC_SYSCTLS:
                ctl.set("ipv4", ifname, key, want)
        ipv6_on = spec.family == 6 or spec.other_family
        ctl.set("ipv6", ifname, "disable_ipv6", 0 if ipv6_on else 1)

    def _clear_rp_filter(self, saved, skip):
        """keepalived clear_rp_filter: VMACs get rp_filter 0 without loosening the others."""
        if self._rp is not None and self._rp.applied:
            return
        all_value = saved.get("all.rp_filter")
        if not all_value:
            return
        if self._rp is None:
            self._rp = RpFilter(all_value, saved.get("default.rp_filter"))
        ctl = self.sysctl
        default = ctl.get("ipv4", "default", "rp_filter")
        if default is not None and default < all_value:
            if self._rp.default is None:
                self._rp.default = default
            log.info("NOTICE: setting sysctl net.ipv4.conf.default.rp_filter from %d to %d",
                     default, all_value)
            ctl.set("ipv4", "default", "rp_filter", all_value)
        for name in ctl.interfaces("ipv4"):
            if name == "lo" or name in skip:
                continue
            value = ctl.get("ipv4", name, "rp_filter")
            if value is not None and value < all_value:
                self._rp.interfaces.setdefault(name, value)
                ctl.set("ipv4", name, "rp_filter", all_value)
        if ctl.get("ipv4", "all", "rp_filter") != 0:
            log.info("NOTICE: setting sysctl net.ipv4.conf.all.rp_filter from %d to 0", all_value)
            ctl.set("ipv4", "all", "rp_filter", 0)
        self._rp.applied = True

    def _restore_rp_filter(self):
        rp, self._rp = self._rp, None
        if rp is not None:
            restore_rp_filter(self.sysctl, rp)

    def _release_base(self, vmac):
        state = self._bases.get(vmac.base_ifindex)
        if state is None:
            return
        state.refs -= 1
        if state.refs > 0:
            return
        del self._bases[vmac.base_ifindex]
        restore_base(self.sysctl, state.ifname, state.saved)

    # -- IPv6 link-local -------------------------------------------------------
    async def _add_linklocal(self, spec, base, index, prefix):
        """The source link-local of an IPv6 VMAC (keepalived set_link_local_address)."""
        address = spec.source
        if address is None:
            try:
                address = await self.netlink.ipv6_linklocal(base.index)
            except NetlinkQueryError as exc:
                log.warning("%scannot read the link-local of %s: %s", prefix, base.ifname, exc)
            if address is None and base.mac:
                address = eui64_linklocal(base.mac)
        if address is None:
            log.warning("%sno link-local address for VMAC of %s", prefix, base.ifname)
            return None
        vip = VipSpec(str(address), prefixlen=64, ifindex=index, preferred_lft=0)
        outcome = await self.netlink.add_address(vip.to_netlink(index, proto=None))
        if not outcome.ok:
            log.warning("%sadding link-local %s to VMAC failed: %s", prefix, address,
                        outcome.error)
        return outcome

    # -- delete ----------------------------------------------------------------
    async def _delete_link(self, req):
        return await netlink_change(self.netlink, "del", req, _msg(req.index), RTM_DELLINK,
                                    NLM_F_REQUEST | NLM_F_ACK, {errno.ENODEV: ABSENT})

    async def delete(self, spec):
        """Delete the VMAC of `spec` and restore the sysctls it changed -> Outcome."""
        vmac = self._held.get(spec)
        if vmac is None:
            return Outcome("del", LinkRequest(spec.name or "?", spec.base_ifname,
                                              spec.virtual_mac), ABSENT, 0,
                           "no VMAC held for this spec")
        req = LinkRequest(vmac.ifname, vmac.base_ifname, vmac.mac, vmac.ifindex)
        try:
            current = {l.index: l for l in await dump_links(self.netlink)}.get(vmac.ifindex)
        except NetlinkQueryError as exc:
            return Outcome("del", req, FAILED, exc.errno, str(exc))
        if current is None or current.ifname != vmac.ifname or current.mark is None:
            outcome = Outcome("del", req, ABSENT, errno.ENODEV, "the VMAC is already gone")
        else:
            self._deleting.add(spec)           # its RTM_DELLINK is ours, not a loss
            try:
                outcome = await self._delete_link(req)
            finally:
                self._deleting.discard(spec)
            if not outcome.ok:
                return outcome
        del self._held[spec]
        if spec.family == 4:
            self._release_base(vmac)
            if not any(v.spec.family == 4 for v in self._held.values()):
                self._restore_rp_filter()
        if outcome.status == ABSENT:
            log.info("%sVMAC interface %s was already gone", self._prefix(spec), vmac.ifname)
        else:
            log.info("%sremoved VMAC interface %s", self._prefix(spec), vmac.ifname)
        return outcome

    async def delete_all(self):
        """Delete every VMAC held (clean stop) -> [Outcome]."""
        return [await self.delete(spec) for spec in list(self._held)]


# -- start-up: what a crashed earlier run left behind ---------------------------------
async def cleanup_stale_vmacs(netlink, *, sysctl=None, keep=()):
    """Delete VMACs of ours left by an earlier run and restore their sysctls -> [Outcome].

    A link is ours when it is a private-mode macvlan whose alias is our mark
    (see the module docstring); one whose mark names a live fastvrrp process
    other than this one is left alone, and so is anything named or indexed
    in `keep`.  Never raises on netlink errors.
    """
    if getattr(netlink, "netns", None) is not None:
        raise ValueError("cleanup_stale_vmacs needs a Netlink of the calling thread's namespace")
    sysctl = sysctl or Sysctl()
    keep = set(keep)
    try:
        links = await dump_links(netlink)
    except NetlinkQueryError as exc:
        log.warning("cannot look for stale VMACs: %s", exc)
        return [Outcome("del", LinkRequest("(stale VMACs)", "?", "?"), FAILED, exc.errno,
                        str(exc))]
    names = {l.index: l.ifname for l in links}
    stale, remaining = [], []
    for link in links:
        mark = link.mark
        if mark is None:
            continue
        if link.ifname in keep or link.index in keep or _pid_is_other_fastvrrp(mark.pid):
            remaining.append(link)
        else:
            stale.append(link)
    outcomes, deleted = [], []
    for link in stale:
        req = LinkRequest(link.ifname, names.get(link.link, "ifindex %d" % link.link), link.mac,
                          link.index)
        log.info("removing stale VMAC %s (%s) left by an earlier run", link.ifname, link.alias)
        outcome = await netlink_change(netlink, "del", req, _msg(link.index), RTM_DELLINK,
                                       NLM_F_REQUEST | NLM_F_ACK, {errno.ENODEV: ABSENT})
        outcomes.append(outcome)
        if outcome.ok:
            deleted.append(link)
    ipv4_left = [l for l in remaining if l.mark.family == 4]
    restore_after(sysctl, deleted, names, busy_bases={l.link for l in ipv4_left},
                  rp_busy=bool(ipv4_left))
    return outcomes


# The spec side (vmacspec.py) and the sysctls (vmac_sysctl.py) are importable from here too.
__all__ = ["LinkRequest", "LinkView", "Sysctl", "Vmac", "VmacManager", "VmacMark", "VmacSpec",
           "cleanup_stale_vmacs", "dump_links", "eui64_linklocal", "restore_after",
           "restore_base", "restore_rp_filter", "virtual_mac", "vmac_name"]
