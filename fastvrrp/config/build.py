"""Syntax tree -> model: walk the Nodes with the schema, derive what
keepalived 2.2.7 derives, and report every problem on its line.

    config = build(nodes, diags)
    # or, reading and building together (what `fastvrrp check` does):
    builder = Builder(diags)
    read_config(path, diags, on_node=builder.feed)
    config = builder.finish()

One pass over the tree collects each block's keywords into a raw dict
(`collect`, one dict lookup per line; the schema's converters check the
words; a plain value line seen before with a pure converter gives its value
again, Block.known); declaration-order rules are kept (a track_script must
name a vrrp_script defined earlier, reference §1.11).  Hints that need the
rest of the file ("defined later in the file") are settled at the end.  Then, like keepalived's
vrrp_complete_init, the global defaults are settled, sync groups are
resolved, and each instance is completed (`finish_instance`, reference §3:
priority 255 for `state MASTER`, nopreempt cleared, v2 whole-second
intervals, auth dropped in v3/strict, ...).  Instances are completed in
instance.py, sync groups in syncgroups.py; cross-object checks run last
(checks.py).  Nothing raises for bad input.
"""

from __future__ import annotations


from . import checks, syncgroups
from .ast import Diagnostic, Diagnostics, Node
from .convert import BadValue, to_bool
from .instance import finish_instance
from .model import (Command, Config, GarpGroup, GlobalDefs, StaticTrackGroup, TrackFileDef,
                    TrackProcessDef, VrrpScript)
from .routes import RulePreferences
from .schema import (TOP, TRACK_FILE, TRACK_GROUP, VRRP_INSTANCE, VRRP_SCRIPT,
                     VRRP_SYNC_GROUP, VRRP_TRACK_PROCESS, where_known)

IGN_REASON = {
    "global_defs": "SMTP/SNMP/DBus/LVS/BFD settings are not used by fastvrrp",
    "top level": "fastvrrp runs only the VRRP side of keepalived (LVS/BFD blocks are skipped)",
    "vrrp_instance": "SMTP alerts and LVS settings are not used by fastvrrp",
    "vrrp_sync_group": "SMTP alerts are not used by fastvrrp",
}


class Frame:
    """The keywords of one block being collected (plus what converters need).

    A Frame keeps the positions of its block (`start`: the keyword line,
    `end`: the closing brace, else the keyword line), not the block's Nodes:
    once collected, a block's syntax tree can go."""
    __slots__ = ("ctx", "diags", "raw", "pos", "who", "family", "seen", "node",
                 "block", "name", "start", "end", "snapshot")

    @property
    def keyword(self) -> str:
        """The keyword of the line being converted."""
        return self.node.texts[0] if self.node is not None else ""

    def __init__(self, ctx, block, name=None, node=None, positions=False):
        self.ctx = ctx
        self.diags = ctx.diags
        self.raw: dict = {}
        # field -> Pos of its keyword, for the blocks that use them (vrrp_instance:
        # VrrpInstance.positions; vrrp_track_process); None: not kept
        self.pos: dict | None = {} if positions else None
        self.who = "(%s) " % name if name else ""
        self.family = None
        self.seen: dict = {}
        self.node = None                  # the line being converted
        self.block = block
        self.name = name
        self.start = self.end = None
        if node is not None:
            self.start = node.pos
            self.end = node.close or self.start
        self.snapshot = None


class Ctx:
    def __init__(self, diags: Diagnostics):
        self.diags = diags
        self.scripts: dict = {}
        self.script_names_seen: set = set()
        self.script_blocks_done: set = set()
        self.track_files: dict = {}
        self.track_processes: dict = {}
        self.track_groups: dict = {}
        self.rule_prefs = RulePreferences()
        self._glob_blocks = 0          # global_defs blocks read so far
        self._glob_seen = -1
        self.top = Frame(self, "top level")
        self.glob = Frame(self, "global_defs")
        self.instances: list = []          # Frames, in file order
        self.instance_names: dict = {}
        self.sync_groups: list = []
        self.sync_names: dict = {}
        self.garp_groups: list = []
        self.instance_names_all: set = set()
        self._snapshot = None
        self._snapshot_size = -1
        self.later: list = []             # see hint_if_declared_later

    def hint_if_declared_later(self, names: set, name: str, message: str) -> None:
        """The diagnostic just reported is to read `message` instead if `name`
        turns out to be in `names` (script_names_seen, instance_names_all)
        once the whole file is read: a hint that needs what comes later."""
        self.later.append((len(self.diags.items) - 1, names, name, message))

    def settle_hints(self) -> None:
        items = self.diags.items
        for index, names, name, message in self.later:
            if name in names:
                d = items[index]
                items[index] = Diagnostic(d.pos, d.severity, message, d.code)
        self.later = []

    def glob_snapshot(self) -> dict:
        """global_defs as read so far (keepalived copies some globals into an
        instance when the instance starts).  Shared until global_defs grows."""
        raw = self.glob.raw
        if self._snapshot is None or self._snapshot_size != len(raw) or self._glob_seen != \
                self._glob_blocks:
            self._snapshot = dict(raw)
            self._snapshot_size = len(raw)
            self._glob_seen = self._glob_blocks
        return self._snapshot


