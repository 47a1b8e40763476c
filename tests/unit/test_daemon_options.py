"""fastvrrp.daemon.options: keepalived 2.2.7's command line (main.c
parse_cmdline, glibc getopt_long), compared with the installed keepalived
where that is cheap and safe (every keepalived run here ends in -v, -h,
--signum or a bad option, so keepalived exits while parsing and never starts)."""

import os
import shutil
import subprocess

import pytest

from fastvrrp.daemon import options as opt
from fastvrrp.daemon.options import Options, OptionsExit, parse

KEEPALIVED = "/usr/sbin/keepalived"
need_keepalived = pytest.mark.skipif(not shutil.which(KEEPALIVED), reason="keepalived not installed")


def exit_of(argv):
    with pytest.raises(OptionsExit) as info:
        parse(argv)
    return info.value


# ---------------------------------------------------------------- every option

@pytest.mark.parametrize("argv, field, value", [
    (["-f", "/x.conf"], "config_file", "/x.conf"),
    (["-f/x.conf"], "config_file", "/x.conf"),
    (["--use-file=/x.conf"], "config_file", "/x.conf"),
    (["--use-file", "/x.conf"], "config_file", "/x.conf"),
    (["--use", "/x.conf"], "config_file", "/x.conf"),          # unique prefix
    (["-n"], "dont_fork", True), (["--dont-fork"], "dont_fork", True),
    (["-l"], "log_console", True), (["--log-console"], "log_console", True),
    (["-D"], "log_detail", 1), (["-DD"], "log_detail", 2), (["-D", "--log-detail"], "log_detail", 2),
    (["-DDD"], "log_detail", 2),
    (["-S", "daemon"], "log_facility", opt.LOG_DAEMON), (["-Suser"], "log_facility", opt.LOG_USER),
    (["-S", "3"], "log_facility", opt.LOG_LOCAL0 + 3),          # a digit means LOG_LOCALn
    (["--log-facility=local7"], "log_facility", opt.LOG_LOCAL0 + 7),
    (["-G"], "no_syslog", True), (["--no-syslog"], "no_syslog", True),
    (["-g/var/log/k.log"], "log_file", "/var/log/k.log"),
    (["--log-file=/var/log/k.log"], "log_file", "/var/log/k.log"),
    (["--flush-log-file"], "flush_log_file", True),
    (["-u", "022"], "umask", 0o022), (["--umask=0x3f"], "umask", 0o77), (["-u18"], "umask", 18),
    (["-p", "/run/a.pid"], "pid_file", "/run/a.pid"), (["--pid=/run/a.pid"], "pid_file", "/run/a.pid"),
    (["-r", "/run/v.pid"], "vrrp_pid_file", "/run/v.pid"),
    (["--vrrp_pid", "/run/v.pid"], "vrrp_pid_file", "/run/v.pid"),
    (["-c", "/run/c.pid"], "checkers_pid_file", "/run/c.pid"),
    (["--checkers_pid=/run/c.pid"], "checkers_pid_file", "/run/c.pid"),
    (["-b", "/run/b.pid"], "bfd_pid_file", "/run/b.pid"),
    (["-d"], "dump_conf", True), (["--dump-conf"], "dump_conf", True),
    (["-V"], "dont_release_vrrp", True), (["--dont-release-vrrp"], "dont_release_vrrp", True),
    (["-X"], "release_vips", True), (["--release-vips"], "release_vips", True),
    (["-a"], "address_monitoring", True), (["--address-monitoring"], "address_monitoring", True),
    (["-m"], "core_dump", True), (["--core-dump"], "core_dump", True),
    (["-M"], "core_dump_pattern", "core"), (["-Mcore.%p"], "core_dump_pattern", "core.%p"),
    (["--core-dump-pattern=x"], "core_dump_pattern", "x"),
    (["-s", "blue"], "namespace", "blue"), (["--namespace=blue"], "namespace", "blue"),
    (["-e"], "all_config", True), (["--all-config"], "all_config", True),
    (["-i", "lb1"], "config_id", "lb1"), (["--config-id", "lb1"], "config_id", "lb1"),
    (["-t"], "config_test", True), (["--config-test"], "config_test", True),
    (["-t/tmp/t.log"], "config_test_log", "/tmp/t.log"),
    (["--config-test=/tmp/t.log"], "config_test_log", "/tmp/t.log"),
    (["-C"], "vrrp", False), (["-C", "--all"], "vrrp", True),
    (["--ignore-sigint"], "ignore_sigint", True),
])
def test_each_option_sets_its_field(argv, field, value):
    assert getattr(parse(argv), field) == value


