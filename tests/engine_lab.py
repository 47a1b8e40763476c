"""A two-node VRRP lab for the engine's end-to-end tests (fastvrrp and keepalived).

    pair = VrrpPair(lab, links)                      # links: the `star` fixture's
    a = pair.daemon("a", "fastvrrp", conf_text)      # or "keepalived"
    a.start()
    t = pair.watch.wait_holders(VIP, {"a"}, timeout=5)   # from netlink notifications
    pair.sample_one_holder(VIP, 3.0)                 # exactly one holder, sampled
    pair.set_link("a", False); a.kill()              # "power off"

Every wait is on an event: a netlink RTM_NEWADDR/RTM_DELADDR notification
(stamped on arrival with time.monotonic_ns()), a log line appearing in a
daemon's log file, or a frame in a capture; the only fixed-length wait is
the bounded sampling window.  Daemons run as real processes in their node's
namespace through the lab (its pid files and config in the lab's workdir);
the lab stops them at teardown.
"""

import ipaddress
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

from fastvrrp.bench import netns, nladdr
from fastvrrp.bench.keepalived_proc import KeepalivedError, keepalived_path
from fastvrrp.bench.waitfor import WaitTimeout, wait_for

SKEW_SLACK_MS = 50          # the priority-0 handover bound: Skew_Time + 50 ms


def fastvrrp_path():
    beside = Path(sys.executable).parent / "fastvrrp"
    if os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("fastvrrp")
    if not found:
        raise RuntimeError("the fastvrrp command is not installed (make build)")
    return found


def skew_time_s(version, priority, advert_int_s):
    """RFC 3768 §6.1 (v2: (256 - Priority) / 256 s) / RFC 5798 §6.1 (v3: scaled by
    Master_Adver_Interval)."""
    return (256 - priority) / 256 * (1.0 if version == 2 else advert_int_s)


def master_down_s(version, priority, advert_int_s):
    """RFC 5798 §6.1 Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time."""
    return 3 * advert_int_s + skew_time_s(version, priority, advert_int_s)


# -- netlink address notifications ---------------------------------------------------
def addresses_in(ns):
    """Every address (IPv4 and IPv6) in namespace `ns`, from a fresh dump."""
    return {entry.address for entry in nladdr.dump(ns)}


AddressWatch = nladdr.AddressWatch


# -- daemons ---------------------------------------------------------------------------
def _group_members(pgid):
    """The pids whose process group is `pgid` (/proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            out.append(int(entry))
    return out


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Daemon:
    """fastvrrp or keepalived on one lab node, with its own files."""

    def __init__(self, lab, node, kind, config_text, *, name=None, extra_args=()):
        if kind not in ("fastvrrp", "keepalived"):
            raise ValueError("kind must be fastvrrp or keepalived, not %r" % (kind,))
        self.lab, self.node, self.kind = lab, node, kind
        self.name = name or "%s-%s" % (kind, node)
        self.config_path = lab.path(self.name + ".conf")
        self.log_path = lab.path(self.name + ".log")
        self.pid_path = lab.path(self.name + ".pid")
        self.vrrp_pid_path = lab.path(self.name + "-vrrp.pid")
        self.extra_args = tuple(extra_args)
        self.write_config(config_text)
        self.proc = None
        self.starts = 0
        self._log_offset = 0

    def write_config(self, text):
        with open(self.config_path, "w") as fh:
            fh.write(text)

    def argv(self):
        if self.kind == "fastvrrp":
            return [fastvrrp_path(), "-n", "-l", "-D", "-f", self.config_path,
                    "-p", self.pid_path, "-r", self.vrrp_pid_path] + list(self.extra_args)
        return [keepalived_path(), "-n", "-l", "-D", "-G", "-P", "-R", "-f", self.config_path,
                "-p", self.pid_path, "-r", self.vrrp_pid_path,
                "-c", self.lab.path(self.name + "-checkers.pid")] + list(self.extra_args)

    def start(self):
        if self.running():
            raise RuntimeError("%s already runs" % self.name)
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        env["TMPDIR"] = self.lab.workdir          # the signal dumps land in the lab
        self._log_offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        with open(self.log_path, "a") as log:
            self.proc = self.lab.popen(self.node, self.argv(), stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT, env=env)
        self.starts += 1
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, grace=10.0):
        """Stop it (SIGTERM: the clean stop); the exit code."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc in self.lab.processes():
            return self.lab.stop(proc, grace=grace, sig=sig)
        return proc.wait()

    def kill(self):
        """SIGKILL to the whole process group at once: no priority 0, VIPs left
        behind (a crash / power off).  keepalived's VRRP child must die with its
        parent, not after it (its parent-death signal would make it stop cleanly)."""
        group = _group_members(self.proc.pid) if self.proc is not None else []
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        code = self.stop(sig=signal.SIGKILL, grace=5.0)
        # the orphaned children are reaped by init: gone before a restart reads the pid files
        wait_for(lambda: not any(_alive(pid) for pid in group), 10,
                 what="the processes of %s to exit" % self.name)
        return code

    def log(self, whole=False):
        try:
            with open(self.log_path, errors="replace") as fh:
                if not whole:
                    fh.seek(self._log_offset)
                return fh.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=10.0):
        """Wait for a line matching the regex `pattern` in this run's log."""
        rx = re.compile(pattern)

        def found():
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError("%s exited (%s) while waiting for %r; log:\n%s"
                                   % (self.name, self.proc.returncode, pattern, self.log()))
            return rx.search(self.log())
        return wait_for(found, timeout, what="%r in %s's log" % (pattern, self.name))