# ---------------------------------------------------------------- collecting

_MISS = object()
MEMO_LIMIT = 4096          # distinct values remembered per keyword (Key.memo)
KNOWN_LIMIT = 16384        # distinct lines remembered per block (Block.known)


def collect(children, block, frame: Frame) -> None:
    keys = block.keys
    fast = block.fast
    known = block.known
    diags = frame.diags
    items = diags.items
    raw = frame.raw
    where = frame.pos
    for node in children:
        # Keywords and remembered values need only the texts: a plain Node
        # makes its Word objects only when a converter or a message needs them.
        texts = node.texts
        hit = known.get(texts)
        if hit is not None and node.children is None:
            # A plain value line seen before (`interval 2`): the same value.
            field = hit[0]
            raw[field] = hit[1]
            if where is not None:
                where[field] = node.pos
            continue
        kw = texts[0]
        spec = fast.get(kw)
        if spec is not None and node.children is None:
            conv, field, lo, hi, memo, key = spec
            n = len(texts) - 1
            if lo <= n <= hi:
                # Plain value keyword: one conversion, one store.
                frame.node = node
                words = node.words
                seen = len(items)
                try:
                    val = conv(words[1:], frame)
                except BadValue as e:
                    _bad_value(frame, key, words[1].pos if n else words[0].pos, e)
                    val = key.on_error
                else:
                    if memo is not None and val is not None and len(items) == seen \
                            and len(known) < KNOWN_LIMIT:
                        known[texts] = (field, val)
                if val is not None:
                    raw[field] = val
                    if where is not None:
                        where[field] = node.pos
                continue
        key = keys.get(kw)
        if key is None:
            _unknown(node, block, frame)
            continue
        n = len(texts) - 1
        kind = key.kind
        if n < key.lo:
            diags.error(node.pos, "%s'%s' needs a value - ignoring the line" % (frame.who, kw),
                        "missing-value")
            frame.seen.setdefault("_failed", set()).add(key.field)
            continue
        if n > key.hi:
            _extra_words(node, node.words[1 + key.hi:], frame)
            n = key.hi
        if kind == "list":
            if node.children is None:
                diags.error(node.pos, "%s'%s' needs a { } block with one entry per line - "
                            "ignoring the line" % (frame.who, kw), "missing-block")
                continue
            if key.multi == "first" and key.field in raw:
                diags.error(node.pos, "%s'%s' list already given - ignoring this one"
                            % (frame.who, kw), "duplicate-keyword")
                continue
            entry = key.entry
            entries = raw.get(key.field)
            if entries is None:
                entries = raw[key.field] = []
                if where is not None:
                    where[key.field] = node.pos
            frame.node = node
            for child in node.children:
                if child.children is not None:
                    diags.error(child.pos, "%sunexpected { } block inside '%s' - skipping it"
                                % (frame.who, kw), "unexpected-block")
                    continue
                item = entry(child, frame)
                if item is not None:
                    entries.append(item)
        elif kind == "value":
            if node.children is not None:
                _no_block(node, frame)
            memo = key.memo
            val = _MISS if memo is None or n != 1 else memo.get(texts[1], _MISS)
            if val is _MISS:
                frame.node = node
                args = node.words[1:n + 1]
                seen = len(items)
                try:
                    val = key.conv(args, frame)
                except BadValue as e:
                    _bad_value(frame, key, args[0].pos if args else node.pos, e)
                    val = key.on_error
                else:
                    if memo is not None and n == 1 and len(items) == seen \
                            and len(memo) < MEMO_LIMIT:
                        memo[texts[1]] = val
            if val is not None:
                _store(key, val, node, frame)
        elif kind == "flag":
            if node.children is not None:
                _no_block(node, frame)
            raw[key.field] = True
            if where is not None:
                where[key.field] = node.pos
            if kw == "preempt":
                raw.pop("nopreempt", None)
            elif kw == "no_accept":
                raw["accept"] = False
            if key.deprecated:
                _deprecated(node, key, frame)
            if key.since:
                _since(node, key, frame)
        elif kind == "bool":
            if node.children is not None:
                _no_block(node, frame)
            try:
                val = to_bool(texts[1]) if n else True
            except BadValue as e:
                diags.error(node.words[1].pos, "%s%s: %s - ignoring" % (frame.who, kw, e),
                            "bad-value")
                continue
            _store(key, val, node, frame)
        elif kind == "block":
            if node.children is None:
                diags.error(node.pos, "%s'%s' needs a { } block - ignoring the line"
                            % (frame.who, kw), "missing-block")
                continue
            _open_block(key, node, frame)
        elif kind == "named":
            _named(key, node, frame.ctx)
        else:  # ignore
            _ignored(node, key, block, frame)


