"""fastvrrp: a keepalived-compatible VRRP daemon with a compiled core."""

__version__ = "0.1.0.dev0"
