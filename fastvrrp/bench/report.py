"""Printing bench results: one JSON object, or a readable two-column table."""

import json
import sys


def emit(result, as_json, out=None):
    out = out or sys.stdout
    if as_json:
        out.write(json.dumps(result, sort_keys=False) + "\n")
        return
    rows = list(_flatten(result))
    width = max((len(k) for k, _ in rows), default=0)
    for key, value in rows:
        out.write("%-*s  %s\n" % (width, key, _fmt(value)))


def _flatten(obj, prefix=""):
    for key, value in obj.items():
        name = prefix + str(key)
        if isinstance(value, dict):
            yield from _flatten(value, name + ".")
        else:
            yield name, value


def _fmt(value):
    if isinstance(value, float):
        return "%.3f" % value if abs(value) < 1000 else "%.0f" % value
    return str(value)
