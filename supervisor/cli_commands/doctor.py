"""``codex-fsm doctor``: check the pool, the Codex binary, CODEX_HOME, the config and the logs folder,
and say how to fix what is wrong. A pool shared across machines gets its own checks (``doctor_shared_pool``).

Each check is a function from the shared context to findings; append new checks to ``CHECKS``.
Doctor only reads: it never rewrites the pool file or a credential.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping

from .. import paths
from ..composition import Composition
from ..errors import ChildSpawnError, CodexFsmError, ConfigError, PoolLockTimeout
from ..pool.auth import read_auth_file
from ..pool.homes import AccountHomes
from ..pool.lock import PoolLock
from ..pool.model import Pool
from ..pool.store import PoolStore, parse_pool
from ..terminal_text import for_terminal

if TYPE_CHECKING:
    from .doctor_shared_pool import SharedPool

LOCK_PROBE_TIMEOUT_S = 1.0


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str  # "ok", "warning" or "error"
    subject: str
    message: str
    fix: str = ""


@dataclass
class DoctorContext:
    store: PoolStore | None  # the pool file; None with a pool shared across machines (``shared``)
    homes: AccountHomes
    now: float
    alive: Callable = field(default=lambda lease: True)
    pool: Pool | None = None  # set by the pool-file check when the file is usable
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    # set by the binary check when it runs: (native path, the environment it ran with, its version)
    codex: tuple[Path, dict[str, str], tuple[int, int, int]] | None = None
    # The pool shared across machines, when ``[pool] url`` names one.
    shared: "SharedPool | None" = None


Check = Callable[[DoctorContext], list[Finding]]


def check_pool_file(ctx: DoctorContext) -> list[Finding]:
    if ctx.store is None:
        return []  # a shared pool: check_shared_pool reads its document once its server has answered
    try:
        ctx.pool = ctx.store.load()
    except CodexFsmError as exc:
        return [Finding("error", "pool file", str(exc), _backup_fix(ctx.store))]
    return [Finding("ok", "pool file", f"{ctx.store.path}: {len(ctx.pool.accounts)} account(s)")]


def _backup_fix(store: PoolStore) -> str:
    backup = store.backup_path
    try:
        pool = parse_pool(backup.read_bytes(), backup, backup)
    except (OSError, CodexFsmError):
        return (f"no usable backup: move {store.path} aside, then re-import each login with "
                "`codex-fsm accounts import` (account homes under "
                f"{store.path.parent / 'homes'} still hold the credentials)")
    return (f"the backup {backup} is valid ({len(pool.accounts)} account(s)): restore it with "
            f"`{_command('cp', backup, store.path)}`")


def _command(*words: object) -> str:
    """A command line the user can paste: every word quoted for the shell (paths may hold spaces)."""
    return shlex.join(str(word) for word in words)


def check_shared_pool(ctx: DoctorContext) -> list[Finding]:
    """The shared pool's server, its persistence and its document."""
    if ctx.shared is None:
        return []
    from .doctor_shared_pool import server_findings

    return server_findings(ctx, ctx.shared)


def check_shared_logins(ctx: DoctorContext) -> list[Finding]:
    """The shared pool's key and the logins it encrypts."""
    if ctx.shared is None:
        return []
    from .doctor_shared_pool import login_findings

    return login_findings(ctx, ctx.shared)


def check_pool_lock(ctx: DoctorContext) -> list[Finding]:
    if ctx.store is None:
        return []  # a shared pool's lock is a Redis key that frees itself (redis_store.LOCK_EXPIRY_S)
    if not ctx.store.lock_path.parent.exists():
        # A fresh install: the first `accounts import` creates the home (0700) and its lock file.
        return [Finding("ok", "pool lock", f"{ctx.store.lock_path} will be created with the pool")]
    try:
        with PoolLock(ctx.store.lock_path, timeout_s=LOCK_PROBE_TIMEOUT_S):
            pass
    except PoolLockTimeout as exc:
        return [Finding("warning", "pool lock", str(exc),
                        "if no codex-fsm is running, a hung process holds it: find it with "
                        f"`{_command('fuser', ctx.store.lock_path)}` and end it")]
    except CodexFsmError as exc:
        return [Finding("error", "pool lock", str(exc), "make the codex-fsm home writable by you")]
    return [Finding("ok", "pool lock", "free")]


