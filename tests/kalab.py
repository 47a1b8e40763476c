"""What the tests that run the real keepalived share (interop, keepalived side by side).

    require_keepalived()                    # skip without it (fail with FASTVRRP_REQUIRE_INTEROP=1)
    with work_dir("fastvrrp-ka-x-") as d:  # a 0755 scratch directory, removed afterwards
        ...
    console_messages(ka.log())              # keepalived -l lines without their time stamps
"""

import contextlib
import os
import re
import shutil
import tempfile

import pytest

from fastvrrp.bench.keepalived_proc import KeepalivedError, keepalived_path

# keepalived -l: "Wed Nov 25 21:28:02 2026: text" (strftime %c, the C locale)
CONSOLE_LINE = re.compile(r"^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}: (.*)$")


def require_keepalived():
    """The path of keepalived; without it the test is skipped, or fails when
    FASTVRRP_REQUIRE_INTEROP=1 (CI)."""
    try:
        return keepalived_path()
    except KeepalivedError as exc:
        if os.environ.get("FASTVRRP_REQUIRE_INTEROP") == "1":
            pytest.fail("%s, and FASTVRRP_REQUIRE_INTEROP=1" % exc)
        pytest.skip(str(exc))


@contextlib.contextmanager
def work_dir(prefix):
    """A scratch directory keepalived's scripts (run as another user) can enter."""
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d)


def console_messages(log_text):
    """The messages of keepalived's console log lines, in order."""
    out = []
    for line in log_text.splitlines():
        match = CONSOLE_LINE.match(line)
        if match:
            out.append(match.group(1))
    return out
