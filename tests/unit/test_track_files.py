"""track_file: the number as keepalived reads it, and real inotify on real files.

Every change is awaited through on_change; "nothing happened" is shown by the
next change starting from the old value.
"""

import asyncio
import ctypes
import logging
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastvrrp.config import loads
from fastvrrp.track.files import (FileSpec, FileTracker, file_spec_from_config, initialise_file,
                                  parse_value, read_value, strtol0)

from track_helpers import LOOP_KINDS, run_on

pytestmark = pytest.mark.timeout(60)

WAIT = 5.0

# ------------------------------------------------------------ strtol(…, 0)

_libc = ctypes.CDLL(None, use_errno=True)
_libc.strtol.restype = ctypes.c_long
_libc.strtol.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int]


def c_strtol(data: bytes):
    ctypes.set_errno(0)
    value = _libc.strtol(data, None, 0)
    return value, ctypes.get_errno() == 34      # ERANGE


@pytest.mark.parametrize("text,value", [
    (b"42", 42), (b"  \t\n42", 42), (b"+7", 7), (b"-7", -7), (b"0x1F", 31), (b"0X1f", 31),
    (b"-0x10", -16), (b"010", 8), (b"08", 0), (b"0x", 0), (b"0xg", 0), (b"12abc", 12),
    (b"5\n", 5), (b"abc", 0), (b"- 5", 0), (b"", 0), (b"0b101", 0), (b"3\x004", 3),
    (b"\v\f\r 9", 9), (b"1e3", 1), (b"077777", 32767),
])
def test_strtol_known_answers(text, value):
    assert strtol0(text) == (value, False)
    assert c_strtol(text) == (value, False)


@pytest.mark.parametrize("text,value", [(b"9223372036854775808", 2 ** 63 - 1),
                                        (b"-9223372036854775809", -2 ** 63),
                                        (b"0xffffffffffffffffff", 2 ** 63 - 1)])
def test_strtol_overflow_is_erange(text, value):
    assert strtol0(text) == (value, True) == c_strtol(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(list(b" \t\n+-0123456789abcdefxXgz\x00\xff")), max_size=24)
       .map(bytes))
def test_strtol_matches_libc(data):
    assert strtol0(data) == c_strtol(data.split(b"\0", 1)[0])


def test_strtol_wants_bytes():
    with pytest.raises(TypeError, match="bytes"):
        strtol0("12")


@pytest.mark.parametrize("text,value", [
    (b"", 0), (b"12", 12), (b"-2147483648", -2 ** 31), (b"2147483648", 2 ** 31),
    (b"2147483649", None), (b"-2147483649", None), (b"99999999999999999999", None),
])
def test_parse_value_range(text, value):
    assert parse_value(text) == value


def test_read_value_missing_empty_directory_and_long_files(tmp_path):
    assert read_value(str(tmp_path / "nope")) == (0, 0)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert read_value(str(empty)) == (0, 0)
    assert read_value(str(tmp_path)) == (0, 0)              # a directory reads as 0
    long = tmp_path / "long"
    long.write_bytes(b" " * 126 + b"9" + b"9")               # only 127 bytes are read
    assert read_value(str(long)) == (9, 9)


# ------------------------------------------------------------ specs and init_file

def test_spec_validation():
    with pytest.raises(ValueError, match="name"):
        FileSpec("", "/tmp/x")
    with pytest.raises(ValueError, match="file must be"):
        FileSpec("f", "")
    with pytest.raises(ValueError, match="init_file value"):
        FileSpec("f", "/tmp/x", True, 2 ** 40)
    with pytest.raises(ValueError, match="defined twice"):
        FileTracker([FileSpec("f", "/tmp/a"), FileSpec("f", "/tmp/b")])
    with pytest.raises(ValueError, match="settle_s"):
        FileTracker([], settle_s=-1)


def test_spec_from_config(tmp_path):
    path = tmp_path / "v"
    config, diags = loads("track_file tf {\n file %s\n weight 3\n init_file 12 overwrite\n}\n"
                          % path)
    assert not diags.errors
    assert file_spec_from_config(config.track_files["tf"]) == FileSpec("tf", str(path), True,
                                                                       12, True)


