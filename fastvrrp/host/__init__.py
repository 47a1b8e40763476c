"""fastvrrp.host."""
