"""Notify scripts and FIFO lines side by side with the real keepalived 2.2.7.

keepalived runs in a lab namespace with a sync group of two instances, notify
scripts of every kind and both FIFOs (each with a FIFO script), goes
BACKUP -> MASTER and is stopped with SIGTERM (STOP).  fastvrrp's notifier,
built from the same config by the project's config reader, is then fed the
same transitions.  The contract users' scripts depend on must be the same:

- every script invocation, argv for argv (keepalived runs scripts
  concurrently, so its order is not compared; fastvrrp's is per-instance
  ordered by construction, checked in tests/unit/test_notify.py);
- the FIFO lines, byte for byte and in order;
- the FIFO scripts' argv (the FIFO path last);
- a FIFO the daemon created has the same mode under keepalived's umask and
  is removed at exit; a FIFO that existed before is left in place.
"""

import asyncio
import os
import stat
from collections import Counter

import pytest

from kalab import require_keepalived, work_dir
from notifylab import FifoReader, make_recorder, recorded

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]

CONFIG = """
global_defs {
    script_user root
    notify_fifo %(d)s/global.fifo
    notify_fifo_script "%(rec)s fifo-global"
    vrrp_notify_fifo %(d)s/vrrp.fifo
    vrrp_notify_fifo_script "%(rec)s fifo-vrrp"
}
vrrp_sync_group G1 {
    group {
        VI_1
        VI_2
    }
    notify_master "%(rec)s G1 master"
    notify_backup "%(rec)s G1 backup"
    notify_fault "%(rec)s G1 fault"
    notify_stop "%(rec)s G1 stop"
    notify "%(rec)s G1-gen"
}
vrrp_instance VI_1 {
    interface eth0
    state BACKUP
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.0.0.100/24
    }
    notify_master "%(rec)s VI_1 master"
    notify_backup "%(rec)s VI_1 backup"
    notify_fault "%(rec)s VI_1 fault"
    notify_stop "%(rec)s VI_1 stop"
    notify "%(rec)s gen 'two words'"
}
vrrp_instance VI_2 {
    interface eth0
    state BACKUP
    virtual_router_id 52
    priority 90
    advert_int 1
    virtual_ipaddress {
        10.0.0.101/24
    }
    notify "%(rec)s gen2"
}
"""

# What a lone node does with this config: both instances start in BACKUP;
# VI_1's Master_Down_Interval (3 s + (256-100)/256 s, RFC 3768 §6.1) ends
# first, but a sync group member waits for the others; VI_2's ends, it takes
# MASTER and pulls VI_1 with it; then the group is MASTER.  SIGTERM: every
# instance STOPs, then the group.
PLAN = [("GROUP", "G1", "BACKUP", 0),
        ("INSTANCE", "VI_1", "BACKUP", 100), ("INSTANCE", "VI_2", "BACKUP", 90),
        ("INSTANCE", "VI_2", "MASTER", 90), ("INSTANCE", "VI_1", "MASTER", 100),
        ("GROUP", "G1", "MASTER", 0),
        ("INSTANCE", "VI_1", "STOP", 100), ("INSTANCE", "VI_2", "STOP", 90),
        ("GROUP", "G1", "STOP", 0)]


@pytest.fixture
def work():
    with work_dir("fastvrrp-ka-notify-") as d:
        yield d


def _recorded(log):
    """The recorded calls' argv, in file order."""
    return [args for _seq, args in recorded(log)]


def _keepalived(work, config_text, reader, log):
    from fastvrrp.bench.keepalived_proc import Keepalived
    from fastvrrp.bench.lab import Lab
    from fastvrrp.bench.waitfor import wait_for

    vrrp_fifo = os.path.join(work, "vrrp.fifo")
    with Lab() as lab:
        lab.star(("a",), ipv6=False)
        ka = Keepalived(lab, "a", config_text, name="notify").start()
        try:
            st = wait_for(lambda: os.path.exists(vrrp_fifo) and os.lstat(vrrp_fifo),
                          timeout=15, what="keepalived creating its vrrp FIFO")
            wait_for(lambda: 'GROUP "G1" MASTER 0' in reader.lines() or not ka.running(),
                     timeout=20, what="the sync group reaching MASTER")
            assert ka.running(), ka.log()
        finally:
            code = ka.stop()
        assert code == 0, ka.log()
        # STOP scripts may outlive keepalived by a moment: wait for their records
        wait_for(lambda: sum(1 for r in _recorded(log) if "STOP" in r or "stop" in r) >= 5,
                 timeout=10, what="keepalived's STOP scripts")
    return st, reader.take(), _recorded(log), os.path.exists(vrrp_fifo)


