"""keepalived's script checks: who runs a script, which file it is, whether it is safe.

Ported behaviour of keepalived 2.2.7 `lib/notify.c` (`set_uid_gid`,
`get_default_script_user`, `find_path`, `check_script_secure`,
`check_security`) and `keepalived/vrrp/vrrp.c` (`check_track_script_secure`,
`check_vrrp_script_security`); reference §2.2, §3.3, §3.16.  Every refusal
carries keepalived's own text, so `fastvrrp check` and the daemon's log say
what keepalived would say.

- **User**: a script's `user USER [GROUP]`, else the global `script_user`,
  else `keepalived_script` if that user exists, else the daemon's own
  uid/gid.  Under `enable_script_security` a missing `keepalived_script`
  (with no `script_user`) removes every script that names no user.
- **Path**: a first word without `/` is searched in PATH (a WARNING: specify
  the full path); the result goes through realpath (keeping the invoked file
  name when it names the same file) unless `use_symlink_paths`.
- **Executable** for the script's uid/gid, by keepalived's own rule
  (`is_executable`: root needs any x bit; supplementary groups are ignored
  because the script runs with only its gid).
- **Insecure**: a script run as root (uid or gid 0, or a setuid/setgid-root
  file) whose path has a component not owned by root, or a group-writable
  (non-root group) or world-writable file or non-sticky directory, is
  "Unsafe"; under `enable_script_security` it is refused ("disabling").
- **`"</path"`** commands are keepalived's system() special case: not
  checked, run through the shell.

keepalived switches its effective uid to the script user while searching
PATH and resolving the path.  fastvrrp never changes its credentials (they
are process-wide, shared with every thread): it resolves as itself and then
checks the script user's search permission on each directory by the same
mode-bit rule.  Messages are returned, not logged; `log_messages()` logs
them under `fastvrrp.track.security`.
"""

from __future__ import annotations

import enum
import errno
import grp
import logging
import os
import pwd
import stat
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

log = logging.getLogger("fastvrrp.track.security")

DEFAULT_SCRIPT_USER = "keepalived_script"
NAME_MAX = 255
PATH_MAX = 4096


class ScriptFlags(enum.IntFlag):
    """keepalived's SC_* flags (lib/notify.h)."""
    NONE = 0
    INSECURE = 0x01     # some path component is writable by non-root
    ISSCRIPT = 0x02     # a file was found (counts towards SECURITY VIOLATION)
    INHIBIT = 0x04      # must not run
    NOTFOUND = 0x08     # cannot find some element of the path
    EXECUTABLE = 0x10   # executable for the script's uid/gid
    EXECABLE = 0x20     # can be run with execve() (always, without libmagic)
    SYSTEM = 0x40       # the "</path" form, run through the shell


class Severity(enum.Enum):
    ERROR = "error"       # keepalived report_config_error (counts for -t)
    WARNING = "warning"
    INFO = "info"


_LEVELS = {Severity.ERROR: logging.ERROR, Severity.WARNING: logging.WARNING,
           Severity.INFO: logging.INFO}


@dataclass(frozen=True, slots=True)
class Message:
    severity: Severity
    text: str

    def __str__(self):
        return self.text


def _info(text: str) -> Message:
    return Message(Severity.INFO, text)


def _warning(text: str) -> Message:
    return Message(Severity.WARNING, text)


def _error(text: str) -> Message:
    return Message(Severity.ERROR, text)


def log_messages(messages: Iterable[Message], logger: logging.Logger = log) -> None:
    for msg in messages:
        logger.log(_LEVELS[msg.severity], "%s", msg.text)


# ---------------------------------------------------------------- users

class ScriptUserError(ValueError):
    """A script user or group that cannot be resolved; str() is keepalived's text."""


