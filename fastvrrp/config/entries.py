"""Value-block entries and multi-word values that need the build context:
track_* entries, unicast peers, sync-group members, weights, notify commands.

An entry function takes one line of a value block - its `Node` - and the
block's `Frame` (see build.py: `frame.who` is the "(NAME) " message prefix,
`frame.diags` the diagnostics, `frame.ctx` the whole build with what has
been declared so far) and returns the value, or None after reporting why it
was dropped.  Entries read `node.texts` and `node.pos`; the Word objects
(`node.words`) are asked for only where a message needs a later word's
position, so a plain line that is fine never makes them.  Messages and
fallbacks follow keepalived 2.2.7 (vrrp_track.c, vrrp_data.c).
"""

from __future__ import annotations

from .addresses import parse_address
from .command import parse_command
from .convert import BadValue, to_int, to_ip, to_uint
from .model import Fifo, TrackFile, TrackInterface, TrackProcess, TrackScript, UnicastPeer
from .routes import parse_route, parse_rule


# (kind, default, the words after the name) -> (weight, reverse) they gave
# without a problem: big configurations repeat `weight -20` in every instance.
_WEIGHTS: dict = {}
_WEIGHTS_LIMIT = 4096


def _track_weight(node, frame, kind, lo, hi, clamp254, allow_noreverse, default):
    """`NAME [weight W [reverse|noreverse]]` -> (weight, reverse) or None."""
    texts = node.texts
    if len(texts) < 2:
        return default
    key = (kind, default, texts[1:])
    res = _WEIGHTS.get(key)
    if res is None:
        items = frame.diags.items
        seen = len(items)
        res = _read_weight(node, frame, kind, lo, hi, clamp254, allow_noreverse, default)
        if res is not None and len(items) == seen and len(_WEIGHTS) < _WEIGHTS_LIMIT:
            _WEIGHTS[key] = res
    return res


def _read_weight(node, frame, kind, lo, hi, clamp254, allow_noreverse, default):
    """_track_weight for a line with words after the name, reporting problems."""
    texts = node.texts
    name = texts[0]
    weight, reverse = default
    n = len(texts)
    if texts[1] != "weight":
        frame.diags.error(node.words[1].pos, "%sunknown %s option '%s' - ignoring %s"
                          % (frame.who, kind, texts[1], name), "unknown-option")
        return None
    if n == 2:
        frame.diags.error(node.words[1].pos, "%sweight without a value for %s %s - ignoring it"
                          % (frame.who, kind, name), "missing-value")
        return None
    try:
        w = to_int(texts[2], lo, hi)
        if clamp254 and w in (-254, 254):
            frame.diags.error(node.words[2].pos, "%sweight for %s cannot be +/-254 - using %+d"
                              % (frame.who, name, 253 if w > 0 else -253), "out-of-range")
            w = 253 if w > 0 else -253
        weight = w
    except BadValue:
        frame.diags.error(node.words[2].pos, "%s%s %s: weight %s must be in [%d, %d] - %s"
                          % (frame.who, kind, name, texts[2], -253 if clamp254 else lo,
                             253 if clamp254 else hi,
                             "using 0" if kind == "track_interface" else "ignoring the weight"),
                          "out-of-range")
        if kind == "track_interface":
            weight = 0
    if n >= 4:
        opt = texts[3]
        if opt == "reverse":
            reverse = True
        elif opt == "noreverse" and allow_noreverse:
            reverse = False
        else:
            frame.diags.error(node.words[3].pos, "%sunknown %s weight option '%s' - ignoring it"
                              % (frame.who, kind, opt), "unknown-option")
    if n > 4:
        _extra(node.words[4:], frame)
    return weight, reverse


def _extra(words, frame):
    frame.diags.warning(words[0].pos, "%sextra words ignored: %s"
                        % (frame.who, " ".join(w.text for w in words)), "extra-words")


def _dup(frame, field, name, kind, pos):
    seen = frame.seen.get(field)
    if seen is None:
        seen = frame.seen[field] = set()
    elif name in seen:
        frame.diags.error(pos, "%sduplicate %s %s - ignoring" % (frame.who, kind, name),
                          "duplicate-entry")
        return True
    seen.add(name)
    return False