def test_defaults_are_keepalived_defaults():
    o = parse([])
    assert o == Options()
    assert o.config_file == "/etc/keepalived/keepalived.conf"
    assert (o.dont_fork, o.log_console, o.log_detail, o.no_syslog) == (False, False, 0, False)
    assert o.log_facility == opt.LOG_DAEMON
    assert o.pid_file is None and o.vrrp_pid_file is None and o.vrrp is True


def test_default_log_file_is_in_tmpdir():
    assert parse(["-g"], environ={"TMPDIR": "/var/tmp"}).log_file == "/var/tmp/keepalived.log"
    assert parse(["--log-file"], environ={"TMPDIR": "relative"}).log_file == "/tmp/keepalived.log"


def test_config_test_implies_no_fork_and_no_syslog():
    o = parse(["-t"])
    assert o.dont_fork and o.no_syslog


@pytest.mark.parametrize("argv, shown", [
    (["-c", "/x"], "-c"), (["--checkers_pid=/x"], "--checkers_pid"), (["-b", "/x"], "-b"),
    (["-P"], "-P"), (["--vrrp"], "--vrrp"), (["-C"], "-C"), (["-B"], "-B"), (["--no_bfd"], "--no_bfd"),
    (["--all"], "--all"), (["-I"], "-I"), (["-R"], "-R"), (["--dont-respawn"], "--dont-respawn"),
    (["-x"], "-x"), (["-A", "/s"], "-A"), (["--snmp-agent-socket=/s"], "--snmp-agent-socket"),
    (["-L"], "-L"), (["--no-mem-check"], "--no-mem-check"), (["--perf"], "--perf"),
    (["--perf=all"], "--perf"), (["--debug=TpMEvcp"], "--debug"), (["--config-fd", "5"], "--config-fd"),
])
def test_accepted_and_ignored_options_are_listed(argv, shown):
    assert parse(argv).ignored == (shown,)


def test_every_ignored_option_has_a_reason():
    for key in opt.IGNORED:
        names = [n for n, (_, k) in opt.LONG.items() if k == key] + (
            [key] if len(key) == 1 else [])
        for name in names:
            shown = "-" + name if len(name) == 1 else "--" + name
            assert opt.ignore_reason(shown), shown
    assert opt.ignore_reason("-n") == "" and opt.ignore_reason("--dont-fork") == ""


def test_ignored_option_listed_once():
    assert parse(["-c", "/a", "-c", "/b", "-P", "-P"]).ignored == ("-c", "-P")


def test_implemented_options_are_not_listed_as_ignored():
    assert parse(["-n", "-l", "-D", "-p", "/a", "-r", "/b", "-f", "/c"]).ignored == ()


# ---------------------------------------------------------------- getopt rules

def test_short_options_cluster():
    o = parse(["-nlDG"])
    assert (o.dont_fork, o.log_console, o.log_detail, o.no_syslog) == (True, True, 1, True)


def test_cluster_ends_with_attached_value():
    o = parse(["-nfFILE"])
    assert o.dont_fork and o.config_file == "FILE"


def test_required_value_is_the_next_word_whatever_it_is():
    o = parse(["-f", "-n"])
    assert o.config_file == "-n" and not o.dont_fork


def test_optional_value_must_be_attached():
    o = parse(["-t", "LOG"])
    assert o.config_test and o.config_test_log is None and o.stray == ("LOG",)
    o = parse(["--config-test", "LOG"])
    assert o.config_test_log is None and o.stray == ("LOG",)


def test_empty_optional_value_means_none():
    assert parse(["--config-test="]).config_test_log is None


def test_exact_long_name_beats_longer_names():
    o = parse(["--all"])            # not an ambiguous prefix of --all-config
    assert o.vrrp and o.ignored == ("--all",)


def test_stray_words_anywhere_are_kept_and_options_still_parse():
    o = parse(["a", "-n", "b", "-f", "/c", "d"])
    assert o.stray == ("a", "b", "d") and o.dont_fork and o.config_file == "/c"
    assert o.messages() == ("Unexpected argument(s): a b d \n", "")


def test_double_dash_ends_options():
    o = parse(["-n", "--", "-l", "x"])
    assert o.dont_fork and not o.log_console and o.stray == ("-l", "x")