def lookup_user(user: str, group: Optional[str] = None) -> tuple[int, int]:
    """(uid, gid) of USER [GROUP] (keepalived `set_uid_gid`): the user's primary
    group unless GROUP is given."""
    if not isinstance(user, str) or not user:
        raise ScriptUserError("Script user '%s' does not exist" % (user,))
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise ScriptUserError("Script user '%s' does not exist" % user) from None
    except (OSError, ValueError):
        raise ScriptUserError("Unable to resolve script username '%s' - ignoring" % user) from None
    gid = pw.pw_gid
    if group is not None:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise ScriptUserError("Script group '%s' does not exist" % group) from None
        except (OSError, ValueError):
            raise ScriptUserError("Unable to resolve script group name '%s' - ignoring"
                                  % group) from None
    return pw.pw_uid, gid


class DefaultScriptUser:
    """The default uid/gid for scripts that name no user (keepalived
    `set_default_script_user` / `get_default_script_user`), worked out once
    per configuration.  `messages` holds what keepalived reports on the way.
    """

    def __init__(self, script_user: Optional[str] = None, script_group: Optional[str] = None,
                 *, script_security: bool = False, our_uid: Optional[int] = None,
                 our_gid: Optional[int] = None):
        self.script_user = script_user
        self.script_group = script_group
        self.script_security = bool(script_security)
        self.our_uid = os.geteuid() if our_uid is None else our_uid
        self.our_gid = os.getegid() if our_gid is None else our_gid
        self.messages: list[Message] = []
        self._ids: Optional[tuple[int, int]] = None
        self._failed = False
        self._resolved = False

    def get(self) -> Optional[tuple[int, int]]:
        """(uid, gid), or None when scripts without a user must be dropped."""
        if not self._resolved:
            self._resolved = True
            self._resolve()
        return None if self._failed else self._ids

    def _resolve(self) -> None:
        if self.script_user is not None:
            # global_defs `script_user USER [GROUP]`
            try:
                self._ids = lookup_user(self.script_user, self.script_group)
            except ScriptUserError as exc:
                self.messages.append(_info(str(exc)))
                self.messages.append(_error("Error setting global script uid/gid"))
                self._failed = True
            return
        try:
            self._ids = lookup_user(DEFAULT_SCRIPT_USER)
        except ScriptUserError as exc:
            self.messages.append(_info(str(exc)))
            if self.script_security:
                self.messages.append(_error("Unable to set default user %s for script"
                                            % DEFAULT_SCRIPT_USER))
                self._failed = True
                return
            self._ids = (self.our_uid, self.our_gid)


# ---------------------------------------------------------------- permissions

def is_executable(st: os.stat_result, uid: int, gid: int) -> bool:
    """keepalived `is_executable`: root needs any x bit; else owner/group/other bit."""
    mode = st.st_mode
    if uid == 0 and mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
        return True
    if uid == st.st_uid:
        return bool(mode & stat.S_IXUSR)
    if gid == st.st_gid:
        return bool(mode & stat.S_IXGRP)
    return bool(mode & stat.S_IXOTH)


def _searchable(directory: str, uid: int, gid: int) -> bool:
    """Can uid:gid (no supplementary groups) search every directory down to `directory`?"""
    if uid == 0:
        return True
    path = os.path.abspath(directory)
    parts = [p for p in path.split("/") if p]
    current = "/"
    for i in range(len(parts) + 1):
        if i:
            current = os.path.join(current, parts[i - 1])
        try:
            st = os.stat(current)
        except OSError:
            return False
        if not stat.S_ISDIR(st.st_mode):
            return False
        if uid == st.st_uid:
            ok = st.st_mode & stat.S_IXUSR
        elif gid == st.st_gid:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return False
    return True


def is_system_command(word: str) -> bool:
    """`<` then optional blanks then `/`: keepalived's file-test special case."""
    if not word.startswith("<"):
        return False
    rest = word[1:].lstrip(" \t")
    return rest.startswith("/")