def _bad_value(frame, key, pos, e):
    frame.diags.error(pos, "%s%s: %s - %s" % (frame.who, key.name, e, key.error_note),
                      "bad-value")
    frame.seen.setdefault("_failed", set()).add(key.field)


def _store(key, val, node, frame):
    field = key.field
    raw = frame.raw
    if key.deprecated:
        _deprecated(node, key, frame)
    if key.since:
        _since(node, key, frame)
    if field.startswith("other:"):
        raw.setdefault("other", {})[field[6:]] = val
        return
    if field in raw:
        if key.multi == "first":
            frame.diags.error(node.pos, "%s%s already specified - ignoring this one"
                              % (frame.who, key.name), "duplicate-keyword")
            return
        if key.name == "state":
            from .schema import merge_state
            val = merge_state(raw[field], val, frame, node)
    raw[field] = val
    if frame.pos is not None:
        frame.pos[field] = node.pos


def _since(node, key, frame):
    frame.diags.warning(node.pos, "%s'%s' needs keepalived >= %s (keepalived 2.2.7 rejects it "
                        "as an unknown keyword)" % (frame.who, key.name, key.since),
                        "newer-keyword")


def _deprecated(node, key, frame):
    msg = "%s'%s' is deprecated - use %s" % (frame.who, key.name, key.deprecated)
    if key.dep_error:
        frame.diags.error(node.pos, msg, "deprecated")
    else:
        frame.diags.warning(node.pos, msg, "deprecated")


def _open_block(key, node, frame):
    if key.name == "global_defs":
        frame.ctx._glob_blocks += 1
        collect(node.children, key.block, frame.ctx.glob)
    elif key.name == "garp_group":
        sub = Frame(frame.ctx, "garp_group", node=node)
        collect(node.children, key.block, sub)
        frame.ctx.garp_groups.append(sub)
    else:  # authentication: its keywords belong to the instance
        if node.children == ():
            return
        collect(node.children, key.block, frame)


def _unknown(node, block, frame):
    kw = node.keyword
    if any(kw.startswith(p) for p in block.ign_prefixes):
        _ignored(node, None, block, frame)
        return
    hint = ""
    member_hint = "; sync group members go inside 'group { ... }'"
    member = block.name == "vrrp_sync_group"     # the name of an instance, perhaps
    elsewhere = [b if b != "top level" else "the top level"
                 for b in where_known(kw) if b != block.name]
    if elsewhere:       # an exact keyword of another block beats a near miss here
        hint = "; '%s' belongs in %s" % (kw, " or ".join(elsewhere))
        member = False
    elif member and kw in frame.ctx.instance_names_all:
        hint = member_hint
        member = False
    else:
        import difflib
        close = difflib.get_close_matches(kw, list(block.keys), n=1, cutoff=0.75)
        if close:
            hint = "; did you mean '%s'?" % close[0]
    if node.children is None:
        what = "keyword"
    else:
        what = "block" if block.name == "top level" else "sub-block"
    skipped = " (skipped with its { } block)" if node.children is not None else ""
    where = "" if block.name == "top level" else " in %s" % block.name
    message = "%sunknown %s '%s'%s%s" % (frame.who, what, kw, where, skipped)
    frame.diags.warning(node.pos, message + hint, "unknown-keyword")
    if member:          # an instance declared further down the file?
        frame.ctx.hint_if_declared_later(frame.ctx.instance_names_all, kw, message + member_hint)