def _fastvrrp(work, config_text, reader, log):
    import uvloop

    from fastvrrp.config import loads
    from fastvrrp.daemon.notify import notifier_from_config
    from fastvrrp.track.runner import ScriptRunner

    config, diags = loads(config_text)
    assert not diags.errors, diags.errors
    vrrp_fifo = os.path.join(work, "vrrp.fifo")

    async def go():
        notifier = notifier_from_config(config, ScriptRunner())
        old = os.umask(0o177)           # keepalived's default umask (lib/utils.c)
        try:
            notifier.open()
        finally:
            os.umask(old)
        st = os.lstat(vrrp_fifo)
        for kind, name, state, prio in PLAN:
            if kind == "GROUP":
                notifier.group(name, state)
            else:
                notifier.instance(name, state, prio)
        await notifier.wait_idle()
        await notifier.close()
        return st
    st = uvloop.run(asyncio.wait_for(go(), 30))
    return st, reader.take(), _recorded(log), os.path.exists(vrrp_fifo)


def test_same_scripts_argv_and_fifo_lines_as_keepalived(work):
    require_keepalived()
    from fastvrrp.bench.keepalived_proc import keepalived_version
    assert keepalived_version() == "2.2.7"

    rec, log = make_recorder(work)
    config_text = CONFIG % dict(d=work, rec=rec)
    global_fifo = os.path.join(work, "global.fifo")
    os.mkfifo(global_fifo, 0o600)     # exists before: neither daemon may remove it
    reader = FifoReader(global_fifo)
    try:
        ka_st, ka_lines, ka_runs, ka_left = _keepalived(work, config_text, reader, log)
        os.rename(log, log + ".keepalived")
        fv_st, fv_lines, fv_runs, fv_left = _fastvrrp(work, config_text, reader, log)
    finally:
        reader.close()

    want_lines = ['%s "%s" %s %d' % step for step in PLAN]
    assert ka_lines == want_lines        # keepalived did what PLAN says
    assert fv_lines == ka_lines          # and fastvrrp wrote the same bytes

    assert Counter(fv_runs) == Counter(ka_runs)
    assert ("fifo-global", global_fifo) in fv_runs
    assert ("fifo-vrrp", os.path.join(work, "vrrp.fifo")) in fv_runs
    assert ("gen", "two words", "INSTANCE", "VI_1", "MASTER", "100") in fv_runs
    assert ("G1-gen", "GROUP", "G1", "STOP", "0") in fv_runs
    assert len(fv_runs) == 2 + 15       # FIFO scripts + every notify of PLAN

    # per instance, fastvrrp's runs are in PLAN order, specific script first
    vi1 = [r for r in fv_runs if r[0] == "VI_1" or (r[0] == "gen" and r[3] == "VI_1")]
    assert vi1 == [("VI_1", "backup"), ("gen", "two words", "INSTANCE", "VI_1", "BACKUP", "100"),
                   ("VI_1", "master"), ("gen", "two words", "INSTANCE", "VI_1", "MASTER", "100"),
                   ("VI_1", "stop"), ("gen", "two words", "INSTANCE", "VI_1", "STOP", "100")]

    assert stat.S_ISFIFO(ka_st.st_mode) and stat.S_ISFIFO(fv_st.st_mode)
    assert stat.S_IMODE(fv_st.st_mode) == stat.S_IMODE(ka_st.st_mode) == 0o600
    assert (fv_st.st_uid, fv_st.st_gid) == (ka_st.st_uid, ka_st.st_gid)
    assert not ka_left and not fv_left                  # created FIFOs removed at exit
    assert stat.S_ISFIFO(os.lstat(global_fifo).st_mode)  # the pre-existing one kept
