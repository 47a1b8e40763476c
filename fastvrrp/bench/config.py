"""`fastvrrp bench config`: checking a big keepalived.conf, against keepalived -t.

Generates an N-instance config with the renderer (each instance has a
vrrp_script, a tracked interface and VIPs, spread over enough interfaces
for unique VRIDs), then times, as whole processes, `fastvrrp check
--no-host -f FILE` and - when keepalived is installed - `keepalived -t -f
FILE` run inside a fresh network namespace that has the interfaces the
config names (veth pairs, made with pyroute2; the namespace is always
removed).  The two commands run in turn, so that both see the same machine
load; figures are medians of --runs runs of each (after one warm-up run);
ratio = check_s / keepalived_t_s (below 1.0: fastvrrp is faster).

The warm-up run of `fastvrrp check` may write Python's bytecode caches even
where PYTHONDONTWRITEBYTECODE is set, as an installed fastvrrp has them: the
timed runs measure the program, not the compiling of its source.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from ipaddress import IPv4Address

NAME = "config"
HELP = "time `fastvrrp check --no-host` on a generated N-instance config vs keepalived -t"

PER_INTERFACE = 250          # instances per interface (VRIDs 1..250)
NS_PREFIX = "fvbcfg-"


def add_arguments(parser):
    parser.add_argument("--instances", type=int, default=5000, metavar="N",
                        help="VRRP instances in the generated config (default 5000)")
    parser.add_argument("--vips", type=int, default=2, metavar="K",
                        help="VIPs per instance (default 2)")
    parser.add_argument("--runs", type=int, default=5, metavar="R",
                        help="timed runs of each command; the median is reported (default 5)")
    parser.add_argument("--no-keepalived", action="store_true",
                        help="do not run keepalived -t even when it is installed")
    parser.add_argument("--keep", metavar="FILE",
                        help="also write the generated config to FILE")


def interface_names(n: int) -> list[str]:
    count = max(2, -(-n // PER_INTERFACE))
    return ["eth%d" % k for k in range(count)]


def make_config(n: int, vips: int = 2):
    """A normalised Config with n instances (built from the model, not parsed)."""
    from fastvrrp.config.model import (Command, Config, GlobalDefs, IpAddress, TrackInterface,
                                       TrackScript, VrrpInstance, VrrpScript)
    ifaces = interface_names(n)
    scripts = {}
    instances = []
    for j in range(n):
        k, vrid = divmod(j, PER_INTERFACE)
        name = "chk_%d" % j
        scripts[name] = VrrpScript(name, Command(("/usr/bin/test", "-e", "/run/fvbench/%d" % j)),
                                   interval_us=2_000_000, weight=-10, rise=2, fall=2)
        base = 0x0A000000 + j * vips
        addrs = tuple(IpAddress(IPv4Address(base + m), 24) for m in range(vips))
        master = j % 2 == 0
        instances.append(VrrpInstance(
            name="VI_%d" % j, vrid=vrid + 1, interface=ifaces[k], family=4, version=2,
            state="MASTER" if master else "BACKUP", priority=150 if master else 100,
            advert_int_cs=100, auth_type="PASS" if j % 3 == 0 else None,
            auth_pass=b"secret\0\0" if j % 3 == 0 else None, vips=addrs,
            track_interfaces=(TrackInterface(ifaces[(k + 1) % len(ifaces)], -20),),
            track_scripts=(TrackScript(name, -10),),
            mcast_dst_ip=IPv4Address("224.0.0.18")))
    g = GlobalDefs(router_id="bench", enable_script_security=True, script_user="root")
    return Config(global_defs=g, instances=tuple(instances), scripts=scripts)


def _check_argv(path):
    exe = os.path.join(os.path.dirname(sys.executable), "fastvrrp")
    if os.access(exe, os.X_OK):
        return [exe, "check", "--no-host", "-f", path]
    return [sys.executable, "-c", "import sys; from fastvrrp.cli import main; sys.exit(main())",
            "check", "--no-host", "-f", path]


def _run_check(argv, env=None):
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    if proc.returncode not in (0, 5, 6):
        raise RuntimeError("fastvrrp check failed (%d): %s" % (proc.returncode,
                                                                proc.stderr.decode()[-500:]))
    return proc.returncode


@contextlib.contextmanager
def interface_namespace(ifnames, prefix=NS_PREFIX):
    """A fresh network namespace holding one veth end per name in `ifnames`
    (up, with an IPv4 address; the peers are named vp0, vp1, ...).  Yields its
    name; the namespace is removed on the way out, whatever happens."""
    from pyroute2 import IPRoute

    from . import netns
    name = prefix + uuid.uuid4().hex[:8]
    netns.create(name)
    try:
        with netns.inside(name):
            ipr = IPRoute()
            try:
                lo = ipr.link_lookup(ifname="lo")[0]
                ipr.link("set", index=lo, state="up")
                for k, ifname in enumerate(ifnames):
                    ipr.link("add", ifname=ifname, kind="veth", peer="vp%d" % k)
                    idx = ipr.link_lookup(ifname=ifname)[0]
                    ipr.addr("add", index=idx, address="10.%d.%d.1" % (200 + k // 250, k % 250),
                             prefixlen=24)
                    ipr.link("set", index=idx, state="up")
            finally:
                ipr.close()
        yield name
    finally:
        netns.remove(name)


def _run_keepalived(ns, path):
    from . import nsproc
    proc = nsproc.popen_in(ns, ["keepalived", "-t", "-f", path], private_sysfs=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return proc.wait(timeout=120)
    finally:
        if proc.returncode is None:
            nsproc.stop(proc)


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(args, progress):
    n = args.instances
    if n < 1 or n > 250 * 4000:
        raise SystemExit("fastvrrp bench config: --instances must be in 1..1000000")
    from fastvrrp.config.render import render
    progress("generating %d instances" % n)
    config = make_config(n, max(1, args.vips))
    text = render(config)
    lines = text.count("\n")
    with tempfile.TemporaryDirectory(prefix="fvbench-config-") as tmp:
        path = os.path.join(tmp, "keepalived.conf")
        with open(path, "w") as fh:
            fh.write(text)
        if args.keep:
            shutil.copyfile(path, args.keep)
        argv = _check_argv(path)
        want_ka = not args.no_keepalived and shutil.which("keepalived") and os.geteuid() == 0
        if not want_ka and not args.no_keepalived:
            progress("keepalived not installed (or not root): no comparison")
        ns_cm = interface_namespace(interface_names(n)) if want_ka else contextlib.nullcontext()
        with ns_cm as ns:
            progress("timing %s%s (%d runs each, interleaved)"
                     % (" ".join(argv[-4:]), " and keepalived -t in namespace %s" % ns
                        if ns else "", args.runs))
            warm_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            rc = _run_check(argv, warm_env)           # warm-up runs: page cache, bytecode
            ka_rc = _run_keepalived(ns, path) if ns else None
            check_t, ka_t = [], []
            for _ in range(args.runs):                # interleaved: both see the same load
                check_t.append(_timed(lambda: _run_check(argv))[0])
                if ns:
                    dt, ka_rc = _timed(lambda: _run_keepalived(ns, path))
                    ka_t.append(dt)
        check_s = statistics.median(check_t)
        result = {"scenario": NAME, "instances": n, "lines": lines, "check_s": check_s,
                  "check_exit": rc, "keepalived_t_s": None, "keepalived_exit": ka_rc,
                  "ratio": None}
        if ka_t:
            ka = statistics.median(ka_t)
            result.update(keepalived_t_s=ka, ratio=check_s / ka)
    return result
