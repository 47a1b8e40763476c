"""Start a process inside a network namespace, and stop it for sure.

`popen_in(ns, argv)` forks, moves the child into namespace `ns` with setns
(pyroute2.netns.setns, from preexec_fn: no `ip netns exec`) and, like
`ip netns exec`, gives it a private mount namespace with a fresh /sys so that
/sys/class/net shows the namespace's own links.  The child leads a new session
(its pgid is its pid), so `stop()` can also reach what it forked.

`stop(proc)`: SIGTERM, wait (on a pidfd, not a sleep loop), SIGKILL if the
grace time passes; then, while the leader is still an unreaped zombie (so its
process group id cannot have been reused), SIGKILL whatever is left in its
process group; then reap.
"""

import ctypes
import ctypes.util
import os
import select
import signal
import subprocess

from pyroute2 import netns as _pr_netns

from . import netns

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_CLONE_NEWNS = 0x00020000
_MS_REC = 0x4000
_MS_SLAVE = 1 << 19
_MNT_DETACH = 2


class NsProcError(RuntimeError):
    """A process could not be started in its namespace."""


def _private_sysfs():
    """In the child: own mount namespace, host mounts as slaves, fresh /sys."""
    if _libc.unshare(_CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    if _libc.mount(b"none", b"/", None, _MS_REC | _MS_SLAVE, None) != 0:
        raise OSError(ctypes.get_errno(), "mount --make-rslave /")
    _libc.umount2(b"/sys", _MNT_DETACH)  # may not be a mount point: fine
    if _libc.mount(b"sysfs", b"/sys", b"sysfs", 0, None) != 0:
        raise OSError(ctypes.get_errno(), "mount sysfs /sys")


def popen_in(ns, argv, *, private_sysfs=True, preexec_fn=None, **kwargs):
    """subprocess.Popen(argv, **kwargs) with the child in namespace `ns`."""
    if not argv or not all(isinstance(a, (str, bytes, os.PathLike)) for a in argv):
        raise ValueError("argv must be a non-empty list of strings, got %r" % (argv,))
    fd = netns.open_fd(ns)

    def enter():
        _pr_netns.setns(fd, flags=0)
        if private_sysfs:
            _private_sysfs()
        if preexec_fn is not None:
            preexec_fn()

    kwargs.setdefault("start_new_session", True)
    try:
        return subprocess.Popen(argv, preexec_fn=enter, **kwargs)
    except subprocess.SubprocessError as exc:
        raise NsProcError("cannot start %s in network namespace %s: %s (setns, or the private "
                          "/sys mount, failed in the child)" % (argv[0], ns, exc)) from exc
    finally:
        os.close(fd)


def _wait_exit(proc, timeout):
    """True once proc has exited (left unreaped), False after `timeout` seconds."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([pidfd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(pidfd)


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stop(proc, *, grace=5.0, sig=signal.SIGTERM):
    """Stop a process started by popen_in and its process group; return its exit code."""
    if proc.returncode is not None:
        return proc.returncode  # already reaped: its pid may belong to another process now
    # os.kill, not Popen.send_signal: that polls first and could reap the
    # leader, losing the guarantee that its pid and pgid are still ours.
    _kill(proc.pid, sig)
    if not _wait_exit(proc, grace):
        _kill(proc.pid, signal.SIGKILL)
        _wait_exit(proc, grace)
    # The leader is a zombie now (not yet reaped): its pgid is still its own.
    try:
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return proc.wait()