def test_init_file_creates_only_when_missing(tmp_path):
    path = tmp_path / "v"
    assert initialise_file(FileSpec("f", str(path), True, -5)) is None
    assert path.read_text() == "-5\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert initialise_file(FileSpec("f", str(path), True, 9)) is None
    assert path.read_text() == "-5\n"                        # exists: left alone
    assert initialise_file(FileSpec("f", str(path), False, 9, True)) is None
    assert path.read_text() == "-5\n"                        # no init_file at all


def test_init_file_overwrite_but_not_on_reload_nor_non_regular(tmp_path):
    path = tmp_path / "v"
    path.write_text("3\n")
    assert initialise_file(FileSpec("f", str(path), True, 0, True), reload=True) is None
    assert path.read_text() == "3\n"
    assert initialise_file(FileSpec("f", str(path), True, 0, True)) is None
    assert path.read_text() == "0\n"
    assert initialise_file(FileSpec("d", str(tmp_path), True, 1, True)) == \
        "Cannot initialise track file d - it is not a regular file"
    assert "Unable to initialise track file m" in initialise_file(
        FileSpec("m", str(tmp_path / "no" / "such"), True, 1))
    assert sorted(os.listdir(tmp_path)) == ["v"]             # no temporary file left


# ------------------------------------------------------------ the tracker

class Run:
    """A FileTracker on a running loop with its changes in a queue."""

    def __init__(self, specs, **kw):
        self.changes = asyncio.Queue()
        self.tracker = FileTracker(specs, on_change=lambda *c: self.changes.put_nowait(c), **kw)

    async def next(self):
        return await asyncio.wait_for(self.changes.get(), WAIT)


def write(path, text):
    with open(path, "w") as fh:
        fh.write(text)


@pytest.mark.parametrize("kind", LOOP_KINDS)
def test_write_rename_delete_and_recreate(tmp_path, kind):
    path = tmp_path / "value"
    write(path, "3\n")

    async def main():
        r = Run([FileSpec("f", str(path))])
        r.tracker.start()
        assert r.tracker.value("f") == 3
        write(path, "0x10\n")                                  # close_write
        assert await r.next() == ("f", 3, 16)
        write(tmp_path / "tmp", "-4 junk")
        os.rename(tmp_path / "tmp", path)                      # moved into place
        assert await r.next() == ("f", 16, -4)
        os.unlink(path)                                         # deleted: 0
        assert await r.next() == ("f", -4, 0)
        write(path, "7")                                        # created again
        assert await r.next() == ("f", 0, 7)
        os.rename(path, tmp_path / "elsewhere")                 # moved away: 0
        assert await r.next() == ("f", 7, 0)
        write(tmp_path / "other", "99")                         # not our file
        write(path, "1")
        assert await r.next() == ("f", 0, 1)
        r.tracker.stop()
    run_on(kind, main)


def test_missing_at_start_is_zero_and_picked_up_when_it_appears(tmp_path):
    path = tmp_path / "later"

    async def main():
        r = Run([FileSpec("f", str(path))])
        r.tracker.start()
        assert r.tracker.values() == {"f": 0} and r.tracker.unavailable == frozenset()
        write(path, "12")
        assert await r.next() == ("f", 0, 12)
        r.tracker.stop()
    run_on("asyncio", main)


def test_invalid_numbers_are_ignored_and_logged(tmp_path, caplog):
    path = tmp_path / "v"
    write(path, "5")

    async def main():
        r = Run([FileSpec("f", str(path)), FileSpec("barrier", str(tmp_path / "b"))])
        r.tracker.start()
        write(path, "4294967296")                               # beyond INT32_MAX + 1
        write(tmp_path / "b", "1")                              # read after it, in order
        assert await r.next() == ("barrier", 0, 1)
        write(path, "6")
        assert await r.next() == ("f", 5, 6)                    # never went through 0
        r.tracker.stop()
    with caplog.at_level(logging.INFO, "fastvrrp.track.files"):
        run_on("asyncio", main)
    assert "Invalid number 4294967296 read from %s - ignoring" % path in caplog.messages


def test_a_writer_that_keeps_the_file_open_is_seen(tmp_path):
    path = tmp_path / "v"
    write(path, "1")

    async def main():
        r = Run([FileSpec("f", str(path))], settle_s=0.05)
        r.tracker.start()
        fh = open(path, "r+")
        try:
            fh.write("8")                                       # IN_MODIFY, no close
            fh.flush()
            assert await r.next() == ("f", 1, 8)
        finally:
            fh.close()
        r.tracker.stop()
    run_on("uvloop", main)


