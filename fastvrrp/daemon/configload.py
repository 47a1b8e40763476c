"""Reading the config for the daemon: at start and on a reload (keepalived main.c).

    config, diags = load_config(path, config_id, all_config)   # never raises
    log_diagnostics(diags)                                      # file:line:col: severity: message
    code = config_exit_code(diags)                              # None: the config can run
    config = apply_namespace_option(config, options)            # -s NAME
    mask = config_umask(config)                                 # global_defs umask, or None
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Optional

from .exitcodes import EXIT_CONFIG, EXIT_NO_CONFIG
from .logsetup import PARENT_LOGGER
from .options import Options, c_strtol

log = logging.getLogger(PARENT_LOGGER)             # keepalived's parent: ident Keepalived


def load_config(path: str, config_id: Optional[str], all_config: bool = False):
    """Read and build the config -> (Config or None, Diagnostics).  Never
    raises: a crash in the reader becomes an error diagnostic."""
    from ..config import load
    from ..config.ast import Diagnostics, Pos
    try:
        config, diags = load(path, config_id, all_config=all_config)
    except Exception as exc:   # a bug in the reader must not take a running daemon down
        diags = Diagnostics()
        diags.error(Pos(path, 0, 0), "internal error reading the configuration: %s: %s"
                    % (type(exc).__name__, exc), "internal-error")
        return None, diags
    if config is not None and not diags.errors:
        # issue 6 (memory): the diagnostics carry their own positions; the
        # daemon never reads the model's again (~1 kB per instance)
        from ..config.model import forget_positions
        forget_positions(config)
    return config, diags


def config_exit_code(diags) -> Optional[int]:
    """None when the config can run; else keepalived's exit code."""
    errors = diags.errors
    if not errors:
        return None
    if any(d.code in ("config-unreadable", "config-not-found") for d in errors):
        return EXIT_NO_CONFIG
    return EXIT_CONFIG


def log_diagnostics(diags) -> None:
    for d in sorted(diags.items, key=lambda d: (d.pos.file, d.pos.line, d.pos.col)):
        (log.error if d.severity == "error" else log.warning)("%s", d)


def apply_namespace_option(config, options: Options):
    """-s NAME overrides the config's net_namespace (keepalived main.c)."""
    if not options.namespace or config is None:
        return config
    if config.net_namespace and config.net_namespace != options.namespace:
        log.info("Overriding config net_namespace '%s' with command line namespace '%s'",
                 config.net_namespace, options.namespace)
    return dataclasses.replace(config, net_namespace=options.namespace)


def config_umask(config) -> Optional[int]:
    value = config.global_defs.other.get("umask") if config is not None else None
    if value is None:
        return None
    try:
        mask = c_strtol(str(value))
    except ValueError:
        return None
    return mask if 0 <= mask <= 0o777 else None


__all__ = ["apply_namespace_option", "config_exit_code", "config_umask", "load_config",
           "log_diagnostics"]
