"""What a lab owns, written down so a later run can clean up after a crash.

Each live lab keeps one JSON file, RUN_DIR/<lab id>.json, naming the process
that created it (pid + kernel start time, so a recycled pid is not mistaken
for it), its namespaces (recorded *before* each is created) and the processes
it started.  `cleanup_stale(prefix)` removes what a dead creator left behind
and touches nothing else: only labs whose id starts with `prefix`, only
namespaces and processes listed in their own state file (plus any process
still inside one of those namespaces), and a namespace only if its name starts
with the lab id.
"""

import json
import os
import select
import signal
import time

from . import netns

RUN_DIR = "/run/fastvrrp-lab"


def proc_start_time(pid):
    """The kernel start time (clock ticks since boot) of `pid`, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as fh:
            stat = fh.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(b")") + 2:].split()
    return int(fields[19])  # field 22 overall: starttime


def same_process(pid, start_time):
    """True if `pid` is alive and is the process that had `start_time`."""
    return pid is not None and start_time is not None and proc_start_time(pid) == start_time


class LabState:
    """The state file of one live lab."""

    def __init__(self, lab_id, run_dir=RUN_DIR):
        self.path = os.path.join(run_dir, lab_id + ".json")
        os.makedirs(run_dir, mode=0o755, exist_ok=True)
        pid = os.getpid()
        self.data = {"lab": lab_id, "pid": pid, "start_time": proc_start_time(pid),
                     "namespaces": [], "processes": []}
        self.save()

    def save(self):
        tmp = "%s.%d.tmp" % (self.path, os.getpid())
        with open(tmp, "w") as fh:
            json.dump(self.data, fh, indent=1)
        os.replace(tmp, self.path)

    def add_namespace(self, name):
        self.data["namespaces"].append(name)
        self.save()

    def add_process(self, pid, argv0):
        self.data["processes"].append({"pid": pid, "start_time": proc_start_time(pid),
                                       "argv0": argv0})
        self.save()

    def remove_process(self, pid):
        self.data["processes"] = [p for p in self.data["processes"] if p["pid"] != pid]
        self.save()

    def delete(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def kill_and_wait(pids, timeout=5.0):
    """SIGKILL each pid (none need be our child) and wait until each has exited.

    Goes through pidfds: the signal reaches the process the pid named when
    its pidfd was opened, and the wait is on the pidfds, not a sleep loop.
    """
    fds = []
    try:
        for pid in pids:
            try:
                fd = os.pidfd_open(pid)
            except ProcessLookupError:
                continue
            fds.append(fd)
            try:
                signal.pidfd_send_signal(fd, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        pending = list(fds)
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready, _, _ = select.select(pending, [], [], remaining)
            pending = [fd for fd in pending if fd not in ready]
    finally:
        for fd in fds:
            os.close(fd)


def process_running(pid):
    """True if `pid` exists and has not exited (a zombie counts as exited)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as fh:
            stat = fh.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3] not in (b"Z", b"X")


def read_states(prefix, run_dir=RUN_DIR):
    """(path, data) for every readable state file of a lab id starting with `prefix`."""
    try:
        names = sorted(os.listdir(run_dir))
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".json")):
            continue
        path = os.path.join(run_dir, name)
        try:
            with open(path) as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            continue  # unreadable: not ours to judge, leave it
        if isinstance(data, dict) and str(data.get("lab", "")).startswith(prefix):
            out.append((path, data))
    return out


def _owned_name(name, lab_id):
    """A namespace name a lab may own: valid and starting with the lab's id."""
    if not isinstance(name, str) or not name.startswith(lab_id):
        return False
    try:
        netns.check_name(name)
    except ValueError:
        return False
    return True


def cleanup_stale(prefix="fv", run_dir=RUN_DIR):
    """Remove namespaces and processes of `prefix`* labs whose creator is dead.

    Returns the names of the namespaces removed.  Labs whose creating process
    still runs are left alone, whatever their age.
    """
    if not prefix:
        raise ValueError("cleanup_stale needs a non-empty lab id prefix")
    removed = []
    for path, data in read_states(prefix, run_dir):
        if same_process(data.get("pid"), data.get("start_time")):
            continue
        lab_id = str(data["lab"])
        namespaces = [n for n in data.get("namespaces", []) if _owned_name(n, lab_id)]
        victims = set()
        for proc in data.get("processes", []):
            if same_process(proc.get("pid"), proc.get("start_time")):
                victims.add(proc["pid"])
        for name in namespaces:
            if netns.exists(name):
                victims.update(netns.pids_in(name))
        victims.discard(os.getpid())
        kill_and_wait(sorted(victims))
        for name in namespaces:
            try:
                if netns.remove(name):
                    removed.append(name)
            except netns.NetnsError:
                if netns.exists(name):
                    raise
                # another process cleaning up at the same moment removed it first
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    return removed