def _ignored(node, key, block, frame):
    kw = node.keyword
    reason = IGN_REASON.get(block.name, "not used by fastvrrp")
    what = "block" if node.children is not None else "keyword"
    frame.diags.warning(node.pos, "%s'%s' %s ignored: %s" % (frame.who, kw, what, reason),
                        "ignored")


def _extra_words(node, extra, frame):
    frame.diags.warning(extra[0].pos, "%sextra words after '%s' ignored: %s"
                        % (frame.who, node.keyword, " ".join(w.text for w in extra)),
                        "extra-words")


def _no_block(node, frame):
    frame.diags.error(node.pos, "%s'%s' does not take a { } block - skipping the block"
                      % (frame.who, node.keyword), "unexpected-block")


# ---------------------------------------------------------------- named blocks

def _named(key, node, ctx: Ctx):
    kw = key.name
    diags = ctx.diags
    if len(node.texts) != 2:
        if len(node.texts) < 2:
            diags.error(node.pos, "%s must have a name - skipping the block" % kw, "missing-name")
        else:
            diags.error(node.words[2].pos, "%s must have exactly one name - skipping the block"
                        % kw, "extra-words")
        return
    name = node.texts[1]
    if node.children is None:
        diags.error(node.pos, "%s %s has no { } block - skipping it" % (kw, name), "missing-block")
        return
    if key.deprecated:
        diags.warning(node.pos, "'%s' is deprecated - use '%s'" % (kw, key.deprecated),
                      "deprecated")
    block = key.block
    if block is VRRP_INSTANCE:
        if name in ctx.instance_names:
            diags.error(node.words[1].pos, "vrrp instance %s already defined at %s - skipping "
                        "this block" % (name, ctx.instance_names[name]), "duplicate-name")
            return
        frame = Frame(ctx, block.name, name, node, positions=True)
        frame.snapshot = ctx.glob_snapshot()
        ctx.instance_names[name] = frame.start
        _collect_block(node, block, frame)
        ctx.instances.append(frame)
    elif block is VRRP_SCRIPT:
        if name in ctx.scripts:
            diags.warning(node.words[1].pos, "vrrp_script %s already defined at %s - the first "
                          "definition is used" % (name, ctx.scripts[name].pos), "duplicate-name")
            return
        frame = Frame(ctx, block.name, name, node)
        _collect_block(node, block, frame)
        ctx.script_blocks_done.add(name)
        script = finish_script(frame)
        if script is not None:
            ctx.scripts[name] = script
    elif block is VRRP_SYNC_GROUP:
        if name in ctx.sync_names:
            diags.error(node.words[1].pos, "vrrp sync group %s already defined at %s - skipping "
                        "this block" % (name, ctx.sync_names[name]), "duplicate-name")
            return
        frame = Frame(ctx, block.name, name, node)
        ctx.sync_names[name] = frame.start
        _collect_block(node, block, frame)
        ctx.sync_groups.append(frame)
    elif block is TRACK_FILE:
        if name in ctx.track_files:
            diags.error(node.words[1].pos, "track_file %s already defined - skipping this block"
                        % name, "duplicate-name")
            return
        frame = Frame(ctx, block.name, name, node)
        _collect_block(node, block, frame)
        tf = finish_track_file(frame)
        if tf is not None:
            ctx.track_files[name] = tf
    elif block is VRRP_TRACK_PROCESS:
        if name in ctx.track_processes:
            diags.error(node.words[1].pos, "vrrp_track_process %s already defined - skipping "
                        "this block" % name, "duplicate-name")
            return
        frame = Frame(ctx, block.name, name, node, positions=True)
        _collect_block(node, block, frame)
        tp = finish_track_process(frame)
        if tp is not None:
            ctx.track_processes[name] = tp
    elif block is TRACK_GROUP:
        if name in ctx.track_groups:
            diags.error(node.words[1].pos, "track_group %s already defined - skipping this block"
                        % name, "duplicate-name")
            return
        frame = Frame(ctx, block.name, name, node)
        _collect_block(node, block, frame)
        members = tuple(m for m, _ in frame.raw.get("group", ()))
        if not members:
            diags.error(frame.start, "track group %s has an empty group block" % name,
                        "empty-group")
        ctx.track_groups[name] = StaticTrackGroup(name, members, pos=frame.start)


