"""The normalised model as JSON (`fastvrrp check --dump`): how each keyword
was understood.  Every object carries its source position as "pos"; the
VRRP password is masked like keepalived's own JSON dump does.
"""

from __future__ import annotations

import dataclasses
import json
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from .ast import Pos
from .model import Config

_ADDR = (IPv4Address, IPv6Address, IPv4Network, IPv6Network)


def to_jsonable(obj):
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, _ADDR):
        return str(obj)
    if isinstance(obj, Pos):
        return str(obj)
    if isinstance(obj, bytes):
        return "********"
    if isinstance(obj, (tuple, list)):
        return [to_jsonable(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj):
        out = {}
        for f in dataclasses.fields(obj):
            if f.name in ("pos", "positions"):
                continue
            key = f.name.rstrip("_")
            out[key] = to_jsonable(getattr(obj, f.name))
        pos = getattr(obj, "pos", None)
        if isinstance(pos, Pos) and pos.line:
            out["pos"] = str(pos)
        if isinstance(obj, Config):
            out["instances"] = [dict(to_jsonable(i), identity=to_jsonable(list(i.identity)))
                                for i in obj.instances]
        return out
    return repr(obj)


def dumps(config: Config, indent=2) -> str:
    return json.dumps(to_jsonable(config), indent=indent, ensure_ascii=False)
