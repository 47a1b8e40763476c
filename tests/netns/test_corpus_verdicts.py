"""Every corpus file: fastvrrp check's verdict matches keepalived's.

Two network namespaces stand in for two hosts:
  * "index": only lo and eth0, the host INDEX.md's verdicts were taken on
    (keepalived 2.2.7 `-t -i high`);
  * "full": every interface any corpus file names (veth ends).
In each, `fastvrrp check` (host checks on, run in-process with this thread in
the namespace) must give keepalived's exit status - INDEX.md's in "index",
and the installed keepalived's own `-t` run in the same namespace in both -
and every keepalived message that names a line must have a fastvrrp
diagnostic on that line.  conditional_conf is run with -i high, -i low and
an id that matches no @ line.
"""

import json
import re
import shutil
import subprocess

import pytest

from fastvrrp.bench import netns, nsproc
from fastvrrp.bench.config import interface_namespace
from fastvrrp.config import load
from fastvrrp.config.check import main as check_main
from paths import CORPUS


def _index_rc():
    """INDEX.md's table: file -> keepalived 2.2.7's `-t -f FILE -l -i high` exit
    code on a host with only lo and eth0."""
    out = {}
    for line in (CORPUS / "INDEX.md").read_text().splitlines():
        cells = line.split("|")
        if len(cells) < 5 or not cells[1].strip().startswith("`"):
            continue
        rel = cells[1].strip().split("`")[1]
        rc = re.search(r"rc=(\d)", cells[-2])
        if rc and (CORPUS / rel).is_file():
            out[rel] = int(rc.group(1))
    return out


INDEX_RC = _index_rc()
# None: no -i, so the config-id is the host name and no @ line of conditional_conf matches
CASES = [(f, "high") for f in sorted(INDEX_RC)] + [
    ("keepalived.conf.conditional_conf", "low"), ("keepalived.conf.conditional_conf", None)]
KEEPALIVED = shutil.which("keepalived")
LINE = re.compile(r"\((?:[^():]*: )?Line (\d+)\)")

pytestmark = pytest.mark.netns


def _keepalived_version():
    if not KEEPALIVED:
        return None
    out = subprocess.run([KEEPALIVED, "-v"], capture_output=True, text=True)
    m = re.search(r"Keepalived v(\d+\.\d+\.\d+)", out.stdout + out.stderr)
    return m.group(1) if m else None


VERSION = _keepalived_version()


def _all_interfaces():
    names = {"eth0"}
    for rel in INDEX_RC:
        for cid in ("high", "low", None):
            config, _ = load(str(CORPUS / rel), cid)
            names.update(config.interfaces())
    return sorted(names)


@pytest.fixture(scope="module")
def namespaces():
    import os
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    with interface_namespace(["eth0"], prefix="fvcorp-i-") as index, \
            interface_namespace([n for n in _all_interfaces() if n != "lo"],
                                prefix="fvcorp-f-") as full:
        yield {"index": index, "full": full}


def fastvrrp_check(ns, path, config_id, capsys):
    capsys.readouterr()
    with netns.inside(ns):
        rc = check_main(["-f", path, "--json"] + (["-i", config_id] if config_id else []))
    out = capsys.readouterr().out
    return rc, [json.loads(line) for line in out.splitlines()]


def keepalived_t(ns, path, config_id):
    proc = nsproc.popen_in(ns, [KEEPALIVED, "-t", "-f", path, "-l"]
                           + (["-i", config_id] if config_id else []),
                           private_sysfs=True, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.returncode is None:
            nsproc.stop(proc)
    lines = {int(m.group(1)) for m in LINE.finditer(out + err)}
    return proc.returncode, lines, err


@pytest.mark.parametrize("env", ["index", "full"])
@pytest.mark.parametrize("rel,config_id", CASES, ids=["%s-%s" % c for c in CASES])
def test_verdict_matches_keepalived(namespaces, env, rel, config_id, capsys):
    path = str(CORPUS / rel)
    rc, diags = fastvrrp_check(namespaces[env], path, config_id, capsys)
    assert all(d["file"] == path or d["file"] == "<host>" for d in diags)
    if env == "index" and config_id == "high":
        assert (rc == 0) == (INDEX_RC[rel] == 0), diags
        assert rc == INDEX_RC[rel], diags
    if not KEEPALIVED:
        return
    ka_rc, ka_lines, ka_err = keepalived_t(namespaces[env], path, config_id)
    if env == "index" and config_id == "high" and VERSION and VERSION.startswith("2.2."):
        assert ka_rc == INDEX_RC[rel], ka_err
    assert (rc == 0) == (ka_rc == 0), (ka_err, diags)
    if VERSION and VERSION.startswith("2.2."):
        assert rc == ka_rc, (ka_err, diags)
    ours = {d["line"] for d in diags}
    assert ka_lines <= ours, (sorted(ka_lines - ours), ka_err, diags)


def test_index_table_read_whole():
    # every corpus file has its 2.2.7 verdict (the parametrisation above is not vacuous)
    files = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*")
                   if p.is_file() and p.name != "INDEX.md")
    assert sorted(INDEX_RC) == files