def test_lone_dash_is_a_stray_word():
    assert parse(["-"]).stray == ("-",)


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("argv, stderr", [
    (["-Q"], "Unknown option -Q\n"),
    (["-nQl"], "Unknown option -Q\n"),
    (["--bogus"], "Unknown option --bogus\n"),
    (["--bogus=3"], "Unknown option --bogus=3\n"),
    (["--dont-fork=1"], "Unknown option --dont-fork=1\n"),       # no value allowed
    (["--d"], "Unknown option --d\n"),                            # ambiguous prefix
    (["--log-f=x"], "Unknown option --log-f=x\n"),                # log-facility / log-file
    (["--help=3"], "Unknown option --help=3\n"),
    (["-f"], "Missing parameter for option -f\n"),
    (["-nf"], "Missing parameter for option -f\n"),
    (["--use-file"], "Missing parameter for option --use-file\n"),
    (["--use"], "Missing parameter for option --use-file\n"),
    (["--pid="], "Missing parameter for option --pid\n"),
    (["--signum="], "Missing parameter for option --signum\n"),
    (["-Q", "--bogus", "-p"], "Unknown option -Q\nUnknown option --bogus\n"
                              "Missing parameter for option -p\n"),
])
def test_bad_options_exit_1_with_keepalived_messages(argv, stderr):
    e = exit_of(argv)
    assert (e.code, e.stderr, e.stdout) == (1, stderr, "")


def test_bad_option_still_prints_stray_words():
    e = exit_of(["x", "-Q", "--", "y"])
    assert e.code == 1 and e.stdout == "Unexpected argument(s): x y \n"


def test_genhash_is_refused():
    e = exit_of(["-T", "-h"])
    assert e.code == 1 and "genhash" in e.stderr


@pytest.mark.parametrize("argv, warning, field, value", [
    (["-S", "foo"], "Invalid log facility 'foo'", "log_facility", opt.LOG_DAEMON),
    (["-S", "local8"], "Invalid log facility 'local8'", "log_facility", opt.LOG_DAEMON),
    (["-S", "8"], "Invalid log facility '8'", "log_facility", opt.LOG_DAEMON),
    (["-u", "999"], "Invalid --umask option 999", "umask", None),
    (["-u", "abc"], "Invalid --umask option abc", "umask", None),
    (["-u", "-1"], "Invalid --umask option -1", "umask", None),
])
def test_bad_values_are_reported_and_ignored(argv, warning, field, value):
    o = parse(argv)
    assert o.warnings == (warning,)
    assert getattr(o, field) == value
    assert o.messages() == ("", warning + "\n")


# ---------------------------------------------------------------- immediate exits

def test_version_goes_to_stderr_and_exits_0():
    e = exit_of(["-n", "-v", "--bogus"])            # acts when met: later options unseen
    assert e.code == 0 and e.stdout == ""
    assert e.stderr.startswith("fastvrrp v") and "keepalived v2.2.7" in e.stderr


def test_version_after_a_bad_option_reports_it_first():
    e = exit_of(["-Q", "--version"])
    assert e.code == 0 and e.stderr.startswith("Unknown option -Q\nfastvrrp v")


def test_help_goes_to_stderr_and_exits_0():
    e = exit_of(["--help"])
    assert e.code == 0 and e.stdout == ""
    assert e.stderr.startswith("Usage: fastvrrp [OPTION...]\n")
    for long_name in opt.LONG:
        if long_name not in ("no-mem-check", "mem-check-log", "perf", "debug", "config-fd"):
            assert "--" + long_name in e.stderr, long_name


@pytest.mark.parametrize("name, number", [("STOP", 15), ("RELOAD", 1), ("DATA", 10), ("STATS", 12),
                                          ("STATS_CLEAR", 63), ("JSON", 36)])
def test_signum_prints_the_number(name, number):
    e = exit_of(["--signum=" + name])
    assert (e.code, e.stdout, e.stderr) == (0, "%d\n" % number, "")
    assert exit_of(["--signum", name]).stdout == "%d\n" % number


@pytest.mark.parametrize("name", ["stop", "TDUMP", "FOO"])
def test_signum_unknown_exits_1(name):
    e = exit_of(["--signum=" + name])
    assert (e.code, e.stdout, e.stderr) == (1, "", "Unknown sigfunc %s\n" % name)


def test_options_exit_emit_writes_both_streams(capsys):
    assert exit_of(["--signum=DATA"]).emit() == 0
    assert capsys.readouterr().out == "10\n"


# ---------------------------------------------------------------- values and helpers

@pytest.mark.parametrize("text, value", [("0", 0), ("18", 18), ("022", 0o22), ("0x1f", 31),
                                         ("0X1F", 31), (" 7", 7), ("+5", 5), ("-5", -5)])
def test_c_strtol(text, value):
    assert opt.c_strtol(text) == value


@pytest.mark.parametrize("text", ["", "0x", "08", "1a", "abc", "1 ", "0x1g", "--1"])
def test_c_strtol_rejects(text):
    with pytest.raises(ValueError):
        opt.c_strtol(text)


