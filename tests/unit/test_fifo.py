"""fastvrrp.daemon.fifo: keepalived's notify FIFO with real FIFOs in tmp dirs.

Checked against keepalived 2.2.7 lib/notify.c fifo_open/fifo_close and
vrrp_notify.c notify_fifo: the line format byte for byte, mkfifo 0644 under
the umask, chown to the FIFO user, refusing what is not a FIFO we own, the
FIFO script started first with the path as its last argument, O_RDWR so no
reader is needed, lost lines counted, SIGTERM to the script and unlink at exit.
"""

import logging
import os
import pwd
import stat

import pytest

from fastvrrp.daemon import fifo as fifo_mod
from fastvrrp.daemon.fifo import (FIFO_STATES, FifoError, NotifyFifo, NotifyFifos, PIPE_BUF,
                                  fifos_from_config, format_line, parse_line)
from fastvrrp.track.runner import ChildSpec, Outcome, ScriptRunner

from track_helpers import fifo_lines, is_dead, run_on, zombie_children

pytestmark = pytest.mark.timeout(60)

NOBODY = pwd.getpwnam("nobody")


def script(path, body):
    with open(path, "w") as fh:
        fh.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    return str(path)


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


# ---------------------------------------------------------------- the line

@pytest.mark.parametrize("args, line", [
    (("INSTANCE", "VI_1", "MASTER", 100), b'INSTANCE "VI_1" MASTER 100\n'),
    (("GROUP", "G1", "BACKUP", 0), b'GROUP "G1" BACKUP 0\n'),
    (("INSTANCE", "web-1", "MASTER_RX_LOWER_PRI", 255),
     b'INSTANCE "web-1" MASTER_RX_LOWER_PRI 255\n'),
    (("INSTANCE", "a b", "BACKUP_PRIORITY", 1),
     b'INSTANCE "a b" BACKUP_PRIORITY 1\n'),
])
def test_line_format_is_keepalived_s(args, line):
    assert format_line(*args) == line
    assert parse_line(line.decode().rstrip("\n")) == args


def test_every_keepalived_state_word_formats():
    for state in FIFO_STATES:
        assert format_line("INSTANCE", "I", state, 7) == ('INSTANCE "I" %s 7\n' % state).encode()


@pytest.mark.parametrize("args", [
    ("instance", "VI_1", "MASTER", 100),          # case matters
    ("INSTANCE", "VI_1", "master", 100),
    ("INSTANCE", "VI_1", "INIT", 100),
    ("INSTANCE", "", "MASTER", 100),
    ("INSTANCE", "a\nb", "MASTER", 100),
    ("INSTANCE", "VI_1", "MASTER", 256),
    ("INSTANCE", "VI_1", "MASTER", -1),
    ("INSTANCE", "VI_1", "MASTER", True),
    ("INSTANCE", "VI_1", "MASTER", "100"),
])
def test_bad_line_arguments_are_clear_errors(args):
    with pytest.raises(FifoError):
        format_line(*args)


@pytest.mark.parametrize("text", ['INSTANCE VI_1 MASTER 100', 'INSTANCE "VI_1" MASTER',
                                  'X "VI_1" MASTER 1', 'INSTANCE "VI_1" MASTER 1x',
                                  'INSTANCE "VI_1" MASTER 300', ''])
def test_parse_line_rejects_what_is_not_a_line(text):
    with pytest.raises(FifoError):
        parse_line(text)


@pytest.mark.parametrize("kw", [dict(path=""), dict(path="a\0b"), dict(path=3),
                                dict(path="/x", uid=-1), dict(path="/x", gid="0"),
                                dict(path="/x", script=("/bin/cat",)),
                                dict(path="/x", script=ChildSpec(("/bin/cat",)))])
def test_bad_constructor_arguments(kw):
    with pytest.raises(FifoError):
        NotifyFifo(**kw)


# ---------------------------------------------------------------- creating and refusing

def test_created_with_0644_under_the_umask_then_removed(tmp_path, umask022):
    path = str(tmp_path / "notify.fifo")
    f = NotifyFifo(path)
    assert f.open() and f.created
    st = os.lstat(path)
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o644
    run_on("asyncio", f.close)
    assert not os.path.exists(path) and f.fd == -1


def test_keepalived_default_umask_leaves_0600(tmp_path):
    old = os.umask(0o177)      # keepalived's default umask (lib/utils.c umask_val)
    try:
        f = NotifyFifo(str(tmp_path / "f"))
        assert f.open()
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.lstat(f.path).st_mode) == 0o600
    f.close_now()
    assert not os.path.exists(f.path)


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_created_fifo_is_chowned_to_its_user(tmp_path):
    f = NotifyFifo(str(tmp_path / "f"), uid=NOBODY.pw_uid, gid=NOBODY.pw_gid)
    assert f.open()
    st = os.lstat(f.path)
    assert (st.st_uid, st.st_gid) == (NOBODY.pw_uid, NOBODY.pw_gid)
    f.close_now()


