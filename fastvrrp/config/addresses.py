"""Address entries: one line of virtual_ipaddress, virtual_ipaddress_excluded
or static_ipaddress (reference §2.3).

    ADDR[/PREFIX] [dev IF] [scope S] [brd|broadcast A|+|-] [label L] [peer A]
    [home] [-nodad] [mngtmpaddr] [noprefixroute] [autojoin] [no_track]
    [preferred_lft N|forever] [use_vmac]            (virtual addresses)
    [track_group G]                                  (static addresses)

Errors follow keepalived 2.2.7: a bad address, a missing option value, a
bad broadcast or an over-long label drop the entry; a bad prefix length
falls back to the full length; an unknown word is reported and skipped.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from .ast import Diagnostics, Node
from .convert import RT_SCOPES, BadValue, to_ip, to_ipv4, to_ipv6, to_named_number, to_uint, word
from .model import IpAddress

FOREVER = 0xFFFFFFFF
_FLAGS = {"home": "home", "mngtmpaddr": "mngtmpaddr", "noprefixroute": "noprefixroute",
          "autojoin": "autojoin", "no_track": "no_track"}
_WITH_VALUE = frozenset(("dev", "scope", "broadcast", "brd", "label", "peer",
                         "preferred_lft", "track_group"))


def parse_address(node: Node, diags: Diagnostics, who: str,
                  static: bool = False, track_groups=None) -> IpAddress | None:
    """One address line (a Node: `ADDR[/PREFIX] [options]`) -> IpAddress, or
    None after reporting why it is dropped."""
    texts = node.texts
    text = texts[0]
    addr_text, slash, plen_text = text.partition("/")
    v6 = ":" in addr_text              # the family, chosen as keepalived does (convert.to_ip)
    try:
        addr = to_ipv6(addr_text) if v6 else to_ipv4(addr_text)
    except BadValue:
        diags.error(node.pos, "%sinvalid IP address '%s' - skipping it" % (who, text),
                    "bad-address")
        return None
    maxlen = 128 if v6 else 32
    prefixlen = maxlen
    if slash:
        try:
            if plen_text.isascii() and plen_text.isdigit() and len(plen_text) <= 3:
                prefixlen = int(plen_text)
                if prefixlen > maxlen:
                    raise BadValue(plen_text)
            else:
                prefixlen = to_uint(plen_text, 0, maxlen)
        except BadValue:
            diags.error(node.pos, "%sinvalid prefix length '%s' for address %s - using %d"
                        % (who, plen_text, text, maxlen), "bad-prefix")
    if len(texts) == 1:      # the common line: no Word objects needed
        if v6:
            return IpAddress(addr, prefixlen, preferred_lft=0 if prefixlen == 128 else FOREVER,
                             pos=node.pos)
        return IpAddress(addr, prefixlen, pos=node.pos)
    return _with_options(node.words, addr, prefixlen, diags, who, static, track_groups)


def _with_options(words, addr, prefixlen, diags, who, static, track_groups):
    first = words[0]
    opts: dict = {}
    brd_mode = None
    i, n = 1, len(words)
    while i < n:
        w = words[i]
        key = w.text
        if key in _WITH_VALUE and (key != "track_group" or static):
            if i + 1 >= n:
                diags.error(w.pos, "%sno value given for '%s' of address %s - skipping the address"
                            % (who, key, first.text), "missing-value")
                return None
            val = words[i + 1]
            i += 2
            if key == "dev":
                if "dev" in opts:
                    diags.error(w.pos, "%sdevice given twice for address %s - skipping the address"
                                % (who, first.text), "duplicate-option")
                    return None
                opts["dev"] = val.text
            elif key == "scope":
                try:
                    opts["scope"] = to_named_number(val.text, RT_SCOPES, 255, "scope")
                except BadValue as e:
                    diags.error(val.pos, "%s%s for address %s - ignoring the scope"
                                % (who, e, first.text), "bad-scope")
            elif key in ("broadcast", "brd"):
                if addr.version == 6:
                    diags.error(w.pos, "%sbroadcast given for IPv6 address %s - skipping the address"
                                % (who, first.text), "bad-broadcast")
                    return None
                if val.text in ("+", "-"):
                    brd_mode = val.text
                else:
                    try:
                        opts["broadcast"] = to_ipv4(val.text)
                        brd_mode = "addr"
                    except BadValue:
                        diags.error(val.pos, "%sinvalid broadcast address '%s' - skipping the address"
                                    % (who, val.text), "bad-broadcast")
                        return None
            elif key == "label":
                if len(val.text) >= 16:
                    diags.error(val.pos, "%saddress label '%s' is longer than 15 characters - "
                                "skipping the address" % (who, val.text), "bad-label")
                    return None
                opts["label"] = val.text
            elif key == "peer":
                if "peer" in opts:
                    diags.error(val.pos, "%speer %s: another peer was already given - ignoring"
                                % (who, val.text), "duplicate-option")
                    continue
                try:
                    peer = to_ip(val.text)
                except BadValue:
                    diags.error(val.pos, "%sinvalid peer address '%s'" % (who, val.text), "bad-address")
                    continue
                if peer.version != addr.version:
                    diags.error(val.pos, "%speer address %s does not match the address family"
                                % (who, val.text), "family-mismatch")
                    continue
                if prefixlen != (32 if addr.version == 4 else 128):
                    diags.error(val.pos, "%sa prefix length cannot be given together with a peer "
                                "address - ignoring the prefix" % who, "bad-prefix")
                opts["peer"] = peer
                prefixlen = 32 if peer.version == 4 else 128
            elif key == "preferred_lft":
                if val.text == "forever":
                    opts["preferred_lft"] = FOREVER
                else:
                    try:
                        opts["preferred_lft"] = to_uint(val.text, 0, FOREVER)
                    except BadValue:
                        diags.error(val.pos, "%spreferred_lft '%s' is invalid" % (who, val.text),
                                    "bad-number")
            elif key == "track_group":
                if "track_group" in opts:
                    diags.error(val.pos, "%strack_group %s is a duplicate" % (who, val.text),
                                "duplicate-option")
                    break
                if track_groups is not None and val.text not in track_groups:
                    diags.error(val.pos, "%strack_group %s not found (a track_group must be "
                                "defined before it is used)" % (who, val.text), "undefined-name")
                else:
                    opts["track_group"] = val.text
            continue
        if key in _FLAGS:
            opts[_FLAGS[key]] = True
        elif key == "-nodad":
            opts["nodad"] = False
        elif key == "use_vmac" and not static:
            opts["use_vmac"] = True
        else:
            diags.error(w.pos, "%sunknown option '%s' for address %s - ignoring it"
                        % (who, key, first.text), "unknown-option")
        i += 1

    if brd_mode is not None:
        if "peer" in opts:
            diags.error(first.pos, "%sbroadcast and peer cannot both be given - ignoring the "
                        "broadcast address" % who, "bad-broadcast")
            opts.pop("broadcast", None)
        elif brd_mode in ("+", "-"):
            if prefixlen <= 30:
                base = int(addr)
                mask = 0xFFFFFFFF >> prefixlen
                opts["broadcast"] = IPv4Address(base | mask if brd_mode == "+" else base & ~mask)
            else:
                diags.error(first.pos, "%sprefix length %d too long for a broadcast address"
                            % (who, prefixlen), "bad-broadcast")
    if addr.version == 6:
        if opts.get("scope"):
            diags.error(first.pos, "%sa scope cannot be given for IPv6 address %s - ignoring the "
                        "scope" % (who, first.text), "bad-scope")
            opts.pop("scope")
        if "label" in opts:
            diags.error(first.pos, "%sa label cannot be given for IPv6 address %s - ignoring the "
                        "label" % (who, first.text), "bad-label")
            opts.pop("label")
        if "preferred_lft" not in opts:
            opts["preferred_lft"] = 0 if prefixlen == 128 else FOREVER
    if "track_group" in opts and "dev" not in opts:
        diags.error(first.pos, "%sa static address needs 'dev' to use a track_group - ignoring "
                    "the track_group" % who, "track-group-needs-dev")
        opts.pop("track_group")
    return IpAddress(addr, prefixlen, pos=first.pos, **opts)


def format_address(a: IpAddress, static: bool = False) -> str:
    """Canonical text of an address entry (inverse of parse_address)."""
    out = [str(a.address) if a.peer is not None else "%s/%d" % (a.address, a.prefixlen)]
    if a.dev is not None:
        out.append("dev " + word(a.dev))
    if a.scope:
        out.append("scope %d" % a.scope)
    if a.broadcast is not None:
        out.append("brd %s" % a.broadcast)
    if a.label is not None:
        out.append("label " + word(a.label))
    if a.peer is not None:
        out.append("peer %s" % a.peer)
    for flag in ("home", "mngtmpaddr", "noprefixroute", "autojoin", "no_track"):
        if getattr(a, flag):
            out.append(flag)
    if not a.nodad:
        out.append("-nodad")
    if a.preferred_lft is not None:
        default = None
        if a.address.version == 6:
            default = 0 if a.prefixlen == 128 else FOREVER
        if a.preferred_lft != default:
            out.append("preferred_lft " + ("forever" if a.preferred_lft == FOREVER
                                            else str(a.preferred_lft)))
    if a.use_vmac and not static:
        out.append("use_vmac")
    if a.track_group is not None and static:
        out.append("track_group " + word(a.track_group))
    return " ".join(out)
