"""What the notify tests share: a script that records its calls, and reading FIFOs.

    path, log = make_recorder(tmp_dir)       # an executable that appends its argv to `log`
    recorded(log)                            # [(sequence number, (arg1, arg2, ...))]
    reader = FifoReader(fifo_path)           # a FIFO held open for reading: reader.lines()
"""

import os

SEP = "\x1f"

RECORDER = """#!/bin/sh
# One line per invocation: <sequence number> US arg1 US arg2 ...
exec 9>>"%(log)s.lock"
flock 9
n=$(wc -l < "%(log)s" 2>/dev/null || echo 0)
{ printf '%%s' "$n"; for a; do printf '\\037%%s' "$a"; done; printf '\\n'; } >> "%(log)s"
"""


def make_recorder(directory, name="rec.sh"):
    log = os.path.join(str(directory), name + ".log")
    path = make_script(directory, name, RECORDER % dict(log=log))
    return path, log


def make_script(directory, name, body):
    path = os.path.join(str(directory), name)
    with open(path, "w") as fh:
        fh.write(body if body.startswith("#!") else "#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    return path


def recorded(log):
    """[(seq, (arg1, arg2, ...))] in file order."""
    try:
        with open(log) as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        seq, *args = line.split(SEP)
        out.append((int(seq), tuple(args)))
    return out


def read_fifo_now(path):
    """Every line buffered in FIFO `path` right now (non-blocking read)."""
    reader = FifoReader(path)
    try:
        return reader.lines()
    finally:
        reader.close()


class FifoReader:
    """Holds the FIFO `path` open for reading (non-blocking) and collects its
    lines; `create`: make the FIFO (mode 0600) first."""

    def __init__(self, path, *, create=False):
        if create:
            os.mkfifo(path, 0o600)
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.data = b""

    def lines(self):
        """Every line read so far (what is waiting is read first)."""
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self.data += chunk
        return self.data.decode().splitlines()

    def take(self):
        """lines(), then forget them."""
        out = self.lines()
        self.data = b""
        return out

    def close(self):
        os.close(self.fd)