def search_path(name: str, uid: int, gid: int,
                path: Optional[str] = None) -> tuple[int, Optional[str]]:
    """keepalived `find_path` (glibc execvp's search): (0, found) or (errno, None)."""
    if not name:
        return errno.ENOENT, None
    if len(name.encode()) >= PATH_MAX or len(name.encode()) > NAME_MAX:
        return errno.ENAMETOOLONG, None
    if path is None:
        path = os.environ.get("PATH")
        if path is None:
            try:
                path = os.confstr("CS_PATH") or "/bin:/usr/bin"
            except (ValueError, OSError):
                path = "/bin:/usr/bin"
    got_eacces = False
    for entry in path.split(":"):
        candidate = os.path.join(entry, name) if entry else name
        directory = os.path.dirname(candidate) or "."
        if not _searchable(directory, uid, gid):
            continue
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or not is_executable(st, uid, gid):
            got_eacces = True
            continue
        return 0, candidate
    return (errno.EACCES if got_eacces else errno.ENOENT), None


def _path_prefixes(filename: str) -> list[str]:
    """"/a/b/c" -> ["/", "/a", "/a/b", "/a/b/c"] (keepalived check_security's walk)."""
    out = []
    start = 0
    while True:
        slash = filename.find("/", start)
        if slash < 0:
            out.append(filename)
            return out
        out.append(filename[:slash] if slash else "/")
        start = slash + 1


def check_path_security(filename: str,
                        script_security: bool) -> tuple[ScriptFlags, list[Message]]:
    """keepalived `check_security`: every component root-owned and not writable by others."""
    for prefix in _path_prefixes(filename):
        last = prefix == filename
        try:
            st = os.lstat(prefix)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.ELOOP, errno.ENOENT, errno.ENOTDIR):
                return ScriptFlags.NOTFOUND, [_info(
                    "check_script_secure could not find script '%s' - disabling" % filename)]
            return ScriptFlags.NOTFOUND, [_info(
                "check_script_secure('%s') returned errno %d - %s - disabling"
                % (filename, exc.errno, exc.strerror))]
        mode = st.st_mode
        if (not last and not stat.S_ISDIR(mode)) or \
                (last and not stat.S_ISREG(mode) and not stat.S_ISLNK(mode)):
            return ScriptFlags.INHIBIT, [_info("Wrong file type found in script path '%s'."
                                               % filename)]
        writable_kind = (stat.S_ISDIR(mode) and not mode & stat.S_ISVTX) or stat.S_ISREG(mode)
        writable = (st.st_gid and mode & stat.S_IWGRP) or mode & stat.S_IWOTH
        if st.st_uid or (writable_kind and writable):
            flags = ScriptFlags.INSECURE | (ScriptFlags.INHIBIT if script_security else 0)
            return flags, [_info("Unsafe permissions found for script '%s'%s."
                                 % (filename, " - disabling" if script_security else ""))]
    return ScriptFlags.NONE, []


# ---------------------------------------------------------------- one script

@dataclass(frozen=True, slots=True)
class ScriptCheck:
    """The outcome of keepalived's check_script_secure for one command."""
    argv: tuple[str, ...]          # argv[0] resolved (PATH search, realpath)
    uid: int
    gid: int
    flags: ScriptFlags
    messages: tuple[Message, ...]

    @property
    def usable(self) -> bool:
        """What keepalived keeps for a track script (check_track_script_secure)."""
        f = self.flags
        return not f & (ScriptFlags.INHIBIT | ScriptFlags.NOTFOUND) and \
            bool(f & (ScriptFlags.EXECUTABLE | ScriptFlags.SYSTEM))

    @property
    def is_system(self) -> bool:
        return bool(self.flags & ScriptFlags.SYSTEM)