def test_tmp_dir_wants_an_absolute_tmpdir():
    assert opt.tmp_dir({"TMPDIR": "/var/tmp"}) == "/var/tmp"
    assert opt.tmp_dir({"TMPDIR": "tmp"}) == "/tmp"
    assert opt.tmp_dir({}) == "/tmp"


def test_with_absolute_paths(tmp_path):
    o = opt.with_absolute_paths(parse(["-f", "k.conf", "-p", "a.pid", "-r", "/abs/v.pid"]),
                                cwd=str(tmp_path))
    assert o.config_file == str(tmp_path / "k.conf")
    assert o.pid_file == str(tmp_path / "a.pid") and o.vrrp_pid_file == "/abs/v.pid"


def test_check_argv_carries_the_config_options():
    o = parse(["-t", "-f", "/k.conf", "-i", "lb1", "-e", "-s", "blue", "-l", "-D"])
    assert o.check_argv() == ["-f", "/k.conf", "-i", "lb1", "-e", "-s", "blue"]


# ---------------------------------------------------------------- against keepalived 2.2.7

def keepalived(argv):
    """Run keepalived where it only parses: the argv always exits in the parser."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"}
    res = subprocess.run([KEEPALIVED] + argv, capture_output=True, text=True, timeout=10, env=env)
    return res.returncode, res.stdout, res.stderr


def ours(argv):
    try:
        o = parse(argv)
    except OptionsExit as e:
        return e.code, e.stdout, e.stderr
    return None, *o.messages()


@need_keepalived
@pytest.mark.parametrize("argv", [
    ["-Q"], ["-nQ"], ["--bogus"], ["--bogus=1"], ["--dont-fork=1", "-Q"], ["--d", "-Q"],
    ["--log-f=x", "-Q"], ["-Q", "-f"], ["-Q", "-p"], ["--pid=", "-Q"], ["--use-file=", "-Q"],
    ["-S", "foo", "-Q"], ["-S", "local9", "-Q"], ["-S", "8", "-Q"], ["-S", "local3", "-Q"],
    ["--help=3", "-Q"], ["-Q", "--", "a", "b"], ["-Q", "-f", "x", "y", "z"],
    ["-Q", "-C", "-P", "-B", "-c", "x", "-b", "y", "-x", "-A", "z", "-a", "-I", "-R", "-V", "-X"],
    ["-Q", "--signum=RELOAD"], ["--signum=FOO"], ["--signum=stop"], ["--signum="],
    ["--signum=STOP"], ["--signum=DATA"], ["--signum=STATS"], ["--signum=STATS_CLEAR"],
    ["--signum=JSON"], ["--sig=JSON"], ["-f", "/nonexistent", "--signum=RELOAD"],
])
def test_same_output_as_keepalived(argv):
    k_code, k_out, k_err = keepalived(argv)
    code, out, err = ours(argv)
    assert code == k_code
    assert out == k_out
    assert err == k_err


@need_keepalived
@pytest.mark.parametrize("argv", [["-u", "abc", "-Q"], ["-u", "999", "-Q"]])
def test_umask_message_as_keepalived_but_with_a_newline(argv):
    k_code, _, k_err = keepalived(argv)
    code, _, err = ours(argv)
    assert code == k_code == 1
    # keepalived forgets the newline after "Invalid --umask option X"
    assert err == k_err.replace("Unknown option", "\nUnknown option", 1)


@need_keepalived
@pytest.mark.parametrize("argv", [["-h"], ["--help"], ["-v"], ["--version"], ["--ver"]])
def test_help_and_version_exit_0_on_stderr_as_keepalived(argv):
    k_code, k_out, k_err = keepalived(argv)
    code, out, err = ours(argv)
    assert (code, out) == (k_code, k_out) == (0, "")
    if argv[0].startswith(("-h", "--h")):
        assert err.splitlines()[0] == k_err.splitlines()[0].replace(KEEPALIVED, "fastvrrp")


@need_keepalived
@pytest.mark.parametrize("argv, theirs", [
    # 2.2.7 reads long_options[-1] here and prints garbage ("--X")
    (["-Q", "--use-file"], "Missing parameter for option --"),
    # 2.2.7 names the stray word that precedes the bad option
    (["stray", "--bogus"], "Unknown option stray"),
])
def test_deliberate_differences_from_keepalived(argv, theirs):
    k_code, _, k_err = keepalived(argv)
    code, _, err = ours(argv)
    assert code == k_code == 1
    assert theirs in k_err
    assert err != k_err
    assert "--use-file" in err or "--bogus" in err