def track_interface(node, frame):
    # vrrp_track.c alloc_track_if: 'noreverse' is not accepted here.
    name = node.texts[0]
    pos = node.pos
    if _dup(frame, "track_interface", name, "track_interface", pos):
        return None
    res = _track_weight(node, frame, "track_interface", -254, 254, True, False, (0, False))
    if res is None:
        return None
    return TrackInterface(name, res[0], res[1], pos=pos)


def track_script(node, frame):
    # Scripts are looked up when the line is read: they must be declared earlier (§1.11).
    name = node.texts[0]
    pos = node.pos
    ctx = frame.ctx
    script = ctx.scripts.get(name)
    if script is None:
        message = "%strack script %s not found, ignoring" % (frame.who, name)
        if name in ctx.script_blocks_done:
            frame.diags.error(pos, message + " (its vrrp_script block was removed, see the error "
                              "there)", "undefined-script")
        else:
            frame.diags.error(pos, message, "undefined-script")
            ctx.hint_if_declared_later(ctx.script_names_seen, name, message + " (it is defined "
                                       "later in the file; keepalived needs it before its users)")
        return None
    if _dup(frame, "track_script", name, "track_script", pos):
        return None
    res = _track_weight(node, frame, "track_script", -254, 254, True, True,
                        (script.weight, script.weight_reverse))
    if res is None:
        return None
    return TrackScript(name, res[0], res[1], pos=pos)


def _declared_tracker(node, frame, kind, declared, what, cls):
    """A track_file / track_process line naming a tracker declared in `declared`:
    `NAME [weight W [reverse|noreverse]]`, the declared weight by default."""
    name = node.texts[0]
    pos = node.pos
    tracker = declared.get(name)
    if tracker is None:
        frame.diags.error(pos, "%strack %s %s not found, ignoring" % (frame.who, what, name),
                          "undefined-track-" + what)
        return None
    if _dup(frame, kind, name, kind, pos):
        return None
    res = _track_weight(node, frame, kind, -254, 254, False, True,
                        (tracker.weight, tracker.weight_reverse))
    if res is None:
        return None
    return cls(name, res[0], res[1], pos=pos)


def track_file(node, frame):
    return _declared_tracker(node, frame, "track_file", frame.ctx.track_files, "file", TrackFile)


def track_process(node, frame):
    return _declared_tracker(node, frame, "track_process", frame.ctx.track_processes,
                             "process", TrackProcess)


def track_bfd(node, frame):
    frame.diags.warning(node.pos, "%strack_bfd %s ignored: BFD is not supported by fastvrrp "
                        "(the tracker counts as always up)" % (frame.who, node.texts[0]),
                        "unsupported")
    return None


def _family(frame, fam, pos, what):
    """The first address decides the instance family (reference §2.3)."""
    if frame.family is None:
        frame.family = fam
        return True
    if frame.family != fam:
        frame.diags.error(pos, "%s%s: address family must match the instance (IPv%d) - ignoring"
                          % (frame.who, what, frame.family), "family-mismatch")
        return False
    return True


def vip(node, frame):
    a = parse_address(node, frame.diags, frame.who)
    if a is None or not _family(frame, a.address.version, a.pos, node.texts[0]):
        return None
    return a


def evip(node, frame):
    return parse_address(node, frame.diags, frame.who)


def static_address(node, frame):
    return parse_address(node, frame.diags, "", True, frame.ctx.track_groups)


def vroute(node, frame):
    return parse_route(node.words, frame.diags, frame.who)


def static_route(node, frame):
    return parse_route(node.words, frame.diags, "", True, frame.ctx.track_groups)


def vrule(node, frame):
    return parse_rule(node.words, frame.diags, frame.who, frame.ctx.rule_prefs)


def static_rule(node, frame):
    return parse_rule(node.words, frame.diags, "", frame.ctx.rule_prefs, True,
                      frame.ctx.track_groups)