def check_script(argv: Sequence[str], uid: int, gid: int, *, script_security: bool = False,
                 use_symlink_paths: bool = False, path: Optional[str] = None) -> ScriptCheck:
    """keepalived `check_script_secure` for a command run as uid:gid."""
    argv = tuple(argv)
    msgs: list[Message] = []

    def done(flags, words=None):
        return ScriptCheck(tuple(words) if words is not None else argv, uid, gid,
                           ScriptFlags(flags), tuple(msgs))

    if not argv or not isinstance(argv[0], str):
        msgs.append(_info("Cannot find script %s in path - disabling" % (argv[0] if argv else "")))
        return done(ScriptFlags.NOTFOUND)
    name = argv[0]
    if is_system_command(name):
        return done(ScriptFlags.SYSTEM)

    if "/" not in name:
        err, found = search_path(name, uid, gid, path)
        if err:
            if err == errno.EACCES:
                msgs.append(_info("Permissions failure for script %s in path - disabling" % name))
            else:
                msgs.append(_info("Cannot find script %s in path - disabling" % name))
            return done(ScriptFlags.NOTFOUND)
        msgs.append(_warning("WARNING - script `%s` resolved by path search to `%s`. "
                             "Please specify full path." % (name, found)))
        name = found

    # Remove /./, /../, multiple /'s and resolve symbolic links (as the script user).
    try:
        real = os.path.realpath(name, strict=True)
        if not _searchable(os.path.dirname(real), uid, gid) or \
                not _searchable(os.path.dirname(os.path.abspath(name)), uid, gid):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    except OSError as exc:
        msgs.append(_info("Script %s cannot be accessed - %s" % (name, exc.strerror or exc)))
        return done(ScriptFlags.NOTFOUND, (name,) + argv[1:])

    real_file_path = None
    if use_symlink_paths:
        new_name = os.path.normpath(name)
        if real != new_name:
            real_file_path = real
    else:
        new_name = real
        if name != real and os.path.basename(name) != os.path.basename(real):
            # Keep the invoked file name (some programs behave by their name)
            # when it names the same file in the resolved directory.
            candidate = os.path.join(os.path.dirname(real), os.path.basename(name))
            try:
                st_real, st_cand = os.stat(real), os.stat(candidate)
                same = (st_real.st_dev, st_real.st_ino) == (st_cand.st_dev, st_cand.st_ino)
            except OSError:
                same = False
            if same:
                new_name, real_file_path = candidate, real
    name = new_name
    words = (name,) + argv[1:]

    try:
        st = os.stat(real_file_path or name)
    except OSError:
        msgs.append(_info("Unable to access script `%s` - disabling" % name))
        return done(ScriptFlags.NOTFOUND, words)

    flags = ScriptFlags.ISSCRIPT
    need_protection = False
    if is_executable(st, uid, gid):
        flags |= ScriptFlags.EXECUTABLE
        mode = st.st_mode
        if uid == 0 or gid == 0 or \
                (st.st_uid == 0 and mode & stat.S_IXUSR and mode & stat.S_ISUID) or \
                (st.st_gid == 0 and mode & stat.S_IXGRP and mode & stat.S_ISGID):
            need_protection = True
    else:
        msgs.append(_info("WARNING - script '%s' is not executable for uid:gid %d:%d - disabling."
                          % (name, uid, gid)))
    flags |= ScriptFlags.EXECABLE   # no libmagic in 2.2.7's Debian build

    if need_protection:
        for target in (name, real_file_path):
            if target is None:
                continue
            more, more_msgs = check_path_security(target, script_security)
            flags |= more
            msgs.extend(more_msgs)
    return done(flags, words)


# ---------------------------------------------------------------- vrrp_script / notify

@dataclass(frozen=True, slots=True)
class VettedScript:
    """A configured script after user resolution and the security checks."""
    argv: tuple[str, ...]
    uid: Optional[int]
    gid: Optional[int]
    flags: ScriptFlags
    usable: bool
    messages: tuple[Message, ...]


def _resolve_ids(user, group, default: DefaultScriptUser, msgs: list[Message],
                 bad_user_text: str, no_default_text: str) -> Optional[tuple[int, int]]:
    if user is not None:
        try:
            return lookup_user(user, group)
        except ScriptUserError as exc:
            msgs.append(_info(str(exc)))
            msgs.append(_error(bad_user_text))
            return None
    ids = default.get()
    if ids is None:
        msgs.append(_error(no_default_text))
    return ids


def _check_as_user(argv: tuple, user, group, default: DefaultScriptUser, msgs: list[Message],
                   bad_user_text: str, no_default_text: str, use_symlink_paths: bool,
                   path: Optional[str]):
    """The script's user (its own, else the default) and check_script as that
    user -> ((uid, gid), ScriptCheck), or None when no user can be set; the
    messages go to `msgs`."""
    ids = _resolve_ids(user, group, default, msgs, bad_user_text, no_default_text)
    if ids is None:
        return None
    check = check_script(argv, ids[0], ids[1], script_security=default.script_security,
                         use_symlink_paths=use_symlink_paths, path=path)
    msgs.extend(check.messages)
    return ids, check


