"""Accept mode on the host: nftables drop rules for the VIPs of no_accept masters.

    fw = AcceptModeFirewall()                 # one per daemon, opened on first use
    await fw.cleanup_stale()                  # start: a crashed run's table goes
    await fw.hold("VI_1", ["10.0.0.1", ...])  # RFC 5798 §6.4.3 Accept_Mode False, Master
    await fw.release("VI_1")                  # leaving Master
    await fw.close()                          # stop: the tables go

RFC 5798 §6.4.3 / keepalived 2.2.7 vrrp.c vrrp_handle_accept_mode: a
non-owner instance with `no_accept` (explicit, or implied by strict mode)
drops traffic to its VIPs while it is Master.  The rules and their shape are
in firewall_spec.py; this module talks nftables over netlink (pyroute2's
NETLINK_NETFILTER socket, one per family): tables, chains and rules are
created once, when the first address of a family is held; after that only
set elements change.  Several instances may hold the same address: it stays
in the set until the last one releases it.

Nothing here raises into the daemon: a failure is returned as a string
(and logged), and `probe()` tells `fastvrrp check` whether nf_tables can be
used at all on this kernel.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import struct
from typing import Iterable, Optional

from . import firewall_spec as S

log = logging.getLogger("fastvrrp.host.firewall")


class FirewallError(Exception):
    """nftables could not do what was asked (message says what and why)."""


def _reason(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    if code in (errno.EPROTONOSUPPORT, errno.EAFNOSUPPORT, errno.EOPNOTSUPP):
        return "the kernel has no nf_tables support (nf_tables module missing)"
    if code == errno.EPERM:
        return "permission denied (needs CAP_NET_ADMIN)"
    if isinstance(exc, OSError) and exc.errno in (errno.EPROTONOSUPPORT, errno.EAFNOSUPPORT):
        return "the kernel has no netfilter netlink support"
    return "%s: %s" % (type(exc).__name__, exc)


def probe(netns: Optional[str] = None) -> Optional[str]:
    """None when nf_tables answers here, else why not (for `fastvrrp check`).

    Read-only: lists the IPv4 tables.  Runs in a thread of its own, so that
    neither pyroute2's private event loop nor entering `netns` touches the
    caller's thread."""
    import threading
    out: list = []
    worker = threading.Thread(target=lambda: out.append(_probe(netns)), name="nft-probe")
    worker.start()
    worker.join()
    return out[0] if out else "the nf_tables probe failed"


def _probe(netns: Optional[str]) -> Optional[str]:
    try:
        from pyroute2.nftables.main import NFTables
    except ImportError as exc:
        return "pyroute2 has no nftables support (%s)" % exc
    if netns:
        # this worker thread only; flags=0: never create the namespace
        from pyroute2.netns import setns
        try:
            setns(netns, flags=0)
        except OSError as exc:
            return "cannot enter network namespace %s: %s" % (netns, exc)
    try:
        nft = NFTables(nfgen_family=S.NFPROTO[4])
        try:
            nft.get_tables()
        finally:
            nft.close()
    except Exception as exc:      # the reason is the answer
        return _reason(exc)
    return None


# nfnetlink (linux/netfilter/nfnetlink.h, nf_tables.h): the table query of tables_present
_NETLINK_NETFILTER = 12
_NFT_MSG_GETTABLE = (10 << 8) | 1          # NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETTABLE
_NLM_F_REQUEST, _NLM_F_ACK = 0x1, 0x4
_NLMSG_ERROR = 2
_NFTA_TABLE_NAME = 1
_NLMSG_HDR = struct.Struct("=IHHII")
_PROBE_TIMEOUT_S = 1.0


def _table_request(seq: int, nfproto: int, table: str) -> bytes:
    name = table.encode() + b"\0"
    attr = struct.pack("=HH", 4 + len(name), _NFTA_TABLE_NAME) + name
    attr += b"\0" * (-len(attr) % 4)
    body = struct.pack("=BBH", nfproto, 0, 0) + attr          # nfgenmsg, NFNETLINK_V0
    return _NLMSG_HDR.pack(_NLMSG_HDR.size + len(body), _NFT_MSG_GETTABLE,
                           _NLM_F_REQUEST | _NLM_F_ACK, seq, 0) + body


