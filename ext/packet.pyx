# fastvrrp._packet: placeholder, being written
