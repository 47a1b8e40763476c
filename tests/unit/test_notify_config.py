"""fastvrrp.daemon.notify built from a keepalived.conf (the project's config reader).

The scripts keepalived would refuse are refused with keepalived's reasons
(fastvrrp.track.security), the unquoted-argument gotcha behaves as in
keepalived (the word becomes the user and the script is dropped), and the
resulting notifier runs real scripts for real transitions.
"""

import asyncio
import logging
import os
import shutil

import pytest

from fastvrrp.config import loads
from fastvrrp.daemon.fifo import NotifyFifo, NotifyFifos
from fastvrrp.daemon.notify import INSTANCE, notifier_from_config
from fastvrrp.track.runner import ScriptRunner

from track_helpers import make_world_dir, run_on, zombie_children

pytestmark = pytest.mark.timeout(60)

RECORD = """#!/bin/sh
exec 9>>"%(log)s.lock"
flock 9
{ for a; do printf '%%s|' "$a"; done; printf '\\n'; } >> "%(log)s"
"""

CONFIG = """
global_defs {
    script_user root
    vrrp_notify_fifo %(d)s/vrrp.fifo
    vrrp_notify_priority_changes
}
vrrp_sync_group G1 {
    group {
        VI_1
        VI_2
    }
    notify "%(rec)s G1-gen"
    notify_priority_changes false
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.100/24
    }
    notify_master "%(rec)s VI_1 'master state'"
    notify_backup %(rec)s unquoted_word_becomes_the_user
    notify_fault %(insecure)s
    notify "%(rec)s gen"
    notify_deleted
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    virtual_ipaddress {
        10.0.0.101/24
    }
    notify_master_rx_lower_pri "%(rec)s VI_2 rx"
}
vrrp_instance VI_3 {
    interface eth0
    virtual_router_id 53
    virtual_ipaddress {
        10.0.0.102/24
    }
    notify "%(rec)s gen3"
}
"""


def records(log):
    try:
        with open(log) as fh:
            return [tuple(line.split("|")[:-1]) for line in fh.read().splitlines()]
    except FileNotFoundError:
        return []


@pytest.fixture
def world():
    path = make_world_dir()
    yield path
    shutil.rmtree(path)


def test_notifier_from_config_runs_what_keepalived_keeps(tmp_path, world, caplog):
    log = str(tmp_path / "rec.log")
    rec = str(tmp_path / "rec.sh")
    with open(rec, "w") as fh:
        fh.write(RECORD % dict(log=log))
    os.chmod(rec, 0o755)
    insecure = os.path.join(world, "fault.sh")        # in a world-writable directory
    with open(insecure, "w") as fh:
        fh.write("#!/bin/sh\n")
    os.chmod(insecure, 0o755)
    text = CONFIG % dict(d=tmp_path, rec=rec, insecure=insecure)
    config, diags = loads(text)
    assert not diags.errors, diags.errors

    async def go():
        with caplog.at_level(logging.INFO, "fastvrrp.daemon.notify"):
            n = notifier_from_config(config, ScriptRunner())
        n.open()
        n.instance("VI_1", "BACKUP", 100)      # its script was dropped: generic only
        n.instance("VI_1", "MASTER", 100)
        n.instance("VI_2", "MASTER_RX_LOWER_PRI", 100)
        n.priority_changed("VI_1", "MASTER", 99)   # VI_1, VI_2: the group says no
        n.priority_changed("VI_3", "BACKUP", 98)   # VI_3: the global default says yes
        n.group("G1", "MASTER")
        n.instance("VI_1", "DELETED", 99)       # notify_deleted: DELETED, not FAULT
        with open(str(tmp_path / "vrrp.fifo"), "rb", buffering=0) as fifo:
            lines = fifo.read(4096).decode().splitlines()
        await n.close()
        return lines
    lines = run_on("uvloop", go)
    # queues of different instances/groups run concurrently: compare as a multiset here
    assert sorted(records(log)) == sorted([
        ("gen", "INSTANCE", "VI_1", "BACKUP", "100"),
        ("VI_1", "master state"), ("gen", "INSTANCE", "VI_1", "MASTER", "100"),
        ("VI_2", "rx"),
        ("G1-gen", "GROUP", "G1", "MASTER", "0"),
        ("gen", "INSTANCE", "VI_1", "DELETED", "99"),
    ])
    vi1 = [r for r in records(log) if "VI_1" in r]
    assert vi1 == [("gen", "INSTANCE", "VI_1", "BACKUP", "100"), ("VI_1", "master state"),
                   ("gen", "INSTANCE", "VI_1", "MASTER", "100"),
                   ("gen", "INSTANCE", "VI_1", "DELETED", "99")]
    assert lines == ['INSTANCE "VI_1" BACKUP 100', 'INSTANCE "VI_1" MASTER 100',
                     'INSTANCE "VI_2" MASTER_RX_LOWER_PRI 100',
                     'INSTANCE "VI_3" BACKUP_PRIORITY 98',
                     'GROUP "G1" MASTER 0', 'INSTANCE "VI_1" DELETED 99']
    text = caplog.text
    assert "Script user 'unquoted_word_becomes_the_user' does not exist" in text
    assert "Invalid user/group for notify script %s - ignoring" % rec in text
    assert "Unsafe permissions found for script '%s'." % insecure in text
    assert not os.path.exists(str(tmp_path / "vrrp.fifo")) and not zombie_children()


def test_script_security_refuses_the_insecure_script(tmp_path, world, caplog):
    insecure = os.path.join(world, "m.sh")
    with open(insecure, "w") as fh:
        fh.write("#!/bin/sh\n")
    os.chmod(insecure, 0o755)
    config, diags = loads("""
global_defs {
    script_user root
    enable_script_security
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.100/24
    }
    notify_master %s
}
""" % insecure)

    async def go():
        with caplog.at_level(logging.INFO, "fastvrrp.daemon.notify"):
            n = notifier_from_config(config, ScriptRunner())
        n.instance("VI_1", "MASTER", 100)
        pending = n.pending()
        await n.close()
        return pending
    assert run_on("asyncio", go) == 0
    assert "Unsafe permissions found for script '%s' - disabling." % insecure in caplog.text


def test_reload_replaces_the_fifos(tmp_path):
    config, diags = loads("""
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.100/24
    }
}
""")
    old_path, new_path = str(tmp_path / "old.fifo"), str(tmp_path / "new.fifo")

    async def go():
        n = notifier_from_config(config, ScriptRunner())
        await n.replace_fifos(NotifyFifos([NotifyFifo(old_path)]))
        existed = os.path.exists(old_path)
        await n.replace_fifos(NotifyFifos([NotifyFifo(new_path)]))
        n.write_state(INSTANCE, "VI_1", "BACKUP", 100)
        gone = not os.path.exists(old_path)
        with open(new_path, "rb", buffering=0) as fifo:
            line = fifo.read(4096)
        closes = [n.close(), n.close()]         # a second close waits for the first
        await asyncio.gather(*closes)
        return existed, gone, line
    existed, gone, line = run_on("asyncio", go)
    assert existed and gone and line == b'INSTANCE "VI_1" BACKUP 100\n'
    assert not os.path.exists(new_path)
