"""keepalived's dump files (SIGUSR1 data, SIGUSR2 stats, SIGRTMIN+2 json).

    path = dump_path("data", config)        # $TMPDIR/keepalived.data (TMPDIR when absolute)
    write_dump(path, engine.dump_data)      # writer(file object); atomic, mode 0600
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Callable, Optional

from .options import tmp_dir

DUMP_FILES = {"data": "keepalived.data", "stats": "keepalived.stats",
              "stats_clear": "keepalived.stats", "json": "keepalived.json"}


def dump_path(kind: str, config, directory: Optional[str] = None) -> str:
    """keepalived's dump file for a signal: $TMPDIR/keepalived.{data,stats,json};
    with `data_use_instance` the data file is keepalived.<ns>_<instance>.data."""
    directory = directory or tmp_dir()
    name = DUMP_FILES[kind]
    if kind == "data" and config is not None and config.global_defs.other.get(
            "data_use_instance") and (config.instance_name or config.net_namespace):
        stem, ext = os.path.splitext(name)
        ns, inst = config.net_namespace or "", config.instance_name or ""
        name = "%s.%s%s%s%s" % (stem, ns, "_" if ns and inst else "", inst, ext)
    return os.path.join(directory, name)


def write_dump(path: str, writer: Callable) -> None:
    """keepalived fopen_safe("w"): write a 0600 temporary file, rename it."""
    directory, base = os.path.split(path)
    fd, tmp = tempfile.mkstemp(prefix=base, dir=directory or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as fh:
            writer(fh)
        os.rename(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


__all__ = ["DUMP_FILES", "dump_path", "write_dump"]