def test_hard_link_creation_is_seen(tmp_path):
    src = tmp_path / "src"
    write(src, "21")
    path = tmp_path / "v"

    async def main():
        r = Run([FileSpec("f", str(path))], settle_s=0.01)
        r.tracker.start()
        os.link(src, path)                                      # IN_CREATE only
        assert await r.next() == ("f", 0, 21)
        r.tracker.stop()
    run_on("asyncio", main)


def test_several_files_several_directories_and_a_symlink(tmp_path):
    d1, d2, d3 = tmp_path / "d1", tmp_path / "d2", tmp_path / "d3"
    for d in (d1, d2, d3):
        d.mkdir()
    write(d3 / "target", "2")
    os.symlink(d3 / "target", d1 / "link")

    async def main():
        r = Run([FileSpec("a", str(d1 / "a")), FileSpec("b", str(d1 / "b")),
                 FileSpec("c", str(d2 / "a")), FileSpec("l", str(d1 / "link")),
                 FileSpec("a2", str(d1 / "a"))])
        r.tracker.start()
        assert r.tracker.values() == {"a": 0, "b": 0, "c": 0, "l": 2, "a2": 0}
        assert r.tracker.status("l").watched_path == str(d3 / "target")
        write(d2 / "a", "30")
        assert await r.next() == ("c", 0, 30)
        write(d1 / "b", "20")
        assert await r.next() == ("b", 0, 20)
        write(d3 / "target", "4")                               # followed to the target
        assert await r.next() == ("l", 2, 4)
        write(d1 / "a", "10")
        assert {await r.next(), await r.next()} == {("a", 0, 10), ("a2", 0, 10)}
        r.tracker.stop()
    run_on("asyncio", main)


def test_missing_directory_is_unavailable_and_a_removed_one_reads_zero(tmp_path, caplog):
    gone = tmp_path / "gone"
    gone.mkdir()
    write(gone / "v", "9")

    async def main():
        r = Run([FileSpec("nodir", str(tmp_path / "none" / "v")), FileSpec("g", str(gone / "v"))])
        r.tracker.start()
        assert r.tracker.unavailable == {"nodir"}
        assert r.tracker.status("nodir").error == \
            "Track file directory for nodir does not exist - removing"
        assert r.tracker.value("g") == 9
        os.rename(gone, tmp_path / "moved")                     # the directory moves away
        assert await r.next() == ("g", 9, 0)
        assert r.tracker.unavailable == {"nodir", "g"}
        r.tracker.stop()
    with caplog.at_level(logging.ERROR, "fastvrrp.track.files"):
        run_on("asyncio", main)
    assert any("directory %s was moved" % gone in m for m in caplog.messages)


def test_queue_overflow_re_reads_every_file(tmp_path, caplog):
    path = tmp_path / "v"
    write(path, "1")
    limit = int(open("/proc/sys/fs/inotify/max_queued_events").read())

    async def main():
        r = Run([FileSpec("f", str(path))])
        r.tracker.start()
        # The loop is not running while this floods the queue, so the write
        # of our file is lost in the overflow and only a re-read can see it.
        # (Writes to two files in turn: identical consecutive events would merge.)
        fds = [os.open(tmp_path / n, os.O_CREAT | os.O_WRONLY) for n in ("x", "y")]
        for i in range(limit + 16):
            os.write(fds[i % 2], b".")
        for fd in fds:
            os.close(fd)
        write(path, "5")
        assert await r.next() == ("f", 1, 5)
        assert r.tracker.overflows == 1
        r.tracker.stop()
    with caplog.at_level(logging.WARNING, "fastvrrp.track.files"):
        run_on("asyncio", main)
    assert "inotify queue overflowed: re-reading every track file" in caplog.messages


def test_init_file_at_start(tmp_path):
    path = tmp_path / "v"

    async def main():
        r = Run([FileSpec("f", str(path), True, 33)])
        r.tracker.start()
        assert r.tracker.value("f") == 33
        r.tracker.stop()
    run_on("asyncio", main)
    assert path.read_text() == "33\n"


def test_start_twice_and_unknown_names():
    async def main():
        t = FileTracker([])
        t.start()
        with pytest.raises(RuntimeError, match="already started"):
            t.start()
        with pytest.raises(KeyError, match="no track_file named 'x'"):
            t.value("x")
        t.stop()
    run_on("asyncio", main)