def test_existing_fifo_is_used_and_left_in_place(tmp_path):
    path = str(tmp_path / "f")
    os.mkfifo(path, 0o600)
    f = NotifyFifo(path)
    assert f.open() and not f.created
    run_on("asyncio", f.close)
    assert stat.S_ISFIFO(os.lstat(path).st_mode)


def test_regular_file_is_refused_and_untouched(tmp_path, caplog):
    path = tmp_path / "f"
    path.write_text("precious\n")
    f = NotifyFifo(str(path))
    with caplog.at_level(logging.INFO, "fastvrrp.daemon.fifo"):
        assert not f.open()
    assert "notify fifo %s is not a fifo we own - not using" % path in caplog.text
    assert not f.write(b"x\n") and f.lines_written == 0
    f.close_now()
    assert path.read_text() == "precious\n"


def test_symlink_to_a_fifo_is_refused(tmp_path):
    real = str(tmp_path / "real")
    os.mkfifo(real)
    os.symlink(real, str(tmp_path / "link"))
    f = NotifyFifo(str(tmp_path / "link"))
    assert not f.open()
    assert os.path.islink(str(tmp_path / "link"))


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_fifo_owned_by_someone_else_is_refused_unless_it_is_the_fifo_user(tmp_path):
    path = str(tmp_path / "f")
    os.mkfifo(path)
    os.chown(path, NOBODY.pw_uid, NOBODY.pw_gid)
    assert not NotifyFifo(path).open()
    f = NotifyFifo(path, uid=NOBODY.pw_uid, gid=NOBODY.pw_gid)
    assert f.open()
    f.close_now()


def test_missing_directory_is_logged_not_raised(tmp_path, caplog):
    f = NotifyFifo(str(tmp_path / "no" / "such" / "f"), label="vrrp_")
    with caplog.at_level(logging.INFO, "fastvrrp.daemon.fifo"):
        assert not f.open()
    assert "Unable to create vrrp_notify fifo" in caplog.text


# ---------------------------------------------------------------- writing

def test_no_reader_needed_and_a_late_reader_gets_the_buffered_lines(tmp_path):
    f = NotifyFifo(str(tmp_path / "f"))
    assert f.open()
    lines = [format_line("INSTANCE", "VI_%d" % i, "BACKUP", i) for i in range(5)]
    for line in lines:
        assert f.write(line)      # O_RDWR: nobody reads yet, the writes still succeed
    assert f.pending_bytes() == sum(map(len, lines))
    got = run_on("asyncio", fifo_lines, f.path, 5)
    assert got == [l.decode().rstrip("\n") for l in lines]
    assert f.lines_written == 5 and f.lines_lost == 0
    f.close_now()