def check_leases(ctx: DoctorContext) -> list[Finding]:
    if ctx.pool is None:
        return []
    findings = []
    for record in ctx.pool.accounts:
        lease = record.lease
        if lease is None:
            continue
        if not ctx.alive(lease):
            why = f"its owner (pid {lease.owner_pid}) is gone"
        elif lease.expires_at <= ctx.now:
            why = f"it expired {ctx.now - lease.expires_at:.0f} s ago without a heartbeat"
        else:
            findings.append(Finding("ok", f"account {record.id}", f"leased to pid {lease.owner_pid} on {lease.host}"))
            continue
        findings.append(Finding("warning", f"account {record.id}", f"stale lease: {why}",
                                "nothing to do: the next selection reclaims it and keeps the newest credentials"))
    return findings


def check_account_homes(ctx: DoctorContext) -> list[Finding]:
    if ctx.pool is None:
        return []
    findings = []
    shared = ctx.shared is not None
    for record in ctx.pool.accounts:
        # A shared pool keeps the logins in Redis: a home holds one only while this host leases the account.
        problems = [str(p) for p in ctx.homes.check(record.id, login_kept_here=not shared)]
        in_home = ctx.homes.exists(record.id)
        if in_home:
            try:
                read_auth_file(ctx.homes.auth_path(record.id))
            except CodexFsmError as exc:
                problems.append(str(exc))
        if problems:
            findings += [Finding("error", f"account {record.id}", p,
                                 "log in again with `codex login`, then `codex-fsm accounts import`")
                         for p in problems]
        else:
            where = ("" if not shared else "; it holds this host's working copy of the login" if in_home
                     else "; the login is in the shared pool")
            findings.append(Finding("ok", f"account {record.id}", f"home {ctx.homes.home(record.id)}{where}"))
    return findings


def check_orphan_homes(ctx: DoctorContext) -> list[Finding]:
    if ctx.pool is None:
        return []
    known = {r.id for r in ctx.pool.accounts}
    return [Finding("warning", f"home {name}", "holds credentials that no pool entry names",
                    "adopt it with "
                    f"`{_command('codex-fsm', 'accounts', 'import', ctx.homes.auth_path(name))}`, or delete "
                    f"{ctx.homes.home(name)}")
            for name in ctx.homes.accounts_on_disk() if name not in known]


_FILE_STORE = re.compile(r'^\s*cli_auth_credentials_store\s*=\s*"file"\s*(#.*)?$', re.MULTILINE)
_ANY_STORE = re.compile(r"^\s*cli_auth_credentials_store\s*=", re.MULTILINE)


def check_codex_config(ctx: DoctorContext) -> list[Finding]:
    """Codex must keep credentials in each home's auth.json, not in a keyring shared by all homes."""
    config = ctx.homes.real_home / "config.toml"
    try:
        text = config.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        text = ""
    except OSError as exc:
        return [Finding("error", "codex config", f"cannot read {config}: {exc.strerror or exc}")]
    fix = f'set cli_auth_credentials_store = "file" in {config} (before the first [table])'
    if _ANY_STORE.search(text) and not _FILE_STORE.search(text):
        return [Finding("error", "codex config", f"{config} stores credentials outside auth.json", fix)]
    if not _ANY_STORE.search(text):
        return [Finding("warning", "codex config",
                        f"{config} does not set cli_auth_credentials_store; Codex may use the OS keyring", fix)]
    return [Finding("ok", "codex config", f"{config}: credentials are kept in each account's auth.json")]


VERSION_TIMEOUT_S = 10.0
# `codex --version` and `codex features list` need no network; these make sure Codex cannot reach any
# host if it tried.
_DEAD_PROXIES = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
                 "ALL_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost"}


