"""Run code in a new interpreter: what a daemon start imports, as it has it."""

import json
import subprocess
import sys


def fresh_python(code, netns=None):
    """Run `code` with this venv's interpreter (sys.modules as a fresh process has
    it), inside the network namespace `netns` if given; the JSON it prints last."""
    prefix = ["ip", "netns", "exec", netns] if netns else []
    out = subprocess.run(prefix + [sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


# a one-instance config: the daemon start whose imports the start-up tests check
START_CONFIG = """\
global_defs {
    router_id structure
    vrrp_version 3
}
vrrp_instance VI_1 {
    state MASTER
    interface lo
    virtual_router_id 51
    priority 200
    advert_int 0.01
    virtual_ipaddress {
        10.200.0.1/32
    }
}
"""