def _table_answers(data: bytes, answers: dict) -> None:
    """Record per sequence number: True (the table came back, or a bare ack),
    False (ENOENT), None (another error); the first answer of a sequence stays."""
    offset = 0
    while offset + _NLMSG_HDR.size <= len(data):
        length, kind, _flags, seq, _pid = _NLMSG_HDR.unpack_from(data, offset)
        if length < _NLMSG_HDR.size:
            break
        if kind == _NLMSG_ERROR and offset + _NLMSG_HDR.size + 4 <= len(data):
            code = -struct.unpack_from("=i", data, offset + _NLMSG_HDR.size)[0]
            answers.setdefault(seq, True if code == 0 else
                               False if code == errno.ENOENT else None)
        elif kind >= 16:                      # a data message: the table itself
            answers.setdefault(seq, True)
        offset += (length + 3) & ~3


def tables_present(table: str = S.TABLE, families=(4, 6)) -> Optional[bool]:
    """Whether nftables holds `table` in any of `families` (4, 6) in this network
    namespace: True / False, or None when the kernel's answer is not clear
    (no nf_tables, no permission, a timeout).  One blocking NETLINK_NETFILTER
    query per family, no pyroute2: a start with nothing to clean pays
    well under a millisecond."""
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_NETFILTER)
    except OSError:
        return None
    try:
        sock.settimeout(_PROBE_TIMEOUT_S)
        sock.bind((0, 0))
        base = (os.getpid() & 0xFFFF) << 16
        seqs = {base + i + 1: fam for i, fam in enumerate(families)}
        for seq, fam in seqs.items():
            sock.send(_table_request(seq, S.NFPROTO[fam], table))
        answers: dict = {}
        while not all(seq in answers for seq in seqs):
            _table_answers(sock.recv(65536), answers)
    except OSError:
        return None
    finally:
        sock.close()
    results = [answers.get(seq) for seq in seqs]
    if any(r is True for r in results):
        return True
    if all(r is False for r in results):
        return False
    return None


def _nft_socket_class():
    """pyroute2's AsyncNFTables receiving through nlsocket.ReaderTransport, so it
    works on uvloop too (the same fix as nlsocket.pyroute2_class)."""
    global _NFT_CLASS
    if _NFT_CLASS is None:
        from pyroute2.nftables.main import AsyncNFTables

        from .nlsocket import ReaderEndpoint

        class NFTables(ReaderEndpoint, AsyncNFTables):
            pass

        _NFT_CLASS = NFTables
    return _NFT_CLASS


_NFT_CLASS = None


async def open_nft(family: int):
    """A netfilter netlink socket for one family (4 or 6), ready to use."""
    sock = _nft_socket_class()(nfgen_family=S.NFPROTO[family])
    await sock.setup_endpoint()
    return sock


class _Family:
    """One family's table: its socket, whether the table is built, what it holds."""

    def __init__(self, family: int) -> None:
        self.family = family
        self.sock = None
        self.built = False
        self.counts: dict[str, int] = {}       # address -> number of holders