def check_codex_binary(ctx: DoctorContext) -> list[Finding]:
    """The real Codex is found (never codex-fsm itself) and is a release codex-fsm supports and was tested with."""
    from ..adapters.codex_binary import child_env
    from ..adapters.codex_release import NEWEST_TESTED, OLDEST_SUPPORTED, format_version, parse_version, support

    try:
        # With a broken config, the binary is looked for as if it were absent; the config check reports it.
        binary = Composition.load(ctx.env, despite_config_errors=True).codex_binary()
    except ChildSpawnError as exc:
        return [Finding("error", "codex binary", str(exc),
                        "`npm install -g @openai/codex`, or set $CODEX_FSM_CODEX_BIN (or [codex] bin) to its path")]
    env = {**child_env(ctx.env, binary, None), **_DEAD_PROXIES}
    try:
        answer = subprocess.run([str(binary.path), "--version"], env=env, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, errors="replace", timeout=VERSION_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return [Finding("warning", "codex binary", f"{binary.path} --version did not answer within "
                        f"{VERSION_TIMEOUT_S:.0f} s", f"check that it runs: `{_command(binary.path, '--version')}`")]
    except OSError as exc:
        return [Finding("error", "codex binary", f"cannot run {binary.path}: {exc.strerror or exc}")]
    version = parse_version(answer.stdout)
    if answer.returncode != 0 or version is None:
        return [Finding("warning", "codex binary", f"{binary.path} --version printed no version "
                        f"(exit status {answer.returncode})",
                        f"check that it runs: `{_command(binary.path, '--version')}`")]
    ctx.codex = (binary.path, env, version)
    found, oldest, newest = format_version(version), format_version(OLDEST_SUPPORTED), format_version(NEWEST_TESTED)
    side = support(version)
    if side == "older":
        return [Finding("warning", "codex binary", f"{binary.path} is Codex {found}, older than {oldest}, "
                        "the oldest release codex-fsm supports", "upgrade: `npm install -g @openai/codex@latest`")]
    if side == "newer":
        return [Finding("warning", "codex binary", f"{binary.path} is Codex {found}, newer than {newest}, "
                        "the newest release codex-fsm was tested with; its options are read from its own --help",
                        f"if something misbehaves, `npm install -g @openai/codex@{newest}` is the tested release")]
    return [Finding("ok", "codex binary", f"{binary.path}: Codex {found} (tested: {oldest} to {newest})")]


def check_codex_features(ctx: DoctorContext) -> list[Finding]:
    """What the installed Codex offers codex-fsm: a status-line provider, terminal notifications; and
    whether the option tables codex-fsm reads the command line with are its own."""
    from ..adapters.codex_features import (NOTIFICATIONS_SETTING, STATUS_LINE_FEATURE, STATUS_LINE_SINCE,
                                           parse_features, status_line_available)
    from ..adapters.codex_release import format_version

    if ctx.codex is None:
        return []  # the binary check said why
    path, env, version = ctx.codex
    with tempfile.TemporaryDirectory(prefix="codex-fsm-doctor-") as scratch:
        # An empty CODEX_HOME (the command needs one that exists): the defaults are listed, and nothing is
        # created in the user's home.
        try:
            answer = subprocess.run([str(path), "features", "list"], env={**env, "CODEX_HOME": scratch},
                                    stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace",
                                    timeout=VERSION_TIMEOUT_S, cwd=scratch)
            listed = answer.stdout if answer.returncode == 0 else ""
        except (OSError, subprocess.TimeoutExpired):
            listed = ""
    features = parse_features(listed)
    settings, config_problem = _user_codex_settings(ctx)
    findings = []
    if config_problem:
        findings.append(Finding("warning", "codex features", config_problem))
    feature = features.get(STATUS_LINE_FEATURE)
    if status_line_available(version, features):
        state = _setting_state(settings, ("features", STATUS_LINE_FEATURE), "off unless enabled")
        findings.append(Finding("ok", "codex features", f"status line provider: available ({STATUS_LINE_FEATURE}, "
                                f"{feature.stage}; {state})"))
    else:
        why = (f"{STATUS_LINE_FEATURE} is {feature.stage} in this release" if feature is not None
               else f"`codex features list` names no {STATUS_LINE_FEATURE}")
        findings.append(Finding("ok", "codex features", f"status line provider: not available ({why}; it needs "
                                f"Codex {format_version(STATUS_LINE_SINCE)} or newer)"))
    state = _setting_state(settings, tuple(NOTIFICATIONS_SETTING.split(".")), "Codex's default applies")
    findings.append(Finding("ok", "codex features", f"terminal notifications: {NOTIFICATIONS_SETTING} ({state})"))
    return findings + _option_tables_finding(ctx, format_version(version))


def _user_codex_settings(ctx: DoctorContext) -> tuple[dict, str]:
    """The user's Codex config.toml as a table (empty when absent), and what went wrong reading it."""
    import tomllib

    config = ctx.homes.real_home / "config.toml"
    try:
        return tomllib.loads(config.read_text(encoding="utf-8")), ""
    except FileNotFoundError:
        return {}, ""
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, f"cannot read {config} to see which features are on: {exc}"


def _setting_state(settings: dict, keys: tuple[str, ...], absent: str) -> str:
    value: object = settings
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return f"not set in config.toml: {absent}"
        value = value[key]
    shown = str(value).lower() if isinstance(value, bool) else repr(value)
    return f"{'.'.join(keys)} = {shown} in config.toml"


def _option_tables_finding(ctx: DoctorContext, version: str) -> list[Finding]:
    """Read-only: the cached tables of this release, or why the built-in ones are used."""
    from ..adapters.learned_options import options_file, read_cached

    cache_dir = paths.fsm_home(ctx.env) / "cache"
    cached = options_file(cache_dir, version)
    if not cached.exists():
        return [Finding("ok", "codex options", f"Codex {version}'s options are learned from its --help at the "
                        "next supervised start")]
    if read_cached(cache_dir, version) is None:
        return [Finding("warning", "codex options", f"{cached} does not parse: codex-fsm reads the command line "
                        "with its built-in option tables", f"delete {cached}; the next start learns them again")]
    return [Finding("ok", "codex options", f"learned from Codex {version}'s --help ({cached})")]


def check_codex_home(ctx: DoctorContext) -> list[Finding]:
    real = ctx.homes.real_home
    if not real.is_dir():
        what = "is not a folder" if real.exists() else "does not exist"
        return [Finding("error", "codex home", f"{real} {what}",
                        "run `codex login` once so Codex creates it, or point $CODEX_HOME at your Codex home")]
    return [Finding("ok", "codex home", f"{real}")]


def check_fsm_config(ctx: DoctorContext) -> list[Finding]:
    from ..config import default_config_path, load_config

    path = default_config_path(ctx.env)
    try:
        config = load_config(ctx.env)
    except ConfigError as exc:
        return [Finding("error", "codex-fsm config", str(exc),
                        f"correct {path} or the variable named; `codex-fsm config` lists every setting")]
    if not config.file_found:
        return [Finding("ok", "codex-fsm config", f"{path} is absent: defaults and $CODEX_FSM_* variables apply")]
    return [Finding("ok", "codex-fsm config", f"{path} loaded")]


def check_fsm_home(ctx: DoctorContext) -> list[Finding]:
    home = paths.fsm_home(ctx.env)
    if not home.exists():
        return [Finding("ok", "codex-fsm home", f"{home} will be created (0700) by the first import")]
    if not home.is_dir():
        return [Finding("error", "codex-fsm home", f"{home} is not a folder",
                        "move it aside, or point $CODEX_FSM_HOME at a folder of your own")]
    if not os.access(home, os.R_OK | os.W_OK | os.X_OK):
        return [Finding("error", "codex-fsm home", f"{home} is not readable and writable by you",
                        f"`{_command('chmod', 'u+rwx', home)}`, or point $CODEX_FSM_HOME elsewhere")]
    return _shared_folder_warning("codex-fsm home", home) or [Finding("ok", "codex-fsm home", f"{home}")]


def _shared_folder_warning(subject: str, folder) -> list[Finding]:
    """codex-fsm never changes the mode of a folder it did not create, so it says when one is too open."""
    if not paths.writable_by_others(folder):
        return []
    return [Finding("warning", subject, f"{folder} is writable by other users, who could replace the files "
                    "codex-fsm keeps there", f"`{_command('chmod', 'go-w', folder)}` if the folder is yours "
                    "alone, or point $CODEX_FSM_HOME at a private folder")]


def check_logs_dir(ctx: DoctorContext) -> list[Finding]:
    from ..adapters.log_retention import list_logs

    logs = paths.logs_dir(ctx.env)
    if not logs.exists():
        parent = next((p for p in logs.parents if os.path.lexists(p)), Path(logs.anchor))
        if not parent.is_dir():
            return [Finding("error", "logs", f"{logs} cannot be created: {parent} is not a folder",
                            f"move {parent} aside, or set $CODEX_FSM_HOME")]
        if os.access(parent, os.W_OK | os.X_OK):
            return [Finding("ok", "logs", f"{logs} will be created by the first session")]
        return [Finding("error", "logs", f"{logs} cannot be created: {parent} is not writable",
                        f"make {parent} writable by you, or set $CODEX_FSM_HOME")]
    if not logs.is_dir():
        return [Finding("error", "logs", f"{logs} is not a folder", f"move {logs} aside")]
    try:
        handle, probe = tempfile.mkstemp(dir=logs, prefix=".doctor-")
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        return [Finding("error", "logs", f"{logs} is not writable: {exc.strerror or exc}",
                        f"make {logs} writable by you")]
    return _shared_folder_warning("logs", logs) or [
        Finding("ok", "logs", f"{logs}: writable, {len(list_logs(logs))} transition log(s)")]


CHECKS: list[Check] = [check_fsm_home, check_pool_file, check_shared_pool, check_pool_lock, check_leases,
                       check_account_homes, check_shared_logins, check_orphan_homes, check_codex_config,
                       check_codex_binary, check_codex_features, check_codex_home, check_fsm_config, check_logs_dir]


def run_checks(ctx: DoctorContext, checks: list[Check] = CHECKS) -> list[Finding]:
    findings: list[Finding] = []
    for check in checks:
        try:
            findings += check(ctx)
        except Exception as exc:
            # One broken check (an unreadable home, a file it did not expect, a bug) must not hide what the
            # others find.
            why = str(exc) if isinstance(exc, CodexFsmError) else _describe_failure(exc)
            findings.append(Finding("error", check.__name__.removeprefix("check_").replace("_", " "),
                                    f"could not be checked: {why}"))
    return findings


def _describe_failure(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def _shared_pool(root: Composition) -> "SharedPool | None":
    """The pool shared across machines, opened by the checks: they report an unusable URL or key themselves."""
    if not root.shared_pool:
        return None
    from .doctor_shared_pool import SharedPool

    return SharedPool(lambda: root.shared_store, root.config.pool.key_file, lambda: root.vault)  # type: ignore[return-value]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="codex-fsm doctor",
                                     description="Check the account pool, Codex and codex-fsm's own setup.")
    parser.add_argument("--quiet", action="store_true", help="show only problems")
    args = parser.parse_args(argv)
    root = Composition.load(despite_config_errors=True)  # a broken config is one of the findings
    shared = _shared_pool(root)
    ctx = DoctorContext(store=root.pool_store if shared is None else None, homes=root.account_homes,  # type: ignore[arg-type]
                        now=time.time(), alive=root.alive, env=root.env, shared=shared)
    findings = run_checks(ctx)
    for finding in findings:
        if args.quiet and finding.severity == "ok":
            continue
        # Subjects and messages carry file names, account names and other text from outside.
        print(f"{finding.severity.upper():7} {for_terminal(finding.subject)}: {for_terminal(finding.message)}")
        if finding.fix:
            print(f"        fix: {for_terminal(finding.fix)}")
    return 1 if any(f.severity == "error" for f in findings) else 0