class VrrpPair:
    """Two (or more) nodes on one bridge, an address watch, daemons."""

    def __init__(self, lab, links):
        self.lab = lab
        self.links = dict(links)
        self.watch = AddressWatch({node: link.ns for node, link in self.links.items()})
        self.daemons = {}

    def daemon(self, node, kind, config_text, **kw):
        d = Daemon(self.lab, node, kind, config_text, **kw)
        self.daemons[d.name] = d
        return d

    def set_link(self, node, up):
        link = self.links[node]
        self.lab.iproute(link.ns).link("set", index=link.ifindex, state="up" if up else "down")

    def isolate(self, node, isolated=True):
        """Take `node`'s switch port out of the bridge (or put it back): the node's
        interface stays up and running, its traffic no longer reaches the others."""
        link = self.links[node]
        ipr = self.lab.iproute(link.switch_ns)
        if isolated:
            ipr.link("set", index=link.port_ifindex, master=0)
        else:
            bridge = ipr.link_lookup(ifname=link.bridge)[0]
            ipr.link("set", index=link.port_ifindex, master=bridge)

    def sample_one_holder(self, address, seconds, period=0.1):
        """Sample who holds `address` (fresh dumps) for `seconds`: the list of holder sets."""
        address = ipaddress.ip_address(address)
        samples = []
        end = time.monotonic() + seconds
        while True:
            samples.append({node for node, link in self.links.items()
                            if address in addresses_in(link.ns)})
            if time.monotonic() >= end:
                return samples
            time.sleep(period)   # the bounded sampling window (issue 4: "over 3 s of sampling")

    def logs(self):
        """Every daemon's whole log, for a failed test's report."""
        return "".join("==== %s (%s on %s)\n%s\n" % (d.name, d.kind, d.node, d.log(whole=True))
                       for d in self.daemons.values())

    def close(self):
        self.watch.close()


def report(record, path_env="FASTVRRP_FAILOVER_LOG"):
    """Print one measured timing as a JSON line (and append it to $FASTVRRP_FAILOVER_LOG)."""
    line = json.dumps(record, sort_keys=True)
    print("FAILOVER " + line)
    path = os.environ.get(path_env)
    if path:
        with open(path, "a") as fh:
            fh.write(line + "\n")
    return record


def require_keepalived():
    """The interop tests need keepalived; with FASTVRRP_REQUIRE_INTEROP=1 its absence fails."""
    import pytest
    try:
        return keepalived_path()
    except KeepalivedError as exc:
        if os.environ.get("FASTVRRP_REQUIRE_INTEROP") == "1":
            pytest.fail("%s, and FASTVRRP_REQUIRE_INTEROP=1" % exc)
        pytest.skip(str(exc))


# -- configs ---------------------------------------------------------------------------
def instance_block(name="VI_1", *, vrid=51, priority=100, state="BACKUP", version=3,
                   advert_int="0.1", interface="eth0", vips=("10.0.0.100/24",), auth_pass=None,
                   nopreempt=False, unicast_src=None, peers=(), track_scripts=(), extra=()):
    """One vrrp_instance block, in keepalived's syntax (both daemons read it)."""
    lines = ["vrrp_instance %s {" % name,
             "    state %s" % state,
             "    interface %s" % interface,
             "    virtual_router_id %d" % vrid,
             "    priority %d" % priority,
             "    advert_int %s" % advert_int,
             "    version %d" % version]
    if auth_pass is not None:
        lines += ["    authentication {", "        auth_type PASS",
                  "        auth_pass %s" % auth_pass, "    }"]
    if nopreempt:
        lines.append("    nopreempt")
    if unicast_src is not None:
        lines.append("    unicast_src_ip %s" % unicast_src)
    if peers:
        lines += ["    unicast_peer {"] + ["        %s" % p for p in peers] + ["    }"]
    if track_scripts:
        lines += ["    track_script {"] + ["        %s" % s for s in track_scripts] + ["    }"]
    lines += ["    %s" % e for e in extra]
    lines += ["    virtual_ipaddress {"] + ["        %s" % v for v in vips] + ["    }", "}"]
    return "\n".join(lines) + "\n"