def _dropped(argv: tuple, msgs: list[Message]) -> VettedScript:
    return VettedScript(argv, None, None, ScriptFlags.NONE, False, tuple(msgs))


def _cmd_str(argv: Sequence[str]) -> str:
    return " ".join(w if i == 0 and w[:1] in "<>" and w else "'%s'" % w
                    for i, w in enumerate(argv))


def vet_track_script(name: str, argv: Sequence[str], user: Optional[str] = None,
                     group: Optional[str] = None, *, default: DefaultScriptUser,
                     use_symlink_paths: bool = False, path: Optional[str] = None) -> VettedScript:
    """A vrrp_script as keepalived keeps or drops it (vrrp_parser.c end handler,
    vrrp.c check_track_script_secure).  A dropped script is removed from every
    instance tracking it; that does not put them in FAULT (reference §3.3)."""
    argv = tuple(argv)
    msgs: list[Message] = []
    if not argv or not argv[0]:
        msgs.append(_error("No script set for vrrp_script %s - removing" % name))
        return _dropped(argv, msgs)
    checked = _check_as_user(argv, user, group, default, msgs,
                             "Unable to set uid/gid for script %s" % _cmd_str(argv),
                             "Unable to set default user for vrrp script %s - removing" % name,
                             use_symlink_paths, path)
    if checked is None:
        return _dropped(argv, msgs)
    ids, check = checked
    if check.flags & ScriptFlags.INHIBIT:
        msgs.append(_error("Disabling track script %s due to insecure" % name))
    elif check.flags & ScriptFlags.NOTFOUND:
        msgs.append(_error("Disabling track script %s since not found/accessible" % name))
    return VettedScript(check.argv, ids[0], ids[1], check.flags, check.usable, tuple(msgs))


def vet_notify_script(kind: str, argv: Sequence[str], user: Optional[str] = None,
                      group: Optional[str] = None, *, default: DefaultScriptUser,
                      use_symlink_paths: bool = False, path: Optional[str] = None) -> VettedScript:
    """A notify* / fifo script (notify.c notify_script_init, check_notify_script_secure):
    dropped when not found, inhibited or not executable (a "</path" notify is dropped too)."""
    argv = tuple(argv)
    msgs: list[Message] = []
    if not argv or not argv[0]:
        msgs.append(_info("Unable to parse script '' - ignoring"))
        return _dropped(argv, msgs)
    checked = _check_as_user(argv, user, group, default, msgs,
                             "Invalid user/group for %s script %s - ignoring" % (kind, argv[0]),
                             "Failed to set default user for %s script %s - ignoring"
                             % (kind, argv[0]), use_symlink_paths, path)
    if checked is None:
        return _dropped(argv, msgs)
    ids, check = checked
    usable = not check.flags & (ScriptFlags.INHIBIT | ScriptFlags.NOTFOUND) and \
        bool(check.flags & ScriptFlags.EXECUTABLE)
    return VettedScript(check.argv, ids[0], ids[1], check.flags, usable, tuple(msgs))


def security_summary(flags: ScriptFlags, script_security: bool) -> Optional[Message]:
    """The one-line verdict over all scripts (vrrp.c check_vrrp_script_security);
    keepalived -t exits 6 when it is given."""
    if script_security or not flags & ScriptFlags.ISSCRIPT:
        return None
    return _error("SECURITY VIOLATION - scripts are being executed but script_security not "
                  "enabled.%s" % (" There are insecure scripts." if flags & ScriptFlags.INSECURE
                                  else ""))


__all__ = ["DEFAULT_SCRIPT_USER", "DefaultScriptUser", "Message", "ScriptCheck", "ScriptFlags",
           "ScriptUserError", "Severity", "VettedScript", "check_path_security", "check_script",
           "is_executable", "is_system_command", "log_messages", "lookup_user", "search_path",
           "security_summary", "vet_notify_script", "vet_track_script"]
