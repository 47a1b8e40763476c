"""fastvrrp.daemon."""