class AcceptModeFirewall:
    """See the module docstring."""

    def __init__(self, table: str = S.TABLE, priority: int = S.DEFAULT_PRIORITY) -> None:
        if not table or len(table) > 63:
            raise ValueError("nftables table name must be 1..63 characters: %r" % (table,))
        if not -2 ** 31 <= int(priority) < 2 ** 31:
            raise ValueError("nftables chain priority out of range: %r" % (priority,))
        self.table = table
        self.priority = int(priority)
        self._fams = {4: _Family(4), 6: _Family(6)}
        self._holders: dict[str, dict[int, set]] = {}   # owner -> family -> addresses
        self._lock = asyncio.Lock()
        self.failures = 0
        self.last_error: Optional[str] = None

    # ------------------------------------------------------------ public

    def held(self) -> frozenset:
        """The addresses in the sets now (str)."""
        return frozenset(a for f in self._fams.values() for a in f.counts)

    async def cleanup_stale(self) -> Optional[str]:
        """Delete our tables if a crashed run left them (None: done or nothing there).
        Issue 6 (start-up): one raw netlink query first (tables_present); only when
        a table is there, or the query cannot tell, do pyroute2's sockets open."""
        if tables_present(self.table, tuple(self._fams)) is False:
            return None
        async with self._lock:
            errors = []
            for fam in self._fams.values():
                err = await self._delete_table(fam, missing_ok=True)
                if err:
                    errors.append(err)
            return "; ".join(errors) or None

    async def hold(self, owner: str, addresses: Iterable) -> Optional[str]:
        """Drop traffic to exactly `addresses` for `owner` (an instance name): what it
        held before and no longer lists is released (a reload changed its VIPs).
        None on success."""
        by_family: dict[int, set] = {4: set(), 6: set()}
        try:
            for a in addresses:
                by_family[S.family_of(a)].add(S.plain(a))
        except ValueError as exc:
            return self._fail("(%s) bad address for the accept-mode firewall: %s" % (owner, exc))
        async with self._lock:
            mine = self._holders.setdefault(owner, {})
            errors = []
            for family, wanted in by_family.items():
                dropped = mine.get(family, set()) - wanted
                if dropped:
                    err = await self._unhold(self._fams[family], dropped)
                    if err:
                        errors.append(err)
                    mine[family] -= dropped
                fam = self._fams[family]
                new = wanted - mine.get(family, set())
                if not new:
                    continue
                err = await self._build(fam)
                if err is None:
                    fresh = [a for a in sorted(new) if fam.counts.get(a, 0) == 0]
                    err = await self._elements(fam, "add", fresh) if fresh else None
                if err is not None:
                    errors.append(err)
                    continue
                for a in new:
                    fam.counts[a] = fam.counts.get(a, 0) + 1
                mine.setdefault(family, set()).update(new)
            if errors:
                return self._fail("(%s) cannot set the accept-mode drop rule: %s"
                                  % (owner, "; ".join(errors)))
            return None

    def holds(self, owner: str) -> bool:
        """True while `owner` has addresses in the drop rule."""
        return bool(self._holders.get(owner))

    def rename(self, old: str, new: str) -> None:
        """`old` is now called `new` (a reload renamed the instance): what it
        holds stays dropped, under its new name."""
        if old != new and old in self._holders:
            self._holders[new] = self._holders.pop(old)

    async def release(self, owner: str) -> Optional[str]:
        """Stop dropping what `owner` held (addresses others hold stay)."""
        async with self._lock:
            mine = self._holders.pop(owner, None)
            if not mine:
                return None
            errors = []
            for family, addresses in mine.items():
                err = await self._unhold(self._fams[family], addresses)
                if err:
                    errors.append(err)
            if errors:
                return self._fail("(%s) cannot remove the accept-mode drop rule: %s"
                                  % (owner, "; ".join(errors)))
            return None

    async def close(self) -> Optional[str]:
        """Delete the tables we built and close the sockets (clean stop)."""
        async with self._lock:
            errors = []
            for fam in self._fams.values():
                if fam.built:
                    err = await self._delete_table(fam, missing_ok=True)
                    if err:
                        errors.append(err)
                fam.built = False
                fam.counts.clear()
                if fam.sock is not None:
                    fam.sock.close()
                    fam.sock = None
            self._holders.clear()
            return self._fail("; ".join(errors)) if errors else None

    async def _unhold(self, fam: "_Family", addresses) -> Optional[str]:
        """One holder fewer for each address; those nobody holds leave the set."""
        gone = []
        for a in addresses:
            n = fam.counts.get(a, 0) - 1
            if n <= 0:
                fam.counts.pop(a, None)
                gone.append(a)
            else:
                fam.counts[a] = n
        if gone and fam.built:
            return await self._elements(fam, "del", sorted(gone))
        return None

    # ------------------------------------------------------------ netlink

    def _fail(self, message: str) -> str:
        self.failures += 1
        self.last_error = message
        log.error("%s", message)
        return message

    async def _socket(self, fam: _Family):
        if fam.sock is None:
            fam.sock = await open_nft(fam.family)
        return fam.sock

    async def _delete_table(self, fam: _Family, missing_ok: bool) -> Optional[str]:
        try:
            sock = await self._socket(fam)
            await sock.table("del", name=self.table)
        except Exception as exc:
            if missing_ok and getattr(exc, "code", None) == errno.ENOENT:
                return None
            return "IPv%d table %s: %s" % (fam.family, self.table, _reason(exc))
        fam.built = False
        return None

    async def _build(self, fam: _Family) -> Optional[str]:
        """Table, set, chains and rules of one family (once)."""
        if fam.built:
            return None
        from pyroute2.netlink.nfnetlink.nftsocket import NFT_MSG_NEWSET, nft_set_msg
        from pyroute2.nftables.main import NFTSet
        step = "table"
        try:
            sock = await self._socket(fam)
            await sock.table("add", name=self.table)
            step = "set"
            nset = NFTSet(table=self.table, name=S.SET, key_type=S.KEY_TYPE[fam.family])
            await sock._command(nft_set_msg, {"add": NFT_MSG_NEWSET}, "add", nset.as_netlink())
            for chain in S.CHAINS:
                step = "chain " + chain
                await sock.chain("add", table=self.table, name=chain, hook=S.HOOKS[chain],
                                 priority=self.priority, type="filter", policy=S.NF_ACCEPT)
            for rule in S.rules(fam.family):
                step = "rule '%s'" % rule.text
                await sock.rule("add", table=self.table, chain=rule.chain,
                                expressions=[[e] for e in rule.expressions])
        except Exception as exc:
            err = "IPv%d %s: %s" % (fam.family, step, _reason(exc))
            await self._delete_table(fam, missing_ok=True)   # no half-built table stays
            return err
        fam.built = True
        return None

    async def _elements(self, fam: _Family, op: str, addresses: list) -> Optional[str]:
        from pyroute2.netlink.nfnetlink.nftsocket import (DATA_TYPE_NAME_TO_INFO,
                                                           NFT_MSG_DELSETELEM,
                                                           NFT_MSG_NEWSETELEM,
                                                           nft_set_elem_list_msg)
        from pyroute2.nftables.main import NFTSetElem
        modifier = DATA_TYPE_NAME_TO_INFO[S.KEY_TYPE[fam.family]][2]()
        modifier.header = None
        elements = [NFTSetElem(value=a).as_netlink(modifier) for a in addresses]
        cmd = {"add": NFT_MSG_NEWSETELEM, "del": NFT_MSG_DELSETELEM}
        try:
            sock = await self._socket(fam)
            await sock._command(nft_set_elem_list_msg, cmd, op,
                                {"table": self.table, "set": S.SET, "elements": elements})
        except Exception as exc:
            return "IPv%d set %s %s %s: %s" % (fam.family, S.SET, op, ", ".join(addresses),
                                               _reason(exc))
        return None


