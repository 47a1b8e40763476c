"""What every tracker does with its tracked things: index them, find one, report a change.

    self._files = by_name(specs, FileSpec, "track_file", _Tracked)
    t = lookup(self._files, name, "no track_file named %r")
    report_change(log, self._on_change, "track_file", name, old, new)

The trackers (scripts.py, files.py, processes.py, links.py) differ in what
they watch; how their callers address them and hear from them is this.
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional


def by_name(specs: Iterable, kind: type, keyword: str, make: Callable) -> dict:
    """{spec.name: make(spec)} in the given order; ValueError for an object that
    is not a `kind`, or a name defined twice (keepalived's `keyword`)."""
    out: dict = {}
    for spec in specs:
        if not isinstance(spec, kind):
            raise ValueError("expected %s, not %r" % (kind.__name__, spec))
        if spec.name in out:
            raise ValueError("%s %s is defined twice" % (keyword, spec.name))
        out[spec.name] = make(spec)
    return out


def lookup(table: dict, name, message: str):
    """table[name]; KeyError(message % name) when it is not there."""
    try:
        return table[name]
    except KeyError:
        raise KeyError(message % (name,)) from None


def report_change(log, on_change: Optional[Callable], keyword: str, name: str, old, new) -> None:
    """Call on_change(name, old, new) if there is one; what it raises is logged
    on `log` (the tracker's logger), never passed on."""
    if on_change is None:
        return
    try:
        on_change(name, old, new)
    except Exception:
        log.exception("on_change for %s %s failed", keyword, name)


__all__ = ["by_name", "lookup", "report_change"]
