"""fastvrrp.config."""