async def list_tables(family: int) -> list:
    """The names of this namespace's nftables tables of a family (for tests and status)."""
    sock = await open_nft(family)
    try:
        return [t.get_attr("NFTA_TABLE_NAME") async for t in await sock.get_tables()]
    finally:
        sock.close()


async def set_elements(family: int, table: str = S.TABLE) -> set:
    """The addresses in our `vips` set (str); empty when the table is missing."""
    from pyroute2.netlink.nfnetlink.nftsocket import (DATA_TYPE_NAME_TO_INFO, NFT_MSG_GETSETELEM,
                                                       nft_set_elem_list_msg)
    from pyroute2.nftables.main import NFTSetElem
    sock = await open_nft(family)
    try:
        msg = nft_set_elem_list_msg()
        msg["attrs"] = [["NFTA_SET_ELEM_LIST_TABLE", table], ["NFTA_SET_ELEM_LIST_SET", S.SET]]
        modifier = DATA_TYPE_NAME_TO_INFO[S.KEY_TYPE[family]][2]()
        modifier.header = None
        out = set()
        try:
            async for reply in await sock.request_get(msg, NFT_MSG_GETSETELEM):
                for elem in reply.get_attr("NFTA_SET_ELEM_LIST_ELEMENTS") or ():
                    out.add(str(NFTSetElem.from_netlink(elem, modifier).value))
        except Exception as exc:
            if getattr(exc, "code", None) == errno.ENOENT:
                return set()
            raise
        return out
    finally:
        sock.close()


__all__ = ["AcceptModeFirewall", "FirewallError", "probe", "list_tables", "set_elements"]
