"""The daemon's exit codes (keepalived's scheduler.h KEEPALIVED_EXIT_*).

Deliberate difference: a bad config exits 1 (DESIGN "Errors"; keepalived: 2).
"""

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_CONFIG = 1                     # DESIGN "Errors": a bad config exits 1 (keepalived: 2)
EXIT_MISSING_PERMISSION = 4
EXIT_NO_CONFIG = 6

__all__ = ["EXIT_CONFIG", "EXIT_FATAL", "EXIT_MISSING_PERMISSION", "EXIT_NO_CONFIG", "EXIT_OK"]