def config(*blocks, global_defs=()):
    head = ""
    if global_defs:
        head = "global_defs {\n" + "".join("    %s\n" % g for g in global_defs) + "}\n"
    return head + "".join(blocks)


# -- GARP / NA on the wire -------------------------------------------------------------
GARP_FILTER = "arp or (icmp6 and ip6[40] == 136)"


def announced(frame):
    """(sender MAC, announced address) of a gratuitous ARP or unsolicited NA frame, or None."""
    try:
        ethertype, payload, src_mac = frame.ethertype, frame.payload, frame.eth_src
    except Exception:
        return None
    if ethertype == 0x0806 and len(payload) >= 28:
        op = struct.unpack_from("!H", payload, 6)[0]
        spa, tpa = payload[14:18], payload[24:28]
        if op == 1 and spa == tpa:       # keepalived's GARP: a request for itself
            return src_mac, ipaddress.ip_address(bytes(spa))
    if ethertype == 0x86DD and len(payload) >= 40 + 24 and payload[6] == 58 \
            and payload[40] == 136:      # RFC 4861 §4.4 Neighbor Advertisement
        return src_mac, ipaddress.ip_address(bytes(payload[48:64]))
    return None


# -- routes, rules, links on a node (fresh netlink dumps) ------------------------------
def routes_in(lab, ns, table=254):
    """{(destination "A/P", type number)} of the routes with protocol 18 (keepalived's,
    RTPROT_KEEPALIVED) in `table` of namespace `ns`."""
    out = set()
    ipr = lab.iproute(ns)
    for family in (socket.AF_INET, socket.AF_INET6):
        for msg in ipr.get_routes(family=family, table=table):
            if msg["proto"] != 18 or msg.get_attr("RTA_TABLE", msg["table"]) != table:
                continue
            dst = msg.get_attr("RTA_DST") or ("0.0.0.0" if family == socket.AF_INET else "::")
            out.add(("%s/%d" % (dst, msg["dst_len"]), msg["type"]))
    return out


def rules_in(lab, ns):
    """{(preference, source "A/P" or None, table)} of the IPv4 rules with protocol 18."""
    out = set()
    for msg in lab.iproute(ns).get_rules(family=socket.AF_INET):
        if msg.get_attr("FRA_PROTOCOL") != 18:
            continue
        src = msg.get_attr("FRA_SRC")
        out.add((msg.get_attr("FRA_PRIORITY"), "%s/%d" % (src, msg["src_len"]) if src else None,
                 msg.get_attr("FRA_TABLE", msg["table"])))
    return out


def macvlans_in(lab, ns):
    """{ifname: MAC} of the macvlan links in namespace `ns`."""
    out = {}
    for msg in lab.iproute(ns).get_links():
        info = msg.get_attr("IFLA_LINKINFO")
        if info is not None and info.get_attr("IFLA_INFO_KIND") == "macvlan":
            out[msg.get_attr("IFLA_IFNAME")] = msg.get_attr("IFLA_ADDRESS")
    return out


def arp_ask(lab, link, address, timeout=5.0):
    """Send one ARP request for `address` out of `link` (from its node's namespace, its
    MAC and first IPv4 address) and wait for the reply: (Ethernet source MAC, ARP
    sender hardware address), both "aa:bb:..." strings."""
    target = ipaddress.IPv4Address(address).packed
    mac = bytes.fromhex(link.mac.replace(":", ""))
    with netns.inside(link.ns):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
    try:
        sock.bind((link.ifname, 0x0806))
        arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac,
                          ipaddress.IPv4Address(link.ip4).packed, b"\0" * 6, target)
        sock.send(b"\xff" * 6 + mac + b"\x08\x06" + arp)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([sock], [], [], left)[0]:
                raise WaitTimeout("no ARP reply for %s on %s" % (address, link.ifname))
            frame = sock.recv(2048)
            if len(frame) >= 42 and frame[20:22] == b"\x00\x02" and frame[28:32] == target:
                return frame[6:12].hex(":"), frame[22:28].hex(":")
    finally:
        sock.close()