def _collect_block(node: Node, block, frame: Frame) -> None:
    collect(node.children, block, frame)
    frame.node = None                   # the frame keeps no syntax node


def finish_script(frame: Frame):
    raw = frame.raw
    cmd = raw.get("script")
    if cmd is None:
        frame.diags.error(frame.end, "no script set for vrrp_script %s - removing it"
                          % frame.name, "missing-script")
        return None
    user = raw.get("user")
    if user is not None:
        cmd = Command(cmd.argv, user[0], user[1], cmd.pos)
    weight, reverse = raw.get("weight", (0, False))
    return VrrpScript(frame.name, cmd, interval_us=raw.get("interval_us", 1_000_000),
                      timeout_us=raw.get("timeout_us", 0), weight=weight,
                      weight_reverse=reverse, rise=raw.get("rise", 1), fall=raw.get("fall", 1),
                      init_fail=raw.get("init_fail", False), pos=frame.start)


def finish_track_file(frame: Frame):
    raw = frame.raw
    if "path" not in raw:
        frame.diags.error(frame.end, "no file set for track_file %s - ignoring it"
                          % frame.name, "missing-file")
        return None
    weight, reverse = raw.get("weight", (1, False))
    init, value, overwrite = raw.get("init_file", (False, 0, False))
    return TrackFileDef(frame.name, raw["path"], weight, reverse, init, value, overwrite,
                        pos=frame.start)


def finish_track_process(frame: Frame):
    raw = frame.raw
    if "process" not in raw:
        frame.diags.error(frame.end, "track process '%s': process name not specified"
                          % frame.name, "missing-process")
        return None
    path, params = raw["process"]
    weight, reverse = raw.get("weight", (0, False))
    quorum = raw.get("quorum", 1)
    quorum_max = raw.get("quorum_max", 0xFFFF)
    if quorum > quorum_max:
        frame.diags.error(frame.pos.get("quorum", frame.start), "quorum is greater than "
                          "quorum_max - ignoring it", "bad-quorum")
        quorum = 1 if quorum_max else 0
    delay = raw.get("delay_us")
    term = raw.get("terminate_delay_us", delay or 0)
    fork = raw.get("fork_delay_us", delay or 0)
    match = raw.get("param_match")
    full = raw.get("full_command", False) or bool(params) or match is not None
    if params and match is None:
        match = "exact"
    return TrackProcessDef(frame.name, path, params, match, weight, reverse, quorum,
                           quorum_max, term, fork, full, pos=frame.start)


# ---------------------------------------------------------------- globals

_GLOBAL_FIELDS = frozenset(GlobalDefs.__dataclass_fields__)


def finish_globals(raw: dict) -> GlobalDefs:
    vals = {k: v for k, v in raw.items() if k in _GLOBAL_FIELDS}
    extra = raw.get("vrrp_garp_extra_if")
    if extra is not None:
        vals["vrrp_garp_extra_if_s"], vals["vrrp_garp_extra_if_all"] = extra
    user = raw.get("script_user")
    if user is not None:
        vals["script_user"], vals["script_group"] = user
    # vrrp_complete_init: the lower-priority GARP defaults follow the master ones.
    vals.setdefault("vrrp_garp_lower_prio_delay_us",
                    vals.get("vrrp_garp_master_delay_us", 5_000_000))
    vals.setdefault("vrrp_garp_lower_prio_repeat", vals.get("vrrp_garp_master_repeat", 5))
    if "other" in raw:
        vals["other"] = dict(raw["other"])
    return GlobalDefs(**vals)


# ---------------------------------------------------------------- the build

_NAMED = {name: key for name, key in TOP.keys.items() if key.kind == "named"}


