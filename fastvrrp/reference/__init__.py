"""fastvrrp.reference."""