def test_full_pipe_loses_lines_silently_but_counts_them(tmp_path, caplog):
    f = NotifyFifo(str(tmp_path / "f"))
    assert f.open()
    line = format_line("INSTANCE", "VI_1", "MASTER", 100)
    capacity = fifo_mod.fcntl.fcntl(f.fd, 1032)            # F_GETPIPE_SZ
    tries = capacity // len(line) + 10
    with caplog.at_level(logging.WARNING, "fastvrrp.daemon.fifo"):
        results = [f.write(line) for _ in range(tries)]
    fits = results.index(False)       # the kernel packs lines into pages: not capacity/len
    assert fits > 0 and results == [True] * fits + [False] * (tries - fits)
    assert (f.lines_written, f.lines_lost) == (fits, tries - fits)
    assert caplog.text.count("line lost") == 1              # one warning per run of losses
    # the reader saw only whole lines
    rfd = os.open(f.path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        data = os.read(rfd, capacity)
    finally:
        os.close(rfd)
    assert data == line * fits
    assert f.write(line)                                    # room again
    f.close_now()


def test_line_longer_than_pipe_buf_is_refused_whole(tmp_path):
    f = NotifyFifo(str(tmp_path / "f"))
    assert f.open()
    long_line = format_line("INSTANCE", "x" * PIPE_BUF, "MASTER", 1)
    assert not f.write(long_line) and f.lines_lost == 1 and f.pending_bytes() == 0
    with pytest.raises(FifoError):
        f.write(b"no newline")
    f.close_now()


def test_same_path_twice_is_written_once(tmp_path, caplog):
    path = str(tmp_path / "f")
    with caplog.at_level(logging.INFO, "fastvrrp.daemon.fifo"):
        fifos = NotifyFifos([NotifyFifo(path), NotifyFifo(path, label="vrrp_")])
    assert len(fifos.fifos) == 1
    assert "specified for global and vrrp FIFO - ignoring vrrp FIFO" in caplog.text


def test_every_line_goes_to_both_fifos(tmp_path):
    a, b = NotifyFifo(str(tmp_path / "a")), NotifyFifo(str(tmp_path / "b"), label="vrrp_")
    fifos = NotifyFifos([a, b])
    assert fifos.open() == 2
    fifos.write_line("GROUP", "G1", "FAULT", 0)
    fifos.write_line("INSTANCE", "VI_1", "FAULT", 90)
    want = ['GROUP "G1" FAULT 0', 'INSTANCE "VI_1" FAULT 90']
    assert run_on("asyncio", fifo_lines, a.path, 2) == want
    assert run_on("asyncio", fifo_lines, b.path, 2) == want
    assert fifos.lines_written == 4
    for f in fifos.fifos:
        f.close_now()


# ---------------------------------------------------------------- the FIFO script

def test_script_gets_the_path_last_reads_lines_and_is_terminated_at_close(tmp_path):
    record = tmp_path / "argv"
    out = tmp_path / "lines"
    reader = script(tmp_path / "reader.sh",
                    'for a; do last="$a"; done\n'
                    'printf "%%s\\n" "$@" > %s\n'
                    'exec cat "$last" > %s\n' % (record, out))
    path = str(tmp_path / "f")

    async def go():
        runner = ScriptRunner()
        f = NotifyFifo(path, script=ChildSpec((reader, "--opt", "x y")), runner=runner)
        assert f.open()
        handle = f.script_handle
        for i in range(3):
            f.write(format_line("INSTANCE", "VI_1", "BACKUP", i))
        await f.close(drain_s=20, stall_s=10)   # generous: cat may start late on a busy host
        return handle
    handle = run_on("uvloop", go)
    assert record.read_text().splitlines() == ["--opt", "x y", path]
    # close() let cat read everything before the SIGTERM
    assert out.read_text().splitlines() == ['INSTANCE "VI_1" BACKUP %d' % i for i in range(3)]
    assert handle.result.outcome is Outcome.TERMINATED and is_dead(handle.pid)
    assert not os.path.exists(path) and not zombie_children()


def test_script_starts_before_the_fifo_is_opened(tmp_path, monkeypatch):
    events = []
    real_open = os.open

    def spy_open(path, flags, *a):
        if path == str(tmp_path / "f"):
            events.append("open")
        return real_open(path, flags, *a)

    class Runner:
        loop = None

        def start(self, spec, timeout_s=None, on_exit=None):
            events.append(("start", spec.argv, timeout_s))
            return type("H", (), {"done": True})()
    monkeypatch.setattr(fifo_mod.os, "open", spy_open)
    f = NotifyFifo(str(tmp_path / "f"), script=ChildSpec(("/bin/cat",)), runner=Runner())
    assert f.open()
    monkeypatch.undo()
    assert events == [("start", ("/bin/cat", str(tmp_path / "f")), None), "open"]
    f.close_now()


def test_drain_gives_up_when_no_one_reads(tmp_path):
    f = NotifyFifo(str(tmp_path / "f"))
    assert f.open()
    f.write(b"x\n")

    async def go():
        return await f.drain(timeout_s=5.0, stall_s=0.05)
    assert run_on("asyncio", go) is False
    f.close_now()


# ---------------------------------------------------------------- from the config

def test_fifos_from_config(tmp_path, caplog):
    from fastvrrp.config import loads
    from fastvrrp.track.security import DefaultScriptUser
    reader = script(tmp_path / "r.sh", "exec cat \"$1\" >/dev/null\n")
    text = """
global_defs {
    notify_fifo %(d)s/global.fifo
    notify_fifo_script "%(r)s -q"
    vrrp_notify_fifo %(d)s/vrrp.fifo no_such_user_xyz
    script_user root
}
""" % dict(d=tmp_path, r=reader)
    config, diags = loads(text)
    assert not diags.errors

    async def build():
        return fifos_from_config(config.global_defs, ScriptRunner(), DefaultScriptUser("root"))
    with caplog.at_level(logging.INFO, "fastvrrp.daemon.fifo"):
        fifos = run_on("asyncio", build)
    assert [f.path for f in fifos.fifos] == [str(tmp_path / "global.fifo")]
    assert fifos.fifos[0].script.argv == (reader, "-q")
    assert (fifos.fifos[0].uid, fifos.fifos[0].gid) == (0, 0)
    assert "Invalid user/group for vrrp_ fifo %s/vrrp.fifo - ignoring" % tmp_path in caplog.text