def unicast_peer(node, frame):
    words = node.words
    first = words[0]
    try:
        addr = to_ip(first.text)
    except BadValue:
        frame.diags.error(first.pos, "%smalformed unicast peer address '%s' - skipping it"
                          % (frame.who, first.text), "bad-address")
        return None
    if not _family(frame, addr.version, first.pos, "unicast peer " + first.text):
        return None
    if _dup(frame, "unicast_peer", str(addr), "unicast_peer", first.pos):
        return None
    ttl = {"min_ttl": 0, "max_ttl": 255}
    i = 1
    while i < len(words):
        opt = words[i]
        if i + 1 >= len(words):
            frame.diags.error(opt.pos, "%s%s is missing a value" % (frame.who, opt.text),
                              "missing-value")
            break
        try:
            val = to_uint(words[i + 1].text, 0, 255)
        except BadValue as e:
            frame.diags.error(words[i + 1].pos, "%sunicast_peer %s: %s - ignoring"
                              % (frame.who, opt.text, e), "out-of-range")
            i += 2
            continue
        if opt.text not in ttl:
            frame.diags.error(opt.pos, "%sunknown unicast_peer option %s" % (frame.who, opt.text),
                              "unknown-option")
            break
        ttl[opt.text] = val
        frame.raw["_peer_ttl"] = True      # a ttl option turns on check_unicast_src
        i += 2
    if ttl["min_ttl"] > ttl["max_ttl"]:
        frame.diags.error(first.pos, "%smin_ttl %d > max_ttl %d - all packets will be discarded"
                          % (frame.who, ttl["min_ttl"], ttl["max_ttl"]), "bad-ttl")
    return UnicastPeer(addr, ttl["min_ttl"], ttl["max_ttl"], pos=first.pos)


def member(node, frame):
    """One name per line (sync group / track_group `group` blocks)."""
    if len(node.texts) > 1:
        _extra(node.words[1:], frame)
    return (node.texts[0], node.pos)


def interface_name(node, frame):
    if len(node.texts) > 1:
        _extra(node.words[1:], frame)
    return node.texts[0]


# ---------------------------------------------------------------- multi-word values

def _line(frame):
    node = frame.node
    return getattr(node, "text", None) if node is not None else None


def notify_command(args, frame):
    cmd, extra = parse_command(args, True, _line(frame))
    if extra:
        _extra_text(extra, args, frame)
    if cmd.user is not None and not cmd.is_system and len(args) >= 2 and not args[0].quoted:
        frame.diags.warning(args[1].pos, "%s'%s' is read as the user to run the script as (and "
                            "'%s' as its group); quote the command to pass arguments"
                            % (frame.who, cmd.user, cmd.group or ""), "notify-user")
    return cmd


def script_command(args, frame):
    cmd, extra = parse_command(args, False, _line(frame))
    if extra:
        _extra_text(extra, args, frame)
    return cmd


def _extra_text(extra, args, frame):
    frame.diags.warning(args[-1].pos, "%sextra words ignored: %s" % (frame.who, " ".join(extra)),
                        "extra-words")


def fifo(args, frame):
    user = args[1].text if len(args) > 1 else None
    group = args[2].text if len(args) > 2 else None
    if len(args) > 3:
        _extra(args[3:], frame)
    return Fifo(args[0].text, user, group, pos=args[0].pos)


def user_group(args, frame):
    if len(args) > 2:
        _extra(args[2:], frame)
    return (args[0].text, args[1].text if len(args) > 1 else None)


def weight_reverse(lo, hi, what):
    """`weight N [reverse]` of vrrp_script / track_file / vrrp_track_process."""
    def conv(args, frame):
        w = to_int(args[0].text, lo, hi)
        reverse = False
        if len(args) >= 2:
            if args[1].text == "reverse":
                reverse = True
            else:
                frame.diags.error(args[1].pos, "%sunknown %s weight option '%s' - ignoring it"
                                  % (frame.who, what, args[1].text), "unknown-option")
        if len(args) > 2:
            _extra(args[2:], frame)
        return (w, reverse)
    conv.pure = True          # see schema.pure
    return conv
