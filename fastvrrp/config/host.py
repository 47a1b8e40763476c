"""Host checks: what `keepalived -t` checks against the machine it runs on.

Read-only: the interfaces the config names must exist (unless
`dynamic_interfaces`), an instance's interface must not be a loopback and
must support multicast unless it uses unicast; `no_accept` (or strict mode)
needs nftables on this kernel (check_firewall); every script must exist and,
run as root, sit on a path only root can write (keepalived's
check_script_secure, reference §3.16/§2.2 `enable_script_security`).
Scripts being run without `enable_script_security` is keepalived's
"SECURITY VIOLATION" (config test exit code 6), code "script-security".

Links are read over netlink (pyroute2, imported only here), so the answer
is right inside a network namespace too.  Nothing on the host is changed.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from dataclasses import dataclass, field

from .ast import Diagnostics, Pos
from .model import Command, Config
from .references import interface_refs, script_refs

IFF_LOOPBACK = 0x8
IFF_MULTICAST = 0x1000
ARPHRD_LOOPBACK = 772

# keepalived's SC_* script flags (lib/notify.h)
SC_NOTFOUND = 0x02
SC_EXECUTABLE = 0x04
SC_INHIBIT = 0x08
SC_SYSTEM = 0x10
SC_INSECURE = 0x20
SC_ISSCRIPT = 0x40

NO_SUCH_INTERFACE = "no-such-interface"
SCRIPT_SECURITY = "script-security"


@dataclass
class Link:
    name: str
    flags: int
    type: int

    @property
    def loopback(self) -> bool:
        return bool(self.flags & IFF_LOOPBACK) or self.type == ARPHRD_LOOPBACK

    @property
    def multicast(self) -> bool:
        return bool(self.flags & IFF_MULTICAST)


def read_links(netns: str | None = None) -> dict[str, Link]:
    """name -> Link for every link of this (or the named) network namespace."""
    from pyroute2 import IPRoute, NetNS
    ipr = NetNS(netns) if netns else IPRoute()
    try:
        out = {}
        for msg in ipr.get_links():
            name = msg.get_attr("IFLA_IFNAME")
            out[name] = Link(name, msg["flags"], msg["ifi_type"])
        return out
    finally:
        ipr.close()


@dataclass
class Users:
    """uid/gid look-ups (replaceable in tests)."""
    users: dict | None = None     # name -> (uid, gid); None: the system's
    groups: dict | None = None    # name -> gid

    def user(self, name: str):
        if self.users is not None:
            return self.users.get(name)
        try:
            p = pwd.getpwnam(name)
        except KeyError:
            return None
        return (p.pw_uid, p.pw_gid)

    def group(self, name: str):
        if self.groups is not None:
            return self.groups.get(name)
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError:
            return None


@dataclass
class HostReport:
    """What the host checks found, beyond the diagnostics."""
    missing_interfaces: set = field(default_factory=set)
    disabled_scripts: set = field(default_factory=set)
    skipped: str | None = None


def check_host(config: Config, diags: Diagnostics, *, links: dict | None = None,
               users: Users | None = None, path_env: str | None = None,
               netns_dir: str = "/run/netns", firewall_probe=None) -> HostReport:
    report = HostReport()
    ns = config.net_namespace
    if ns and links is None and not os.path.exists(os.path.join(netns_dir, ns)):
        # keepalived -t cannot enter the namespace either and checks nothing.
        report.skipped = "net_namespace %s does not exist here" % ns
        diags.warning(Pos("<host>", 0, 0), "net_namespace %s does not exist on this host: host "
                      "checks skipped (keepalived -t checks nothing then either)" % ns,
                      "host-checks-skipped")
        return report
    if links is None:
        links = read_links(ns or None)
    check_interfaces(config, links, diags, report)
    check_ipvlan(config, diags)
    check_firewall(config, diags, ns or None, firewall_probe)
    check_scripts(config, diags, report, users or Users(),
                  os.environ.get("PATH", "/usr/bin:/bin") if path_env is None else path_env)
    return report


# ---------------------------------------------------------------- interfaces

def check_interfaces(config: Config, links: dict, diags: Diagnostics, report: HostReport) -> None:
    dynamic = config.global_defs.dynamic_interfaces
    if not dynamic:
        for name, pos, what in interface_refs(config):
            if name not in links:
                report.missing_interfaces.add(name)
                diags.error(pos, "interface %s (%s) doesn't exist" % (name, what),
                            NO_SUCH_INTERFACE)
    for inst in config.instances:
        link = links.get(inst.interface) if inst.interface else None
        if link is None:
            continue
        if link.loopback:
            diags.error(inst.where("interface"), "(%s) cannot use a loopback interface (%s) for "
                        "VRRP" % (inst.name, link.name), "loopback-interface")
            continue
        if not inst.unicast and not link.multicast:
            diags.error(inst.where("interface"), "(%s) interface %s does not support multicast; "
                        "give unicast peers - the instance will not run"
                        % (inst.name, link.name), "no-multicast")
        if inst.unicast and inst.strict_mode and link.multicast:
            # keepalived's vrrp_complete_instance means to refuse this, but 2.2.7 never
            # does (neither -t nor at run time: verified on this machine); a warning
            # keeps `fastvrrp check` and `keepalived -t` exiting alike.
            diags.warning(inst.where("unicast_peer"), "(%s) unicast peers in strict mode on a "
                          "multicast interface (%s) do not follow RFC 5798 strict mode; "
                          "keepalived 2.2.7 accepts them and so does fastvrrp"
                          % (inst.name, link.name), "strict-unicast")


# ---------------------------------------------------------------- ipvlan

UNSUPPORTED_IPVLAN = "unsupported-ipvlan"


def kernel_has_ipvlan(sys_module: str = "/sys/module/ipvlan",
                      modules_dir: str | None = None) -> bool:
    """Read-only: the ipvlan driver is loaded or built in, or can be loaded."""
    if os.path.isdir(sys_module):
        return True
    modules_dir = modules_dir or os.path.join("/lib/modules", os.uname().release)
    for dirpath, _dirs, files in os.walk(os.path.join(modules_dir, "kernel", "drivers", "net")):
        if any(f.startswith("ipvlan.ko") for f in files):
            return True
    return False


def check_ipvlan(config: Config, diags: Diagnostics, has_ipvlan=None) -> None:
    """`use_ipvlan` (keepalived vrrp_vmac.c ipvlan VMACs) is refused: not implemented,
    and said so together with what this kernel has."""
    users = [i for i in config.instances if i.use_ipvlan is not None]
    if not users:
        return
    kernel = (has_ipvlan or kernel_has_ipvlan)()
    why = ("this kernel has ipvlan, but fastvrrp does not implement ipvlan interfaces"
           if kernel else "this kernel has no ipvlan link type, and fastvrrp does not "
           "implement ipvlan interfaces")
    for inst in users:
        diags.error(inst.where("use_ipvlan"), "(%s) use_ipvlan cannot be used: %s - use "
                    "use_vmac; the instance will not start" % (inst.name, why),
                    UNSUPPORTED_IPVLAN)


# ---------------------------------------------------------------- accept mode

NO_FIREWALL = "no-firewall"


def check_firewall(config: Config, diags: Diagnostics, netns: str | None = None,
                   probe=None) -> None:
    """RFC 5798 §6.4.3 Accept_Mode False (no_accept, or strict mode for a non-owner)
    needs nftables (fastvrrp.host.firewall): refused when this kernel cannot do it.
    `probe(netns)` -> None or why not (default: fastvrrp.host.firewall.probe)."""
    users = [i for i in config.instances if not i.accept and i.priority != 255]
    if not users:
        return
    if probe is None:
        from fastvrrp.host.firewall import probe
    reason = probe(netns)
    if reason is None:
        return
    for inst in users:
        diags.error(inst.where("no_accept"), "(%s) no_accept (accept mode off%s) needs nftables "
                    "to drop traffic to the VIPs, and it cannot be used here: %s"
                    % (inst.name, ", strict mode" if inst.strict_mode else "", reason),
                    NO_FIREWALL)


# ---------------------------------------------------------------- scripts

def check_scripts(config: Config, diags: Diagnostics, report: HostReport, users: Users,
                  path_env: str) -> None:
    if not config.instances:
        return
    g = config.global_defs
    security = g.enable_script_security
    default = _default_user(config, diags, users)
    flags_all = 0
    first_script: Pos | None = None
    for cmd, what, is_track in script_refs(config):
        if cmd.user is not None:
            ids = _ids(cmd, users)
            if ids is None:
                msg = "%s: user/group %s%s does not exist" % (
                    what, cmd.user, ":" + cmd.group if cmd.group else "")
                _disable(diags, report, cmd, what, is_track, msg + " - the script is disabled")
                continue
        elif default is None:
            _disable(diags, report, cmd, what, is_track,
                     "%s: no default script user (keepalived_script does not exist and "
                     "script_user is not set) - the script is disabled" % what)
            continue
        else:
            ids = default
        flags, problem = script_flags(cmd, ids[0], ids[1], security, path_env)
        flags_all |= flags
        if flags & SC_ISSCRIPT and first_script is None:
            first_script = cmd.pos
        if flags & SC_INHIBIT:
            _disable(diags, report, cmd, what, is_track, "%s: %s - disabling it" % (what, problem))
        elif flags & SC_NOTFOUND:
            _disable(diags, report, cmd, what, is_track,
                     "%s: %s - disabling it" % (what, problem or "not found/accessible"))
        elif not flags & (SC_EXECUTABLE | SC_SYSTEM):
            report.disabled_scripts.add(what)
            diags.warning(cmd.pos, "%s: %s - disabling it" % (what, problem), "script-disabled")
        elif flags & SC_INSECURE:
            diags.warning(cmd.pos, "%s: %s" % (what, problem), "script-insecure")
    if not security and flags_all & SC_ISSCRIPT:
        diags.error(first_script, "SECURITY VIOLATION - scripts are being executed but "
                    "enable_script_security is not set%s" % (
                        "; there are insecure scripts" if flags_all & SC_INSECURE else ""),
                    SCRIPT_SECURITY)


def _disable(diags, report, cmd, what, is_track, msg):
    report.disabled_scripts.add(what)
    if is_track:   # keepalived reports track scripts as config errors, notifies only in logs
        diags.error(cmd.pos, msg, "script-disabled")
    else:
        diags.warning(cmd.pos, msg, "script-disabled")


def _ids(cmd: Command, users: Users):
    u = users.user(cmd.user)
    if u is None:
        return None
    if cmd.group is not None:
        gid = users.group(cmd.group.lstrip(":"))
        if gid is None:
            return None
        return (u[0], gid)
    return u


def _default_user(config: Config, diags: Diagnostics, users: Users):
    g = config.global_defs
    if g.script_user is not None:
        u = users.user(g.script_user)
        if u is None:
            diags.error(Pos("<global_defs>", 0, 0), "script_user %s does not exist"
                        % g.script_user, "no-such-user")
            return None
        if g.script_group is not None:
            gid = users.group(g.script_group.lstrip(":"))
            if gid is None:
                diags.error(Pos("<global_defs>", 0, 0), "script group %s does not exist"
                            % g.script_group, "no-such-user")
                return None
            return (u[0], gid)
        return u
    u = users.user("keepalived_script")
    if u is not None:
        return u
    if g.enable_script_security:
        return None
    return (0, 0)


def script_flags(cmd: Command, uid: int, gid: int, security: bool,
                 path_env: str) -> tuple[int, str]:
    """keepalived check_script_secure for one command -> (SC_* flags, problem text)."""
    if cmd.is_system:
        return SC_SYSTEM, ""
    prog = cmd.argv[0]
    if "/" not in prog:
        found = _search_path(prog, path_env)
        if found is None:
            return SC_NOTFOUND, "cannot find %s in PATH" % prog
        prog = found
    real = os.path.realpath(prog)
    try:
        st = os.stat(real)
    except OSError as e:
        return SC_NOTFOUND, "script %s cannot be accessed (%s)" % (prog, e.strerror)
    flags = SC_ISSCRIPT
    problem = ""
    if _executable(st, uid, gid):
        flags |= SC_EXECUTABLE
        root = uid == 0 or gid == 0 or (
            st.st_uid == 0 and st.st_mode & stat.S_IXUSR and st.st_mode & stat.S_ISUID) or (
            st.st_gid == 0 and st.st_mode & stat.S_IXGRP and st.st_mode & stat.S_ISGID)
        if root:   # keepalived checks the resolved path (symlinks already followed)
            f, problem = path_security(real, security)
            flags |= f
    else:
        problem = "script %s is not executable for uid:gid %d:%d" % (prog, uid, gid)
    return flags, problem


def _executable(st, uid: int, gid: int) -> bool:
    mode = st.st_mode
    if uid == 0:
        return bool(mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))
    if uid == st.st_uid:
        return bool(mode & stat.S_IXUSR)
    if gid == st.st_gid:
        return bool(mode & stat.S_IXGRP)
    return bool(mode & stat.S_IXOTH)


def path_security(path: str, security: bool) -> tuple[int, str]:
    """Every component of `path` must be root-owned and not writable by others
    (directories with the sticky bit excepted) - keepalived check_security."""
    parts = path.split("/")
    prefixes = ["/"] + ["/".join(parts[:i + 1]) for i in range(1, len(parts)) if parts[i]]
    last = prefixes[-1]
    for p in prefixes:
        try:
            st = os.lstat(p)
        except OSError:
            return SC_NOTFOUND, "cannot find script %s" % path
        is_last = p == last
        if (not is_last and not stat.S_ISDIR(st.st_mode)) or (
                is_last and not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode))):
            return SC_INHIBIT, "wrong file type in script path %s" % path
        writable = ((st.st_gid and st.st_mode & stat.S_IWGRP) or st.st_mode & stat.S_IWOTH)
        guarded = stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX
        if st.st_uid or (writable and (stat.S_ISREG(st.st_mode) or
                                       (stat.S_ISDIR(st.st_mode) and not guarded))):
            return (SC_INSECURE | (SC_INHIBIT if security else 0),
                    "unsafe permissions for script %s (%s is writable by non-root users)"
                    % (path, p))
    return 0, ""


def _search_path(prog: str, path_env: str) -> str | None:
    for d in path_env.split(":"):
        cand = os.path.join(d or ".", prog)
        try:
            st = os.stat(cand)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
            return cand
    return None
