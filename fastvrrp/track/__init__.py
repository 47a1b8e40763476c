"""fastvrrp.track."""
