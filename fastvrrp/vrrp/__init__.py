"""fastvrrp.vrrp."""
