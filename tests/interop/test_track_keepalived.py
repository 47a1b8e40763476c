"""vrrp_script tracking side by side with the real keepalived 2.2.7.

One keepalived runs in a lab namespace with a check script whose exit codes
follow a plan file (interval 1 s, rise 2, fall 2), plus three scripts its
security checks complain about.  fastvrrp's tracker runs the same script on
the same plan (interval 50 ms) and its security checks vet the same scripts.
The log lines must be the same, in the same order.
"""

import logging
import os
import re

import pytest

from fastvrrp.track.runner import ChildSpec, ScriptRunner
from fastvrrp.track.scripts import ScriptTracker, TrackedScript
from fastvrrp.track.security import (DefaultScriptUser, ScriptFlags, security_summary,
                                     vet_track_script)

from kalab import console_messages, require_keepalived, work_dir

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]

PLAN = [0, 1, 0, 1, 1, 0, 0, 3, 0, 0]          # exit codes, one per run
PLAN_SCRIPT = """#!/bin/sh
# exit with the next planned code (0 once the plan is used up); count the runs
code=$(head -n 1 "$1")
sed -i 1d "$1"
echo run >> "$1.runs"
exit ${code:-0}
"""

CONFIG = """
global_defs {
    script_user root
}
vrrp_script chk {
    script "%(plan_script)s %(plan)s"
    interval 1
    rise 2
    fall 2
}
vrrp_script c_insecure {
    script "%(insecure)s"
}
vrrp_script c_path {
    script "true"
}
vrrp_script c_missing {
    script "%(missing)s"
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
    track_script {
        chk
        c_insecure
        c_path
        c_missing
    }
}
"""

SECURITY_LINE = re.compile(r"(Unsafe permissions|WARNING - script|Script \S+ cannot be accessed|"
                           r"Disabling track script|SECURITY VIOLATION)")


@pytest.fixture
def script_dir():
    with work_dir("fastvrrp-ka-track-") as d:
        yield d


def _files(d, tag):
    plan_script = os.path.join(d, "plan.sh")
    with open(plan_script, "w") as fh:
        fh.write(PLAN_SCRIPT)
    os.chmod(plan_script, 0o755)
    plan = os.path.join(d, "plan-" + tag)
    with open(plan, "w") as fh:
        fh.write("".join("%d\n" % c for c in PLAN))
    open_dir = os.path.join(d, "w")
    os.makedirs(open_dir, exist_ok=True)
    os.chmod(open_dir, 0o777)
    insecure = os.path.join(open_dir, "ok.sh")
    with open(insecure, "w") as fh:
        fh.write("#!/bin/sh\nexit 0\n")
    os.chmod(insecure, 0o755)
    return dict(plan_script=plan_script, plan=plan, insecure=insecure,
                missing=os.path.join(d, "nonexist.sh"))


def _runs(plan):
    try:
        with open(plan + ".runs") as fh:
            return fh.read().count("run")
    except FileNotFoundError:
        return 0


def _chk_lines(lines):
    return [l for l in lines if "VRRP_Script(chk)" in l or "Script `chk`" in l]


def _keepalived_lines(files):
    from fastvrrp.bench.keepalived_proc import Keepalived
    from fastvrrp.bench.lab import Lab
    from fastvrrp.bench.waitfor import wait_for

    with Lab() as lab:
        lab.star(("a",), ipv6=False)
        ka = Keepalived(lab, "a", CONFIG % files, name="track").start()
        try:
            wait_for(lambda: _runs(files["plan"]) >= len(PLAN) or not ka.running(),
                     timeout=len(PLAN) + 20, what="keepalived running the whole plan")
            # The last runs repeat exit 0 and log nothing, so every line is out.
            assert ka.running(), ka.log()
        finally:
            ka.stop()
        return console_messages(ka.log())


def _fastvrrp_lines(files, caplog):
    import asyncio

    class Counting(ScriptRunner):
        def start(self, spec, timeout_s=None, on_exit=None):
            def counted(result):
                on_exit(result)
                done.put_nowait(result)
            return super().start(spec, timeout_s, counted)

    async def go():
        defn = TrackedScript("chk", ChildSpec((files["plan_script"], files["plan"])),
                             interval_s=0.05, rise=2, fall=2)
        tracker = ScriptTracker([defn], Counting())
        tracker.start()
        for _ in PLAN:
            await done.get()
        await tracker.stop()
    done = asyncio.Queue()
    with caplog.at_level(logging.INFO, "fastvrrp.track.scripts"):
        asyncio.run(go())
    return [r.getMessage() for r in caplog.records if r.name == "fastvrrp.track.scripts"]


def test_rise_fall_and_security_lines_match_keepalived(script_dir, caplog):
    require_keepalived()
    ka_files = _files(script_dir, "ka")
    ka = _keepalived_lines(ka_files)

    fv_files = dict(ka_files, plan=_files(script_dir, "fv")["plan"])
    fv = _fastvrrp_lines(fv_files, caplog)
    assert _chk_lines(fv) == _chk_lines(ka)
    assert "VRRP_Script(chk) failed (exited with status 1)" in fv   # the plan really went KO

    default = DefaultScriptUser("root")
    flags = ScriptFlags.NONE
    ours = []
    for name, argv in (("chk", [ka_files["plan_script"], ka_files["plan"]]),
                       ("c_insecure", [ka_files["insecure"]]), ("c_path", ["true"]),
                       ("c_missing", [ka_files["missing"]])):
        vetted = vet_track_script(name, argv, default=default)
        flags |= vetted.flags
        ours.extend(m.text for m in vetted.messages)
    ours.append(security_summary(flags, False).text)
    theirs = [l for l in ka if SECURITY_LINE.search(l)]
    assert sorted(ours) == sorted(theirs)
