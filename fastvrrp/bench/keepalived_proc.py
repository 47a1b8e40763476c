"""The real keepalived, run inside a lab namespace (for vectors, interop, --compare).

    ka = Keepalived(lab, "a", CONFIG_TEXT, name="v2pass").start()
    ...
    ka.stop()            # SIGTERM: keepalived sends its priority-0 adverts and exits
    print(ka.log())

Every file (config, the three pid files, the console log) lives in the lab's
work directory under `name`, so several keepalived can run at once, in one
lab or in several.  The command line is the systemd unit's foreground form
plus: -P (VRRP child only), -R (no respawn: a crash shows), -G (no syslog),
and NOTIFY_SOCKET removed from the environment.
"""

import os
import re
import shutil
import subprocess

KEEPALIVED_CANDIDATES = ("/usr/sbin/keepalived", "/sbin/keepalived")


class KeepalivedError(RuntimeError):
    """keepalived is missing, or failed to start or check a config."""


def keepalived_path():
    path = shutil.which("keepalived") or next(
        (p for p in KEEPALIVED_CANDIDATES if os.access(p, os.X_OK)), None)
    if path is None:
        raise KeepalivedError("keepalived is not installed (Debian: apt-get install keepalived)")
    return path


def keepalived_version(path=None):
    """The installed version as a string ("2.2.7"), from `keepalived -v`."""
    res = subprocess.run([path or keepalived_path(), "-v"], capture_output=True, text=True,
                         timeout=10, check=False)
    text = res.stderr + res.stdout
    match = re.search(r"Keepalived v(\d+(?:\.\d+)+)", text)
    if not match:
        raise KeepalivedError("cannot read the keepalived version from: %r" % text[:200])
    return match.group(1)


class Keepalived:
    """One keepalived process in namespace `node` of `lab`, with its own files."""

    def __init__(self, lab, node, config_text, *, name="keepalived"):
        self.lab, self.node, self.name = lab, node, name
        self.config_path = lab.path(name + ".conf")
        self.log_path = lab.path(name + ".log")
        self.pid_paths = tuple(lab.path("%s%s.pid" % (name, s)) for s in ("", "-vrrp", "-checkers"))
        with open(self.config_path, "w") as fh:
            fh.write(config_text)
        self.proc = None

    def argv(self):
        pid, vrrp_pid, checkers_pid = self.pid_paths
        return [keepalived_path(), "-n", "-l", "-D", "-G", "-P", "-R", "-f", self.config_path,
                "-p", pid, "-r", vrrp_pid, "-c", checkers_pid]

    def check(self):
        """`keepalived -t` on the config, inside the node namespace; raise on errors."""
        with open(self.log_path + ".check", "w") as out:
            proc = self.lab.popen(self.node, [keepalived_path(), "-t", "-l", "-f", self.config_path],
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
            code = proc.wait(timeout=30)
        self.lab.stop(proc)
        if code != 0:
            with open(self.log_path + ".check") as fh:
                raise KeepalivedError("keepalived -t rejected %s (exit %d):\n%s"
                                      % (self.config_path, code, fh.read()))
        return self

    def start(self):
        if self.proc is not None:
            raise KeepalivedError("keepalived %s already started" % self.name)
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        with open(self.log_path, "w") as log:
            self.proc = self.lab.popen(self.node, self.argv(), stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT, env=env)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace=10.0):
        """SIGTERM (keepalived's clean stop), SIGKILL after `grace`; the exit code."""
        if self.proc is None:
            return None
        code = self.lab.stop(self.proc, grace=grace) if self.proc in self.lab.processes() \
            else self.proc.wait()
        return code

    def log(self):
        try:
            with open(self.log_path, errors="replace") as fh:
                return fh.read()
        except FileNotFoundError:
            return ""