class Builder:
    """Builds the model from the top-level Nodes, fed one by one in file
    order (the reader can hand each block over as soon as it is read:
    read_config's `on_node`), then `finish()` -> Config.  A block is let go
    once collected, so the syntax tree never has to exist whole."""

    def __init__(self, diags: Diagnostics) -> None:
        self.ctx = Ctx(diags)

    def feed(self, node: Node) -> None:
        ctx = self.ctx
        texts = node.texts
        if len(texts) > 1:
            kw = texts[0]
            if kw == "vrrp_script":      # names declared anywhere, for hints in messages
                ctx.script_names_seen.add(texts[1])
            elif kw == "vrrp_instance":
                ctx.instance_names_all.add(texts[1])
            key = _NAMED.get(kw)
            if key is not None and len(texts) == 2:
                _named(key, node, ctx)   # `vrrp_instance NAME {`: what collect would do
                return
        collect((node,), TOP, ctx.top)

    def finish(self) -> Config:
        ctx = self.ctx
        try:
            ctx.settle_hints()
            return _finish(ctx)
        finally:
            _release(ctx)


def build(nodes, diags: Diagnostics) -> Config:
    """The model of the top-level Nodes `nodes` (read_config's tuple).  When
    the caller keeps no reference to `nodes`, each block is freed once fed."""
    builder = Builder(diags)
    todo = list(nodes)
    del nodes
    for i in range(len(todo)):
        node = todo[i]
        todo[i] = None
        builder.feed(node)
    return builder.finish()


def _release(ctx: Ctx) -> None:
    """Frames point back at the Ctx: break the cycles so that everything the
    build held (raw dicts, syntax nodes) is freed at once, without the cyclic GC."""
    for frame in [ctx.top, ctx.glob] + ctx.instances + ctx.sync_groups + ctx.garp_groups:
        frame.ctx = None
    ctx.instances = ctx.sync_groups = ctx.garp_groups = []


def _finish(ctx: Ctx) -> Config:
    """keepalived's vrrp_complete_init, once every block is collected."""
    diags = ctx.diags
    g = finish_globals(ctx.glob.raw)

    # vrrp_complete_init order: sync groups, then each instance, then the group states

    groups = syncgroups.resolve(ctx.sync_groups, {f.name for f in ctx.instances}, diags)
    member_of = {m: grp for grp in groups.values() for m in grp["members"]}

    instances = []
    for frame in ctx.instances:
        inst = finish_instance(frame, g, member_of.get(frame.name))
        frame.raw = frame.seen = None     # done with: the next instances reuse the memory
        if inst is not None:
            instances.append(inst)
    groups = syncgroups.prune_members(groups, {i.name for i in instances})
    instances = syncgroups.start_states(instances, groups, diags)
    sync_groups = {name: grp["model"] for name, grp in groups.items()}
    instances = syncgroups.apply_trackers(instances, sync_groups, diags)

    top = ctx.top.raw
    config = Config(
        global_defs=g,
        instances=tuple(instances),
        scripts=dict(ctx.scripts),
        track_files=dict(ctx.track_files),
        track_processes=dict(ctx.track_processes),
        sync_groups=sync_groups,
        static_addresses=tuple(_static_defaults(top.get("static_ipaddress", ()), g)),
        static_routes=tuple(top.get("static_routes", ())),
        static_rules=tuple(top.get("static_rules", ())),
        track_groups=dict(ctx.track_groups),
        garp_groups=tuple(_garp_group(f) for f in ctx.garp_groups if _garp_ok(f)),
        linkbeat_interfaces=tuple(top.get("linkbeat_interfaces", ())),
        interface_up_down_delays=tuple(top.get("interface_up_down_delays", ())),
        net_namespace=top.get("net_namespace"),
        instance_name=top.get("instance"),
        top={k: v for k, v in top.items()
             if k in ("namespace_with_ipsets", "use_pid_dir", "child_wait_time",
                      "linkbeat_use_polling")},
    )
    checks.run(config, diags)
    return config


def _static_defaults(addresses, g: GlobalDefs):
    # Static addresses without `dev` go on global default_interface (vrrp_ipaddress.c).
    for a in addresses:
        if a.dev is None:
            from dataclasses import replace
            a = replace(a, dev=g.default_interface)
        yield a


def _garp_ok(frame):
    if "garp_interval_us" not in frame.raw and "gna_interval_us" not in frame.raw:
        frame.diags.error(frame.start, "garp_group has no garp_interval or gna_interval - "
                          "removing it", "empty-garp-group")
        return False
    return True


def _garp_group(frame) -> GarpGroup:
    raw = frame.raw
    ifs = list(raw.get("interfaces", ()))
    if "interface" in raw:
        ifs.insert(0, raw["interface"])
    return GarpGroup(raw.get("garp_interval_us"), raw.get("gna_interval_us"), tuple(ifs),
                     pos=frame.start)
