"""Read a keepalived.conf (and everything it includes) into a syntax tree.

    nodes = read_config("/etc/keepalived/keepalived.conf", diags, config_id="main")

The result is a tuple of top-level `Node`s (see ast.py): every line is a
Node of words; a line followed by `{ ... }` (on the same line or the next)
has the lines inside as children and `close` at its `}`.  Comments, `@id`
conditionals, `$NAME` parameters, `~SEQ`/`~LST` and `include` are already
resolved; every word keeps the file, line and column it came from (a word
made by substitution: the `$` of the use; a quoted word: its opening quote).
`Node.text` is the logical line as keepalived's handlers see it.

Reading never raises for bad input: each problem is a Diagnostic with a
stable `code`, and reading goes on.  Codes (severity as keepalived -t
would count it; include problems are errors only under include checks):

    config-unreadable       the main file cannot be read (keepalived: cannot run)
    config-not-found        a main-file glob matches nothing
    multiple-config-files   a main-file glob matches several files (all are read)
    include-missing / include-no-match / include-unreadable / include-no-pattern
    include-repeated        a file already read is not read again (warning)
    bad-include-check       global_defs include_check with an unknown word
    unterminated-quote / unmatched-quote
    extra-close-brace / missing-close-brace / unexpected-open-brace
    bad-sequence            a malformed ~SEQ / ~LST
    recursive-param         a substitution that does not end
    expansion-limit         ~SEQ/~LST/multi-line expansion over its bounds
    nul-byte, line-too-long, bom, backslash-not-continuation
    internal-error          a bug in this reader (never expected)
"""

from __future__ import annotations

import gc
import os

from .ast import Diagnostic, Diagnostics, Node, Pos
from . import include as inc
from .preprocess import Preprocessor


def default_config_id() -> str:
    """keepalived's default config-id: the node name up to its first '.'."""
    return os.uname().nodename.split(".", 1)[0]


def _main_files(path: str, diags: Diagnostics) -> list[str]:
    """The main file may itself be a glob (keepalived reads every match)."""
    if not any(c in path for c in "*?[{"):
        return [path]
    found = inc.find(path, "")
    if not found.paths:
        diags.error(Pos(path, 0, 0), "configuration file not found: nothing matches '%s'" % path,
                    "config-not-found")
    elif len(found.paths) > 1:
        diags.warning(Pos(path, 0, 0), "multiple configuration files match '%s'; reading all of "
                      "them, starting with %s" % (path, found.paths[0]), "multiple-config-files")
    return found.paths


def _printable(diags: Diagnostics, start: int) -> None:
    """Messages quote configuration text, which may hold bytes that are not
    UTF-8 (lone surrogates): show those as \\xNN so a message can always be
    printed."""
    for i in range(start, len(diags.items)):
        d = diags.items[i]
        try:
            d.message.encode("utf-8")
        except UnicodeEncodeError:
            text = d.message.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            diags.items[i] = Diagnostic(d.pos, d.severity, text, d.code)


class _Relay:
    """Hands each finished top-level Node to a consumer (read_config's
    `on_node`).  The reader's own diagnostics since the last hand-over are
    made printable first; the consumer's are its own."""

    def __init__(self, diags: Diagnostics, consumer) -> None:
        self.diags = diags
        self.consumer = consumer
        self.mark = len(diags.items)

    def __call__(self, node: Node) -> None:
        items = self.diags.items
        if len(items) > self.mark:
            _printable(self.diags, self.mark)
        self.consumer(node)
        self.mark = len(items)


def _guarded(pp: Preprocessor, diags: Diagnostics, where: Pos, run,
             relay: _Relay | None = None) -> tuple[Node, ...]:
    # The tree is acyclic: the cyclic garbage collector has nothing to find in
    # it, but walking the growing heap over and over would double the time.
    collecting = gc.isenabled()
    gc.disable()
    start = len(diags.items)
    try:
        return _run(pp, diags, where, run)
    finally:
        if collecting:
            gc.enable()
        _printable(diags, start if relay is None else relay.mark)


def _run(pp: Preprocessor, diags: Diagnostics, where: Pos, run) -> tuple[Node, ...]:
    try:
        run()
        return pp.finish()
    except RecursionError:
        diags.error(where, "configuration nested too deeply to read", "internal-error")
    except Exception as exc:  # a bug here must not take the daemon's reload down
        diags.error(where, "internal error while reading the configuration: %s: %s"
                    % (type(exc).__name__, exc), "internal-error")
    try:
        return pp.builder.finish()
    except Exception:
        return ()


def read_config(path: str, diags: Diagnostics, config_id: str | None = None, *,
                all_config: bool = False, on_node=None) -> tuple[Node, ...]:
    """Read a keepalived.conf and everything it includes; return the top-level Nodes.

    config_id None -> the host name (as keepalived).  all_config: keepalived's
    -e (every include check on).  Never raises for bad input: every problem
    is a Diagnostic (file:line:col), and reading goes on.  An unreadable top
    file -> one error diagnostic, empty tuple.

    on_node: a callable that takes each top-level Node as soon as it is
    read whole (build.Builder.feed); then the result is empty, and no more
    of the tree than one block need be in memory at a time."""
    relay = None if on_node is None else _Relay(diags, on_node)
    pp = Preprocessor(diags, default_config_id() if config_id is None else config_id,
                      inc.CHECK_ALL if all_config else 0, on_top=relay)
    paths = _main_files(path, diags)
    if not paths:
        return ()
    return _guarded(pp, diags, Pos(path, 0, 0), lambda: pp.read_files(paths), relay)


def read_text(text: str, diags: Diagnostics, filename: str = "<string>",
              config_id: str | None = None, base_dir: str | None = None, *,
              on_node=None) -> tuple[Node, ...]:
    """Same as read_config for text in memory.  Relative includes start from
    base_dir (default: the current directory), which is also ${_PWD}."""
    relay = None if on_node is None else _Relay(diags, on_node)
    pp = Preprocessor(diags, default_config_id() if config_id is None else config_id,
                      on_top=relay)
    return _guarded(pp, diags, Pos(filename, 0, 0),
                    lambda: pp.read_text(text, filename, base_dir or ""), relay)
