"""Named network namespaces: create, enter briefly, inspect, remove.

Namespaces are the `ip netns` kind (a bind mount under /run/netns), pinned
and removed with pyroute2.netns.  `inside(name)` moves only the calling thread into
a namespace for the duration of a `with` block (sockets opened there stay in
it; /proc/sys/net written there is that namespace's), then moves it back.
"""

import contextlib
import ctypes
import ctypes.util
import os
import re
import socket
import threading

from pyroute2 import netns as _pr_netns

NETNS_RUN_DIR = _pr_netns.NETNS_RUN_DIR
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class NetnsError(RuntimeError):
    """A namespace operation failed; the message names the namespace."""


def check_name(name):
    """Raise ValueError unless `name` is a usable namespace name."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError("bad network namespace name %r: use letters, digits, '_', '.', '-' "
                         "(at most 63, not starting with a punctuation mark)" % (name,))
    return name


def path(name):
    return os.path.join(NETNS_RUN_DIR, check_name(name))


def exists(name):
    return os.path.exists(path(name))


def create(name, timeout=120.0):
    """Create namespace `name`; it must not exist yet.

    A short-lived thread unshares its own network namespace and pins it with
    pyroute2.netns.attach (the bind mount `ip netns add` makes).  Unlike
    pyroute2.netns.create (a forked child given 2 s), this waits as long as
    the kernel needs: creating a namespace can stall for seconds while an
    earlier one with thousands of links is still being dismantled.
    """
    if exists(name):
        raise NetnsError("network namespace %s already exists" % name)
    outcome = {}

    def worker():
        try:
            if _libc.unshare(_CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, "unshare(CLONE_NEWNET): %s" % os.strerror(err))
            _pr_netns.attach(name, "thread-self")
        except BaseException as exc:  # reported by the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=worker, name="netns-create-" + name, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise NetnsError("creating network namespace %s took more than %ss" % (name, timeout))
    if "error" in outcome:
        if os.path.exists(path(name)) and not os.path.ismount(path(name)):
            os.unlink(path(name))  # the mount point file of a failed attach
        raise NetnsError("cannot create network namespace %s: %s"
                         % (name, outcome["error"])) from outcome["error"]
    if not exists(name):
        raise NetnsError("network namespace %s was not created" % name)


def remove(name):
    """Remove namespace `name` if it exists; True when something was removed."""
    if not exists(name):
        return False
    try:
        _pr_netns.remove(name)
    except OSError as exc:
        raise NetnsError("cannot remove network namespace %s: %s" % (name, exc)) from exc
    return True


def open_fd(name):
    """An O_CLOEXEC file descriptor for namespace `name` (the caller closes it)."""
    try:
        return os.open(path(name), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NetnsError("network namespace %s does not exist" % name) from None


def identity(name):
    """(st_dev, st_ino) of namespace `name`: equal to a process's /proc/PID/ns/net."""
    st = os.stat(path(name))
    return (st.st_dev, st.st_ino)


def pids_in(name):
    """Pids of every process whose network namespace is `name` (a snapshot)."""
    try:
        ident = identity(name)
    except FileNotFoundError:
        return []
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            st = os.stat("/proc/%s/ns/net" % entry)
        except OSError:
            continue  # gone, or a kernel thread we may not inspect
        if (st.st_dev, st.st_ino) == ident:
            pids.append(int(entry))
    return pids


@contextlib.contextmanager
def inside(name):
    """Run the `with` body with this thread in namespace `name`."""
    target = open_fd(name)
    saved = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            _pr_netns.setns(target, flags=0)
        except OSError as exc:
            raise NetnsError("cannot enter network namespace %s: %s" % (name, exc)) from exc
        try:
            yield
        finally:
            _pr_netns.setns(saved, flags=0)
    finally:
        os.close(target)
        os.close(saved)


def socket_in(name, family, type_, proto=0):
    """A socket created in namespace `name`."""
    with inside(name):
        return socket.socket(family, type_, proto)


def write_sysctls(name, settings):
    """Write /proc/sys/net values inside namespace `name`.

    `settings` maps a key below net. to a value: a dotted string
    ("ipv6.conf.all.accept_dad") or, where an interface name holds a dot, a
    tuple of parts (("ipv6", "conf", "eth0.1", "accept_dad")).  A key that
    does not exist raises NetnsError naming it.
    """
    with inside(name):
        for key, value in settings.items():
            parts = tuple(key.split(".")) if isinstance(key, str) else tuple(key)
            if not parts or any(not p or "/" in p or p in (".", "..") for p in parts):
                raise ValueError("bad sysctl key %r" % (key,))
            proc = "/proc/sys/net/" + "/".join(parts)
            try:
                with open(proc, "w") as fh:
                    fh.write("%s\n" % value)
            except OSError as exc:
                raise NetnsError("cannot set net.%s=%s in %s: %s"
                                 % (".".join(parts), value, name, exc)) from exc
