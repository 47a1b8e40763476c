"""keepalived's script checks (lib/notify.c 2.2.7): users, PATH, realpath, permissions.

Expected texts are keepalived 2.2.7's; the ones in the "seen" comments were
also read from a real keepalived 2.2.7 log for the same situations.
"""

import logging
import os
import pathlib
import pwd
import shutil
import stat
import tempfile

import pytest

from fastvrrp.track import security
from fastvrrp.track.security import (DefaultScriptUser, ScriptFlags, ScriptUserError, Severity,
                                     check_path_security, check_script, is_executable,
                                     is_system_command, log_messages, lookup_user, search_path,
                                     security_summary, vet_notify_script, vet_track_script)

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, other users)")
NOBODY = pwd.getpwnam("nobody")


def texts(messages):
    return [m.text for m in messages]


def make_script(path, mode=0o755, uid=0, gid=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    os.chown(path, uid, gid)
    path.chmod(mode)
    return path


@pytest.fixture
def safe_dir():
    """A 0755 directory directly under /tmp (sticky), reachable by every user."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="fastvrrp-sec-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d)


@pytest.fixture
def no_keepalived_script_user(monkeypatch):
    real = pwd.getpwnam

    def getpwnam(name):
        if name == "keepalived_script":
            raise KeyError(name)
        return real(name)
    monkeypatch.setattr(security.pwd, "getpwnam", getpwnam)


@pytest.fixture
def keepalived_script_user(monkeypatch):
    real = pwd.getpwnam

    def getpwnam(name):
        if name == "keepalived_script":
            return pwd.struct_passwd(("keepalived_script", "x", 4321, 4322, "", "/", "/bin/false"))
        return real(name)
    monkeypatch.setattr(security.pwd, "getpwnam", getpwnam)


# ---------------------------------------------------------------- users

def test_lookup_user_uses_the_primary_group_unless_one_is_given():
    assert lookup_user("nobody") == (NOBODY.pw_uid, NOBODY.pw_gid)
    assert lookup_user("nobody", "root") == (NOBODY.pw_uid, 0)


@pytest.mark.parametrize("user, group, message", [
    ("no-such-user-fv", None, "Script user 'no-such-user-fv' does not exist"),   # seen
    ("nobody", "no-such-group-fv", "Script group 'no-such-group-fv' does not exist"),
    ("", None, "Script user '' does not exist"),
])
def test_lookup_user_errors(user, group, message):
    with pytest.raises(ScriptUserError) as info:
        lookup_user(user, group)
    assert str(info.value) == message


def test_default_user_is_keepalived_script_when_it_exists(keepalived_script_user):
    default = DefaultScriptUser(script_security=True)
    assert default.get() == (4321, 4322) and default.messages == []


def test_default_user_falls_back_to_ourselves_without_script_security(no_keepalived_script_user):
    default = DefaultScriptUser(our_uid=0, our_gid=0)
    assert default.get() == (0, 0)
    assert texts(default.messages) == ["Script user 'keepalived_script' does not exist"]


def test_default_user_missing_under_script_security_drops_scripts(no_keepalived_script_user):
    default = DefaultScriptUser(script_security=True)
    assert default.get() is None
    assert texts(default.messages) == ["Script user 'keepalived_script' does not exist",
                                       "Unable to set default user keepalived_script for script"]
    vetted = vet_track_script("chk", ["/bin/true"], default=default)
    assert not vetted.usable
    assert texts(vetted.messages) == ["Unable to set default user for vrrp script chk - removing"]


def test_global_script_user(no_keepalived_script_user):
    assert DefaultScriptUser("nobody", "root").get() == (NOBODY.pw_uid, 0)
    bad = DefaultScriptUser("no-such-user-fv")
    assert bad.get() is None
    assert texts(bad.messages) == ["Script user 'no-such-user-fv' does not exist",
                                   "Error setting global script uid/gid"]
    assert bad.messages[-1].severity is Severity.ERROR


# ---------------------------------------------------------------- the executable rule

def _st(mode, uid=0, gid=0):
    return os.stat_result((stat.S_IFREG | mode, 1, 1, 1, uid, gid, 0, 0, 0, 0))


@pytest.mark.parametrize("mode, owner, group, uid, gid, expected", [
    (0o100, 5, 5, 0, 0, True),       # root: any x bit will do
    (0o001, 5, 5, 0, 0, True),
    (0o644, 0, 0, 0, 0, False),      # ... but one is needed
    (0o700, 7, 9, 7, 1, True),       # owner bit for the owner
    (0o070, 7, 9, 7, 9, False),      # the owner does not fall back to the group bit
    (0o010, 7, 9, 8, 9, True),       # group bit for the group
    (0o001, 7, 9, 8, 9, False),      # the group member does not fall back to other
    (0o001, 7, 9, 8, 1, True),       # other bit for everyone else
])
def test_is_executable(mode, owner, group, uid, gid, expected):
    assert is_executable(_st(mode, owner, group), uid, gid) is expected


@pytest.mark.parametrize("word, expected", [
    ("</dev/tcp/127.0.0.1/80", True), ("< \t/etc/hosts", True), ("<x", False),
    ("/bin/true", False), ("", False)])
def test_system_command_form(word, expected):
    assert is_system_command(word) is expected


# ---------------------------------------------------------------- PATH search

def test_path_search_finds_the_first_executable(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    make_script(first / "probe", mode=0o644)           # not executable: skipped
    make_script(second / "probe")
    err, found = search_path("probe", 0, 0, "%s:%s" % (first, second))
    assert (err, found) == (0, str(second / "probe"))


def test_path_search_reports_permission_or_absence(tmp_path):
    make_script(tmp_path / "probe", mode=0o644)
    assert search_path("probe", 0, 0, str(tmp_path)) == (13, None)
    assert search_path("absent", 0, 0, str(tmp_path)) == (2, None)
    assert search_path("", 0, 0, str(tmp_path)) == (2, None)
    assert search_path("x" * 300, 0, 0, str(tmp_path)) == (36, None)


def test_bare_name_is_resolved_with_a_warning(tmp_path):
    make_script(tmp_path / "bin" / "probe")
    check = check_script(["probe", "arg"], 0, 0, path=str(tmp_path / "bin"))
    assert check.argv == (str(tmp_path / "bin" / "probe"), "arg")
    assert texts(check.messages) == [
        "WARNING - script `probe` resolved by path search to `%s`. Please specify full path."
        % (tmp_path / "bin" / "probe")]                 # seen (for `true`)
    assert check.messages[0].severity is Severity.WARNING


@pytest.mark.parametrize("mode, message", [
    (0o644, "Permissions failure for script probe in path - disabling"),
    (None, "Cannot find script probe in path - disabling"),
])
def test_bare_name_not_usable(tmp_path, mode, message):
    if mode is not None:
        make_script(tmp_path / "probe", mode=mode)
    check = check_script(["probe"], 0, 0, path=str(tmp_path))
    assert check.flags == ScriptFlags.NOTFOUND and not check.usable
    assert texts(check.messages) == [message]


@root_only
def test_path_search_respects_the_script_users_permissions(tmp_path):
    hidden = tmp_path / "hidden"
    make_script(hidden / "probe")
    hidden.chmod(0o700)
    tmp_path.chmod(0o755)
    assert search_path("probe", NOBODY.pw_uid, NOBODY.pw_gid, str(hidden)) == (2, None)
    assert search_path("probe", 0, 0, str(hidden))[0] == 0


# ---------------------------------------------------------------- realpath

def test_symlink_is_resolved_to_the_real_file(safe_dir):
    real = make_script(safe_dir / "real" / "check.sh")
    link = safe_dir / "check"
    link.symlink_to(real)
    check = check_script([str(link), "x"], 0, 0)
    assert check.argv == (str(real), "x") and check.usable


def test_invoked_name_is_kept_when_it_names_the_same_file(safe_dir):
    real = make_script(safe_dir / "lib" / "tool.real")
    (safe_dir / "lib" / "tool").symlink_to("tool.real")
    (safe_dir / "bin").mkdir()
    (safe_dir / "bin" / "tool").symlink_to(safe_dir / "lib" / "tool")
    check = check_script([str(safe_dir / "bin" / "tool")], 0, 0)
    assert check.argv == (str(safe_dir / "lib" / "tool"),)
    assert real.exists() and check.usable


def test_use_symlink_paths_keeps_the_given_path(safe_dir):
    real = make_script(safe_dir / "real" / "check.sh")
    link = safe_dir / "check"
    link.symlink_to(real)
    check = check_script([str(safe_dir / "." / "check")], 0, 0, use_symlink_paths=True)
    assert check.argv == (str(link),) and check.usable


def test_missing_script(tmp_path):
    check = check_script([str(tmp_path / "nonexist.sh")], 0, 0)
    assert check.flags == ScriptFlags.NOTFOUND
    assert texts(check.messages) == ["Script %s cannot be accessed - No such file or directory"
                                     % (tmp_path / "nonexist.sh")]          # seen


@root_only
def test_script_user_cannot_reach_the_script(tmp_path):
    hidden = tmp_path / "hidden"
    make_script(hidden / "check.sh")
    hidden.chmod(0o700)
    check = check_script([str(hidden / "check.sh")], NOBODY.pw_uid, NOBODY.pw_gid)
    assert check.flags == ScriptFlags.NOTFOUND
    assert texts(check.messages) == ["Script %s cannot be accessed - Permission denied"
                                     % (hidden / "check.sh")]


# ---------------------------------------------------------------- executable / insecure

@root_only
def test_not_executable_for_the_script_user(safe_dir):
    script = make_script(safe_dir / "check.sh", mode=0o744)
    check = check_script([str(script)], NOBODY.pw_uid, NOBODY.pw_gid, script_security=True)
    assert not check.usable and not check.flags & ScriptFlags.EXECUTABLE
    assert check.flags & ScriptFlags.ISSCRIPT
    assert texts(check.messages) == [
        "WARNING - script '%s' is not executable for uid:gid %d:%d - disabling."
        % (script, NOBODY.pw_uid, NOBODY.pw_gid)]


def test_secure_root_script(safe_dir):
    script = make_script(safe_dir / "check.sh")
    check = check_script([str(script)], 0, 0, script_security=True)
    assert check.flags == ScriptFlags.ISSCRIPT | ScriptFlags.EXECUTABLE | ScriptFlags.EXECABLE
    assert check.usable and check.messages == ()


@pytest.mark.parametrize("script_security, suffix, usable", [(False, "", True),
                                                             (True, " - disabling", False)])
def test_world_writable_directory_is_insecure_for_root(safe_dir, script_security, suffix, usable):
    open_dir = safe_dir / "w"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    script = make_script(open_dir / "ok.sh")
    check = check_script([str(script)], 0, 0, script_security=script_security)
    assert check.flags & ScriptFlags.INSECURE
    assert bool(check.flags & ScriptFlags.INHIBIT) is script_security
    assert check.usable is usable
    assert texts(check.messages) == ["Unsafe permissions found for script '%s'%s."
                                     % (script, suffix)]                    # seen


def test_sticky_world_writable_directory_is_fine(safe_dir):
    sticky = safe_dir / "t"
    sticky.mkdir()
    sticky.chmod(0o1777)
    check = check_script([str(make_script(sticky / "ok.sh"))], 0, 0, script_security=True)
    assert check.usable and not check.flags & ScriptFlags.INSECURE


@root_only
@pytest.mark.parametrize("uid, gid, mode, insecure", [
    (NOBODY.pw_uid, 0, 0o755, True),        # not owned by root
    (0, NOBODY.pw_gid, 0o775, True),        # group-writable, non-root group
    (0, 0, 0o775, False),                   # group-writable, root group
    (0, 0, 0o757, True),                    # world-writable
])
def test_file_ownership_and_modes(safe_dir, uid, gid, mode, insecure):
    script = make_script(safe_dir / "check.sh", mode=mode, uid=uid, gid=gid)
    flags, messages = check_path_security(str(script), True)
    assert bool(flags & ScriptFlags.INSECURE) is insecure
    assert bool(flags & ScriptFlags.INHIBIT) is insecure
    assert len(messages) == int(insecure)


@root_only
def test_scripts_run_as_another_user_are_not_path_checked(safe_dir):
    open_dir = safe_dir / "w"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    script = make_script(open_dir / "ok.sh")
    check = check_script([str(script)], NOBODY.pw_uid, NOBODY.pw_gid, script_security=True)
    assert check.usable and not check.flags & ScriptFlags.INSECURE


@root_only
def test_setuid_root_file_is_checked_even_for_another_user(safe_dir):
    open_dir = safe_dir / "w"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    script = make_script(open_dir / "ok.sh", mode=0o4755)
    check = check_script([str(script)], NOBODY.pw_uid, NOBODY.pw_gid, script_security=True)
    assert not check.usable and check.flags & ScriptFlags.INSECURE


def test_directory_as_script_is_the_wrong_type(safe_dir):
    target = safe_dir / "adir"
    target.mkdir()
    target.chmod(0o755)
    check = check_script([str(target)], 0, 0, script_security=True)
    assert not check.usable and check.flags & ScriptFlags.INHIBIT
    assert texts(check.messages) == ["Wrong file type found in script path '%s'." % target]


def test_path_prefix_walk_sees_every_component():
    assert security._path_prefixes("/usr/local/bin/x") == ["/", "/usr", "/usr/local",
                                                            "/usr/local/bin", "/usr/local/bin/x"]


def test_system_form_is_not_checked():
    check = check_script(["</dev/tcp/10.0.0.1/80"], 0, 0, script_security=True)
    assert check.flags == ScriptFlags.SYSTEM and check.usable and check.is_system


# ---------------------------------------------------------------- vetting whole scripts

@pytest.fixture
def root_default(no_keepalived_script_user):
    return DefaultScriptUser("root", script_security=True)


def test_vet_track_script_insecure_and_missing(safe_dir, root_default):
    open_dir = safe_dir / "w"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    insecure = vet_track_script("c1", [str(make_script(open_dir / "ok.sh"))], default=root_default)
    missing = vet_track_script("c3", [str(safe_dir / "nonexist.sh")], default=root_default)
    assert not insecure.usable and not missing.usable
    assert texts(insecure.messages)[-1] == "Disabling track script c1 due to insecure"      # seen
    assert texts(missing.messages)[-1] == \
        "Disabling track script c3 since not found/accessible"                                # seen
    assert insecure.messages[-1].severity is Severity.ERROR


def test_vet_track_script_bad_user(safe_dir, root_default):
    script = str(make_script(safe_dir / "ok.sh"))
    vetted = vet_track_script("c5", [script, "a b"], "nosuchuser-fv", default=root_default)
    assert not vetted.usable and vetted.uid is None
    assert texts(vetted.messages) == ["Script user 'nosuchuser-fv' does not exist",
                                      "Unable to set uid/gid for script '%s' 'a b'"
                                      % script]                                  # seen


def test_vet_track_script_good(safe_dir, root_default):
    script = str(make_script(safe_dir / "ok.sh"))
    vetted = vet_track_script("c4", [script], "nobody", default=root_default)
    assert vetted.usable and (vetted.uid, vetted.gid) == (NOBODY.pw_uid, NOBODY.pw_gid)
    assert vetted.argv == (script,)
    empty = vet_track_script("c0", [], default=root_default)
    assert not empty.usable
    assert texts(empty.messages) == ["No script set for vrrp_script c0 - removing"]


def test_vet_notify_script(safe_dir, root_default):
    script = str(make_script(safe_dir / "notify.sh"))
    assert vet_notify_script("notify_master", [script], default=root_default).usable
    # a "</path" notify is dropped: keepalived keeps only executable notify scripts
    assert not vet_notify_script("notify", ["</dev/null"], default=root_default).usable
    bad = vet_notify_script("notify_backup", [script], "nosuchuser-fv", default=root_default)
    assert texts(bad.messages)[-1] == \
        "Invalid user/group for notify_backup script %s - ignoring" % script
    nodefault = vet_notify_script("notify", [script], default=DefaultScriptUser(
        "nosuchuser-fv"))
    assert texts(nodefault.messages)[-1] == \
        "Failed to set default user for notify script %s - ignoring" % script


def test_security_summary():
    assert security_summary(ScriptFlags.ISSCRIPT, False).text == \
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled."
    assert security_summary(ScriptFlags.ISSCRIPT | ScriptFlags.INSECURE, False).text == \
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled." \
        " There are insecure scripts."
    assert security_summary(ScriptFlags.ISSCRIPT | ScriptFlags.INSECURE, True) is None
    assert security_summary(ScriptFlags.SYSTEM, False) is None


def test_log_messages_levels(caplog):
    caplog.set_level(logging.DEBUG, "fastvrrp.track.security")
    default = DefaultScriptUser("no-such-user-fv")
    default.get()
    log_messages(default.messages)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "Script user 'no-such-user-fv' does not exist"),
        (logging.ERROR, "Error setting global script uid/gid")]
