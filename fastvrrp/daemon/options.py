"""keepalived's command line, parsed exactly as keepalived 2.2.7 parses it.

    opts = parse(sys.argv[1:])          # -> Options (frozen), or raises OptionsExit

keepalived uses glibc `getopt_long` with the option string
":vhlndu:DRS:f:p:i:es:mM::g::Gt::PCr:VXac:ITBb:xA:" (main.c parse_cmdline);
this module reproduces its rules:

- short options cluster (`-nlD`); a required value may be attached (`-fFILE`)
  or be the next word, whatever it looks like (`-f -n` reads the file `-n`);
  an optional value (`-t`, `-g`, `-M`) must be attached (`-tLOG`);
- long options take `--name=value` or `--name value` (required values only;
  optional ones only with `=`); any unambiguous prefix of a long name works
  (`--use=FILE`); `--name=` with an empty required value counts as missing;
- `--` ends the options; words that are not options may appear anywhere and
  are printed as `Unexpected argument(s): ...` (on stdout) and ignored;
- every bad option is reported (`Unknown option -x`, `Missing parameter for
  option -f` / `--use-file`), parsing goes on, and the run then exits 1;
- `-v`, `-h` and `--signum=NAME` act when they are met: the version or the
  help on stderr and exit 0; the signal number on stdout and exit 0
  (`Unknown sigfunc NAME`: exit 1);
- `-S` with a bad facility and `-u` with a bad mask are reported and ignored.

Deliberate differences (keepalived bugs not copied): a long option missing
its value at the end of the line is named (2.2.7 prints garbage, `--X`); an
unknown option that follows a stray word is named itself (2.2.7 names the
stray word); the bad `-u` message ends with a newline.

Options accepted beyond Debian's build (all harmless): `-g/--log-file[=FILE]`
and `--flush-log-file` (implemented: log to a file), `--ignore-sigint`
(implemented), `--perf[=X]`, `--debug[=X]`, `--no-mem-check`, `-L`
(accepted and ignored).  `-T/--genhash` is refused: fastvrrp has no genhash.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from dataclasses import dataclass
from typing import Optional, Sequence

from .. import __version__

DEFAULT_CONFIG_FILE = "/etc/keepalived/keepalived.conf"
KEEPALIVED_VERSION = "2.2.7"

# syslog facility codes (RFC 5424 §6.2.1, unshifted): keepalived's -S values
LOG_USER = 1
LOG_DAEMON = 3
LOG_LOCAL0 = 16
FACILITY_NAMES = {LOG_USER: "user", LOG_DAEMON: "daemon",
                  **{LOG_LOCAL0 + n: "local%d" % n for n in range(8)}}

# keepalived's signal functions (lib/signals.c; `keepalived --signum` on 2.2.7)
SIGNAL_FUNCTIONS = {
    "STOP": int(signal.SIGTERM),
    "RELOAD": int(signal.SIGHUP),
    "DATA": int(signal.SIGUSR1),
    "STATS": int(signal.SIGUSR2),
    "STATS_CLEAR": int(signal.SIGRTMAX) - 1,
    "JSON": int(signal.SIGRTMIN) + 2,
}

NO_ARG, REQUIRED, OPTIONAL = 0, 1, 2

# short option -> argument kind (keepalived's optstring, Debian 12 build, plus -L)
SHORT = {
    "v": NO_ARG, "h": NO_ARG, "l": NO_ARG, "n": NO_ARG, "d": NO_ARG, "u": REQUIRED,
    "D": NO_ARG, "R": NO_ARG, "S": REQUIRED, "f": REQUIRED, "p": REQUIRED,
    "i": REQUIRED, "e": NO_ARG, "s": REQUIRED, "m": NO_ARG, "M": OPTIONAL,
    "g": OPTIONAL, "G": NO_ARG, "t": OPTIONAL, "P": NO_ARG, "C": NO_ARG,
    "r": REQUIRED, "V": NO_ARG, "X": NO_ARG, "a": NO_ARG, "c": REQUIRED,
    "I": NO_ARG, "T": NO_ARG, "B": NO_ARG, "b": REQUIRED, "x": NO_ARG,
    "A": REQUIRED, "L": NO_ARG,
}

# long option -> (argument kind, key): the key is the short letter, or the
# long name for the long-only options.  Order as keepalived's table.
LONG = {
    "use-file": (REQUIRED, "f"), "vrrp": (NO_ARG, "P"), "check": (NO_ARG, "C"),
    "no_bfd": (NO_ARG, "B"), "all": (NO_ARG, "all"), "log-console": (NO_ARG, "l"),
    "log-detail": (NO_ARG, "D"), "log-facility": (REQUIRED, "S"),
    "log-file": (OPTIONAL, "g"), "all-config": (NO_ARG, "e"),
    "flush-log-file": (NO_ARG, "flush-log-file"), "no-syslog": (NO_ARG, "G"),
    "umask": (REQUIRED, "u"), "release-vips": (NO_ARG, "X"),
    "dont-release-vrrp": (NO_ARG, "V"), "dont-release-ipvs": (NO_ARG, "I"),
    "dont-respawn": (NO_ARG, "R"), "dont-fork": (NO_ARG, "n"),
    "dump-conf": (NO_ARG, "d"), "pid": (REQUIRED, "p"), "vrrp_pid": (REQUIRED, "r"),
    "genhash": (NO_ARG, "T"), "checkers_pid": (REQUIRED, "c"),
    "address-monitoring": (NO_ARG, "a"), "bfd_pid": (REQUIRED, "b"),
    "snmp": (NO_ARG, "x"), "snmp-agent-socket": (REQUIRED, "A"),
    "core-dump": (NO_ARG, "m"), "core-dump-pattern": (OPTIONAL, "M"),
    "no-mem-check": (NO_ARG, "no-mem-check"), "mem-check-log": (NO_ARG, "L"),
    "namespace": (REQUIRED, "s"), "config-id": (REQUIRED, "i"),
    "signum": (REQUIRED, "signum"), "config-test": (OPTIONAL, "t"),
    "config-fd": (REQUIRED, "config-fd"), "perf": (OPTIONAL, "perf"),
    "debug": (OPTIONAL, "debug"), "ignore-sigint": (NO_ARG, "ignore-sigint"),
    "version": (NO_ARG, "v"), "help": (NO_ARG, "h"),
}

# Options that only switch something on: the key -> the Options field set True.
SWITCH_FIELDS = {
    "n": "dont_fork", "l": "log_console", "G": "no_syslog", "flush-log-file": "flush_log_file",
    "d": "dump_conf", "V": "dont_release_vrrp", "X": "release_vips", "a": "address_monitoring",
    "m": "core_dump", "e": "all_config", "ignore-sigint": "ignore_sigint",
}
# Options whose value is kept as given: the key -> the Options field.
VALUE_FIELDS = {
    "f": "config_file", "p": "pid_file", "r": "vrrp_pid_file", "c": "checkers_pid_file",
    "b": "bfd_pid_file", "s": "namespace", "i": "config_id",
}

# Accepted for compatibility, no effect in fastvrrp: the key -> why.
IGNORED = {
    "c": "there is no checker process",
    "b": "there is no BFD process",
    "C": "there is no health checker",
    "B": "there is no BFD subsystem",
    "P": "fastvrrp only runs VRRP",
    "all": "fastvrrp only runs VRRP",
    "I": "there is no IPVS",
    "R": "there are no child processes to respawn",
    "x": "there is no SNMP support",
    "A": "there is no SNMP support",
    "L": "there is no memory checker",
    "no-mem-check": "there is no memory checker",
    "perf": "there is no perf support",
    "debug": "there are no debug options",
    "config-fd": "internal to keepalived",
}


def ignore_reason(shown: str) -> str:
    """Why an accepted option (as `-c` or `--checkers_pid`) has no effect."""
    key = LONG[shown[2:]][1] if shown.startswith("--") else shown[1:]
    return IGNORED.get(key, "")


@dataclass(frozen=True)
class Options:
    """The parsed command line (keepalived's meaning for every field)."""
    config_file: str = DEFAULT_CONFIG_FILE          # -f
    dont_fork: bool = False                         # -n
    log_console: bool = False                       # -l
    log_detail: int = 0                             # -D (1), -D -D (2)
    log_facility: int = LOG_DAEMON                  # -S (unshifted facility code)
    no_syslog: bool = False                         # -G
    log_file: Optional[str] = None                  # -g (resolved path)
    flush_log_file: bool = False                    # --flush-log-file
    umask: Optional[int] = None                     # -u
    pid_file: Optional[str] = None                  # -p (None: keepalived's default)
    vrrp_pid_file: Optional[str] = None             # -r
    checkers_pid_file: Optional[str] = None         # -c (ignored)
    bfd_pid_file: Optional[str] = None              # -b (ignored)
    dump_conf: bool = False                         # -d
    dont_release_vrrp: bool = False                 # -V
    release_vips: bool = False                      # -X
    address_monitoring: bool = False                # -a
    core_dump: bool = False                         # -m / -M
    core_dump_pattern: Optional[str] = None         # -M (reported, not applied)
    namespace: Optional[str] = None                 # -s
    all_config: bool = False                        # -e
    config_id: Optional[str] = None                 # -i (None: host name)
    config_test: bool = False                       # -t
    config_test_log: Optional[str] = None           # -tFILE
    vrrp: bool = True                               # cleared by -C, set by --all
    ignore_sigint: bool = False                     # --ignore-sigint
    ignored: tuple = ()                             # accepted-and-ignored options given
    stray: tuple = ()                               # words that are not options
    warnings: tuple = ()                            # non-fatal messages (stderr)

    def messages(self) -> tuple[str, str]:
        """(stdout text, stderr text) keepalived prints for this command line."""
        out = ""
        if self.stray:
            out = "Unexpected argument(s): %s \n" % " ".join(self.stray)
        err = "".join(w + "\n" for w in self.warnings)
        return out, err

    def check_argv(self) -> list[str]:
        """The `fastvrrp check` arguments that mean this `-t` run."""
        argv = ["-f", self.config_file]
        if self.config_id is not None:
            argv += ["-i", self.config_id]
        if self.all_config:
            argv.append("-e")
        if self.namespace is not None:
            argv += ["-s", self.namespace]
        return argv


class OptionsExit(Exception):
    """The command line ends the run here: print `stdout`/`stderr`, exit `code`."""

    def __init__(self, code: int, stdout: str = "", stderr: str = ""):
        super().__init__(code, stdout, stderr)
        self.code = code
        self.stdout = stdout
        self.stderr = stderr

    def emit(self, out=None, err=None) -> int:
        out = out or sys.stdout
        err = err or sys.stderr
        if self.stderr:
            err.write(self.stderr)
            err.flush()
        if self.stdout:
            out.write(self.stdout)
            out.flush()
        return self.code


# ------------------------------------------------------------ getopt_long

def _lookup_long(name: str):
    """glibc: an exact name wins; else a unique prefix (or prefixes that all
    mean the same option); else None (unknown or ambiguous)."""
    if name in LONG:
        return name
    hits = [n for n in LONG if n.startswith(name)]
    if hits and all(LONG[h] == LONG[hits[0]] for h in hits):
        return hits[0]
    return None


def _tokens(argv: Sequence[str]):
    """Yield ("opt", key, value, shown) / ("unknown", shown) /
    ("missing", shown) / ("stray", word), in getopt_long's order."""
    i, n = 0, len(argv)
    while i < n:
        arg = argv[i]
        i += 1
        if arg == "--":
            for word in argv[i:]:
                yield ("stray", word)
            return
        if not arg.startswith("-") or arg == "-":
            yield ("stray", arg)
            continue
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            full = _lookup_long(name) if name else None
            if full is None:
                yield ("unknown", arg)
                continue
            kind, key = LONG[full]
            shown = "--" + full
            if kind == NO_ARG:
                if eq:
                    yield ("unknown", arg)        # "option doesn't allow an argument"
                else:
                    yield ("opt", key, None, shown)
            elif kind == OPTIONAL:
                yield ("opt", key, value or None, shown)
            elif eq:
                if value:
                    yield ("opt", key, value, shown)
                else:
                    yield ("missing", shown)       # keepalived: `--opt=` is missing
            elif i < n:
                yield ("opt", key, argv[i], shown)
                i += 1
            else:
                yield ("missing", shown)
            continue
        j = 1
        while j < len(arg):
            ch = arg[j]
            j += 1
            kind = SHORT.get(ch)
            shown = "-" + ch
            if kind is None:
                yield ("unknown", shown)
            elif kind == NO_ARG:
                yield ("opt", ch, None, shown)
            elif kind == OPTIONAL:
                yield ("opt", ch, arg[j:] or None, shown)
                break
            elif j < len(arg):
                yield ("opt", ch, arg[j:], shown)
                break
            elif i < n:
                yield ("opt", ch, argv[i], shown)
                i += 1
                break
            else:
                yield ("missing", shown)


# ------------------------------------------------------------ values

_DIGITS = {8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}


def c_strtol(text: str) -> int:
    """strtol(text, &end, 0) that must use the whole text: 0x.. hex, 0..
    octal, else decimal (leading blanks and a sign allowed, as in C).
    ValueError when anything is left over."""
    s = text.lstrip(" \t\n\v\f\r")
    sign = 1
    if s[:1] in ("+", "-"):
        sign, s = (-1 if s[0] == "-" else 1), s[1:]
    if s[:2] in ("0x", "0X") and len(s) > 2:
        base, digits = 16, s[2:]
    elif s.startswith("0") and len(s) > 1:
        base, digits = 8, s[1:]
    else:
        base, digits = 10, s
    if not digits or any(c not in _DIGITS[base] for c in digits):
        raise ValueError("not a number: %r" % text)
    return sign * int(digits, base)


def parse_umask(text: str) -> int:
    """keepalived set_umask: numeric (strtol base 0), only permission bits."""
    value = c_strtol(text)
    if value < 0 or value & ~0o777:
        raise ValueError("not a umask: %r" % text)
    return value


def parse_facility(text: str) -> int:
    """keepalived -S: 0-7 or local0-7 (both mean LOG_LOCALn), daemon, user."""
    number = text[5:] if text.startswith("local") else text
    if number.isdigit() and number.isascii() and int(number) <= 7:
        return LOG_LOCAL0 + int(number)
    for code, name in ((LOG_DAEMON, "daemon"), (LOG_USER, "user")):
        if text == name:
            return code
    raise ValueError("bad facility %r" % text)


def tmp_dir(environ=None) -> str:
    """keepalived set_tmp_dir: $TMPDIR when it is an absolute path, else /tmp."""
    value = (os.environ if environ is None else environ).get("TMPDIR", "")
    return value if value.startswith("/") else "/tmp"


# ------------------------------------------------------------ the parse

def parse(argv: Sequence[str], prog: str = "fastvrrp", environ=None) -> Options:
    """keepalived's command line -> Options.  Raises OptionsExit for -v, -h,
    --signum, -T and for any bad option (exit 1, every problem reported)."""
    fields: dict = {}
    ignored: list = []
    stray: list = []
    warnings: list = []
    bad = False

    def stop(code, stdout="", stderr=""):
        return OptionsExit(code, stdout, "".join(w + "\n" for w in warnings) + stderr)

    for token in _tokens(argv):
        what = token[0]
        if what == "stray":
            stray.append(token[1])
            continue
        if what == "unknown":
            warnings.append("Unknown option %s" % token[1])
            bad = True
            continue
        if what == "missing":
            warnings.append("Missing parameter for option %s" % token[1])
            bad = True
            continue
        _, key, value, shown = token
        if key == "v":
            raise stop(0, stderr=version_text())
        if key == "h":
            raise stop(0, stderr=usage_text(prog))
        if key == "signum":
            number = SIGNAL_FUNCTIONS.get(value)
            if number is None:
                raise stop(1, stderr="Unknown sigfunc %s\n" % value)
            raise stop(0, stdout="%d\n" % number)
        if key == "T":
            raise stop(1, stderr="%s: %s (genhash) is not supported: fastvrrp has no health "
                       "checker; use keepalived's genhash\n" % (prog, shown))
        if key in IGNORED:
            if shown not in ignored:
                ignored.append(shown)
        if key in SWITCH_FIELDS:
            fields[SWITCH_FIELDS[key]] = True
        elif key in VALUE_FIELDS:
            fields[VALUE_FIELDS[key]] = value
        elif key == "D":
            fields["log_detail"] = min(fields.get("log_detail", 0) + 1, 2)
        elif key == "S":
            try:
                fields["log_facility"] = parse_facility(value)
            except ValueError:
                warnings.append("Invalid log facility '%s'" % value)
        elif key == "g":
            fields["log_file"] = value or os.path.join(tmp_dir(environ), "keepalived.log")
        elif key == "u":
            try:
                fields["umask"] = parse_umask(value)
            except ValueError:
                warnings.append("Invalid --umask option %s" % value)
        elif key == "M":
            fields["core_dump"] = True
            fields["core_dump_pattern"] = value or "core"
        elif key == "t":
            fields["config_test"] = True
            fields["dont_fork"] = True
            fields["no_syslog"] = True
            if value:
                fields["config_test_log"] = value
        elif key == "C":
            fields["vrrp"] = False
        elif key == "all":
            fields["vrrp"] = True
        # the other IGNORED keys need nothing more
    if bad:
        out = "Unexpected argument(s): %s \n" % " ".join(stray) if stray else ""
        raise stop(1, stdout=out)
    return Options(ignored=tuple(ignored), stray=tuple(stray), warnings=tuple(warnings),
                   **fields)


def with_absolute_paths(options: Options, cwd: Optional[str] = None) -> Options:
    """The same options with every file name absolute (a daemon runs in /)."""
    cwd = cwd or os.getcwd()
    changes = {}
    for name in ("config_file", "pid_file", "vrrp_pid_file", "log_file"):
        value = getattr(options, name)
        if value and not value.startswith("/"):
            changes[name] = os.path.join(cwd, value)
    return dataclasses.replace(options, **changes) if changes else options


# ------------------------------------------------------------ texts

def version_text() -> str:
    """`-v`: keepalived's layout, fastvrrp's facts (stderr)."""
    import platform
    uname = platform.uname()
    try:
        import uvloop
        loop = "uvloop %s" % uvloop.__version__
    except ImportError:  # pragma: no cover - uvloop is a dependency
        loop = "uvloop missing"
    return ("fastvrrp v%s (keepalived v%s compatible, VRRP only)\n\n"
            "Running on %s %s %s\n"
            "Python %s, %s\n\n"
            "Signals: %s\n"
            % (__version__, KEEPALIVED_VERSION, uname.system, uname.release, uname.version,
               platform.python_version(), loop,
               ", ".join("%s=%d" % kv for kv in SIGNAL_FUNCTIONS.items())))


def usage_text(prog: str) -> str:
    """`-h`: keepalived's option list; options without effect are marked."""
    return "Usage: %s [OPTION...]\n" % prog + """\
  -f, --use-file=FILE          Use the specified configuration file
                                default '%s'
  -P, --vrrp                   Only run with VRRP subsystem (always so)
  -C, --check                  Only run with Health-checker subsystem (none: idle)
  -B, --no_bfd                 Don't run BFD subsystem (ignored)
      --all                    Force all child processes to run (ignored)
  -l, --log-console            Log messages to local console
  -D, --log-detail             Detailed log messages
  -S, --log-facility=([0-7]|local[0-7]|user|daemon)
                               Set syslog facility to LOG_LOCAL[0-7], user or daemon (default)
  -g, --log-file[=FILE]        Also log to FILE (default $TMPDIR or /tmp, keepalived.log)
      --flush-log-file         Flush log file on write
  -G, --no-syslog              Don't log via syslog
  -u, --umask=MASK             umask for file creation (in numeric form)
  -X, --release-vips           Drop VIP on transition from signal.
  -V, --dont-release-vrrp      Don't remove VRRP VIPs and VROUTEs on daemon stop
  -I, --dont-release-ipvs      Don't remove IPVS topology on daemon stop (ignored)
  -R, --dont-respawn           Don't respawn child processes (ignored)
  -n, --dont-fork              Don't fork the daemon process
  -d, --dump-conf              Dump the configuration data
  -p, --pid=FILE               Use specified pidfile for parent process
  -r, --vrrp_pid=FILE          Use specified pidfile for VRRP child process
                                (fastvrrp is one process: both hold its pid)
  -T, --genhash                Not supported (use keepalived's genhash)
  -c, --checkers_pid=FILE      Use specified pidfile for checkers child process (ignored)
  -a, --address-monitoring     Report all address additions/deletions notified via netlink
  -b, --bfd_pid=FILE           Use specified pidfile for BFD child process (ignored)
  -x, --snmp                   Enable SNMP subsystem (ignored)
  -A, --snmp-agent-socket=FILE Use the specified socket for master agent (ignored)
  -s, --namespace=NAME         Run in network namespace NAME (overrides config)
  -m, --core-dump              Produce core dump if terminate abnormally
  -M, --core-dump-pattern=PATN As -m (fastvrrp leaves /proc/sys/kernel/core_pattern alone)
  -e, --all-config             Error if any configuration file missing (same as includet)
  -i, --config-id id           Skip any configuration lines beginning '@' that don't match id
                                or any lines beginning @^ that do match.
                                The config-id defaults to the node name if option not used
      --signum=SIGFUNC         Return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON
  -t, --config-test[=LOG_FILE] Check the configuration for obvious errors, output to
                                stderr by default (same as `fastvrrp check`)
      --ignore-sigint          SIGINT does not stop the daemon
  -v, --version                Display the version number
  -h, --help                   Display this help message
""" % DEFAULT_CONFIG_FILE
