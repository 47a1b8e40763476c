# fastvrrp._wheel: placeholder, being written
