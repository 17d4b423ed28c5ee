"""codex-fsm's configuration: a TOML file, ``CODEX_FSM_*`` overrides, validated into a frozen Config.

Where it is read from: ``$CODEX_FSM_CONFIG`` if set (it must exist), else
``platformdirs.user_config_dir("codex-fsm")/config.toml`` (optional). Precedence: environment > file >
default. Every setting is declared once in ``SETTINGS`` with its default, bounds and meaning; the
table drives the marshmallow schema (``config_schema``), the environment names and ``codex-fsm config``.

- File: ``[section] key = value``; an unknown section or key is an error with a suggestion.
  Per-account quota floors go in ``[quota.accounts."<account id or label>"]`` with any of the
  ``[quota]`` keys.
- Environment: ``CODEX_FSM_<SECTION>_<KEY>`` (``CODEX_FSM_QUOTA_ROTATE_5H=10``). Booleans accept
  1/0/true/false/yes/no (one parser); an empty or non-numeric number is an error naming the variable,
  never silently the minimum. Lists are split like a shell.

Validated once per content: values from outside (the file, the environment) go through the schema; a
supervised start-up, given a cache folder, remembers each set of values that passed (with this codex-fsm's
version) and reads the same values back without loading marshmallow. With no values from outside at all,
the defaults (which the tests check against the schema) need no schema either. Either way the values get
their types from one function, ``_typed``, so both readings give the same Config.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shlex
import sys
from dataclasses import dataclass, field, fields, make_dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from . import __version__
from .core.quota import Thresholds
from .core.settings import SessionSettings
from .errors import ConfigError
from .paths import ensure_private_dir

CONFIG_ENV = "CODEX_FSM_CONFIG"
ENV_PREFIX = "CODEX_FSM_"
CONFIG_FILE_NAME = "config.toml"
ACCOUNTS_TABLE = "accounts"
_DAY = 86400.0
# The [session] defaults are the core's own (supervisor/core/settings.py), never a second copy.
_CORE_DEFAULTS = SessionSettings()


@dataclass(frozen=True, slots=True)
class Setting:
    section: str
    key: str
    # "int", "float", "bool", "str", "url", "pool_url" (a Redis URL, shown without its password), "list",
    # "choice" (one of ``choices``)
    kind: str
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def env_var(self) -> str:
        return f"{ENV_PREFIX}{self.section.upper()}_{self.key.upper()}"

    @property
    def bounds(self) -> str:
        if self.choices:
            return "|".join(self.choices)
        if self.low is None and self.high is None:
            return ""
        return f"{_fmt(self.low)}..{_fmt(self.high)}"


def _s(section: str, key: str, kind: str, default: Any, doc: str,
       low: float | None = None, high: float | None = None) -> Setting:
    return Setting(section, key, kind, default, doc, low, high)


def _quota(key: str, doc: str, low: float, high: float) -> Setting:
    return Setting("quota", key, "float", getattr(Thresholds(), key), doc, low, high)


def _session(key: str, kind: str, doc: str, low: float | None = None, high: float | None = None) -> Setting:
    return Setting("session", key, kind, getattr(_CORE_DEFAULTS, key), doc, low, high)


_THRESHOLD_KEYS = ("rotate_5h", "rotate_weekly", "margin_5h", "margin_weekly")

SETTINGS: tuple[Setting, ...] = (
    _quota("rotate_5h", "rotate when the 5-hour window's remaining % falls to this", 0, 100),
    _quota("rotate_weekly", "rotate when the weekly window's remaining % falls to this", 0, 100),
    _quota("margin_5h", "prewarm a successor this many % before the 5-hour rotate floor", 0, 100),
    _quota("margin_weekly", "prewarm this many % before the weekly rotate floor", 0, 100),
    _session("max_restarts", "int", "relaunches (rotations, crash resumes) allowed per session", 0, 1000),
    _session("thrash_rotations", "int", "this many rotations within thrash_window_s stop rotating", 1, 100),
    _session("thrash_window_s", "float", "window of the thrash guard", 1, _DAY),
    _session("idle_before_rotate_s", "float", "keyboard quiet time required before a rotation", 0, 600),
    _session("stop_interrupt_s", "float", "wait after Codex's own quit (Ctrl-C twice)", 0.1, 120),
    _session("stop_terminate_s", "float", "wait after SIGTERM before SIGKILL", 0.1, 120),
    _session("stop_kill_s", "float", "wait after SIGKILL before giving up", 0.1, 120),
    _session("max_pool_wait_s", "float", "longest total wait for a reset when every account is spent",
       0, 7 * _DAY),
    _session("min_pool_retry_s", "float", "never retry a whole-pool wait sooner than this", 1, 3600),
    _session("countdown_every_s", "float", "how often a pool wait reports the time left", 1, 3600),
    _session("probe_failure_cooldown_s", "float", "bench a candidate whose probe failed this long",
       1, _DAY),
    _session("unknown_reset_cooldown_s", "float", "bench an exhausted account with no known reset",
       1, 7 * _DAY),
    _session("prewarm_retry_s", "float", "retry a successor search that found nothing after", 1, _DAY),
    _session("resume_ready_timeout_s", "float", "treat a resumed child as ready after this long",
       1, 600),
    _session("background_probes", "int", "after a launch, probe at most this many never-probed accounts",
             0, 100),
    _s("session", "resubmit_interrupted_prompt", "bool", _CORE_DEFAULTS.resubmit_interrupted_prompt,
       "re-submit, once, the prompt a usage-limit error interrupted"),
    _s("probe", "chatgpt_base_url", "url", "https://chatgpt.com/backend-api",
       "base of the usage endpoint ({base}/wham/usage)"),
    _s("probe", "ca_bundle", "str", "", "CA bundle file for the usage endpoint (empty: the system's)"),
    _s("probe", "connect_timeout_s", "float", 5.0, "usage probe connect timeout", 0.1, 60),
    _s("probe", "read_timeout_s", "float", 10.0, "usage probe read timeout", 0.1, 120),
    _s("probe", "cache_ttl_s", "float", 300.0,
       "reuse an account's probe answer this long (300 s = at most 12 probes per candidate per hour)", 30, _DAY),
    _s("probe", "cache_size", "int", 64, "accounts whose probe answers are cached (LRU)", 1, 10000),
    _s("probe", "workers", "int", 2, "probes running at once", 1, 16),
    _s("pool", "lock_timeout_s", "float", 10.0, "longest wait for the pool lock", 0.1, 600),
    _s("pool", "lease_ttl_s", "float", 30.0, "a lease not renewed this long is stale", 1, 3600),
    _s("pool", "heartbeat_s", "float", 10.0, "how often leases are renewed (below lease_ttl_s)", 0.1, 1200),
    _s("pool", "url", "pool_url", "",
       "a pool shared across machines: redis://[:password@]host:port/db, rediss:// (TLS) or unix:///path "
       "(empty: the pool file in CODEX_FSM_HOME)"),
    _s("pool", "key_file", "str", "", "the file with the key of the shared pool's credentials (pool new-key)"),
    _s("pool", "host", "str", "", "this machine's name in the shared pool's leases (empty: its host name)"),
    _s("codex", "bin", "str", "", "the real Codex binary (empty: found on PATH)"),
    _s("codex", "extra_args", "list", (), "arguments added to every Codex command line"),
    # The same words as supervisor/adapters/terminal_notification.METHODS (a test keeps them equal; the
    # adapter is not imported here, where every start-up pays for each import).
    Setting("notify", "method", "choice", "auto",
            "terminal notification with each notice (auto: as Codex chooses for its own)",
            choices=("auto", "osc9", "osc777", "bel", "off")),
    Setting("notify", "statusline", "choice", "auto",
            "codex-fsm's line in Codex's footer (auto: where the installed Codex can take a status-line provider)",
            choices=("auto", "off")),
    _s("logs", "keep_days", "int", 14, "delete transition logs older than this", 0, 3650),
    _s("logs", "max_files", "int", 200, "keep at most this many transition logs", 1, 100000),
)
SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(s.section for s in SETTINGS))


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value came from: ``default``, ``file`` (``where`` = path) or ``env`` (``where`` = variable)."""

    kind: str
    where: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.where}" if self.where else self.kind


DEFAULT = Origin("default")


@dataclass(frozen=True, slots=True)
class QuotaConfig(Thresholds):
    """``[quota]``: the fields and defaults of the core's Thresholds."""

    def thresholds(self) -> Thresholds:
        return Thresholds(self.rotate_5h, self.rotate_weekly, self.margin_5h, self.margin_weekly)


@dataclass(frozen=True, slots=True)
class AccountQuota:
    """``[quota.accounts."<name>"]``: floors for one account (by id or label); unset keys inherit."""

    name: str
    rotate_5h: float | None = None
    rotate_weekly: float | None = None
    margin_5h: float | None = None
    margin_weekly: float | None = None

    def over(self, base: QuotaConfig) -> Thresholds:
        values = {k: getattr(self, k) for k in _THRESHOLD_KEYS if getattr(self, k) is not None}
        return replace(base, **values).thresholds()


# The [session] section is the core's SessionSettings minus the thresholds (the [quota] section): one
# definition of the fields and their defaults, in supervisor/core/settings.py.
SessionConfig = make_dataclass(
    "SessionConfig",
    [(f.name, f.type, field(default=f.default)) for f in fields(SessionSettings)
     if f.name not in ("thresholds", "account_thresholds")],
    frozen=True, slots=True)


@dataclass(frozen=True, slots=True)
class ProbeConfig:
    chatgpt_base_url: str = "https://chatgpt.com/backend-api"
    ca_bundle: str = ""
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 10.0
    cache_ttl_s: float = 300.0
    cache_size: int = 64
    workers: int = 2

    def usage_probe_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``supervisor.adapters.usage_probe.UsageProbe``."""
        return {"base_url": self.chatgpt_base_url, "ca_bundle": self.ca_bundle or None,
                "connect_timeout_s": self.connect_timeout_s, "read_timeout_s": self.read_timeout_s,
                "cache_ttl_s": self.cache_ttl_s, "cache_size": self.cache_size, "workers": self.workers}


@dataclass(frozen=True, slots=True)
class PoolConfig:
    lock_timeout_s: float = 10.0
    lease_ttl_s: float = 30.0
    heartbeat_s: float = 10.0
    url: str = ""
    key_file: str = ""
    host: str = ""


@dataclass(frozen=True, slots=True)
class CodexConfig:
    bin: str = ""
    extra_args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    method: str = "auto"
    statusline: str = "auto"


@dataclass(frozen=True, slots=True)
class LogsConfig:
    keep_days: int = 14
    max_files: int = 200


_SECTION_TYPES: dict[str, type] = {"quota": QuotaConfig, "session": SessionConfig, "probe": ProbeConfig,
                                   "pool": PoolConfig, "codex": CodexConfig, "notify": NotifyConfig,
                                   "logs": LogsConfig}


@dataclass(frozen=True, slots=True)
class Config:
    quota: QuotaConfig = field(default_factory=QuotaConfig)
    session: SessionConfig = field(default_factory=SessionConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    pool: PoolConfig = field(default_factory=PoolConfig)
    codex: CodexConfig = field(default_factory=CodexConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    logs: LogsConfig = field(default_factory=LogsConfig)
    accounts: tuple[AccountQuota, ...] = ()
    # The file looked for, and whether it existed (a missing default file just means "all defaults").
    path: Path | None = None
    file_found: bool = False
    origins: tuple[tuple[str, Origin], ...] = ()

    def value(self, name: str) -> Any:
        """The effective value of ``section.key``."""
        section, key = name.split(".", 1)
        return getattr(getattr(self, section), key)

    def origin(self, name: str) -> Origin:
        for known, where in self.origins:
            if known == name:
                return where
        return DEFAULT

    def session_settings(self, account_ids: Mapping[str, str] | None = None) -> SessionSettings:
        """The core's settings. ``account_ids`` maps labels to account ids for per-account floors;
        a name that is not a known label is taken to be an account id."""
        labels = account_ids or {}
        overrides = tuple((labels.get(a.name, a.name), a.over(self.quota)) for a in self.accounts)
        values = {f.name: getattr(self.session, f.name) for f in fields(SessionConfig)}
        return SessionSettings(thresholds=self.quota.thresholds(), account_thresholds=overrides, **values)


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    configured = env.get(CONFIG_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    import platformdirs  # imported lazily: start-up time matters

    return Path(platformdirs.user_config_dir("codex-fsm")) / CONFIG_FILE_NAME


def load_config(env: Mapping[str, str] | None = None, path: Path | str | None = None,
                validated_cache: Path | None = None) -> Config:
    """Defaults, then the file, then the environment; raises ConfigError naming the culprit.
    ``validated_cache``: a folder that remembers the sets of values that passed the schema."""
    env = os.environ if env is None else env
    explicit = path is not None or bool(env.get(CONFIG_ENV, "").strip())
    config_path = Path(path).expanduser() if path is not None else default_config_path(env)
    found = _read_toml(config_path, must_exist=explicit)
    document = found if found is not None else {}
    file_origin = Origin("file", str(config_path))

    raw: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    origins: dict[str, Origin] = {}
    accounts = _check_document(document, config_path)
    for section, table in document.items():
        for key, value in table.items():
            if not (section == "quota" and key == ACCOUNTS_TABLE):
                raw[section][key] = value
                origins[f"{section}.{key}"] = file_origin
    for setting, value in _env_values(env):
        raw[setting.section][setting.key] = value
        origins[setting.name] = Origin("env", setting.env_var)

    marker = _validated_marker(raw, accounts, validated_cache)
    known = (not accounts and not any(raw.values())) or (marker is not None and marker.exists())
    if known:
        loaded = {section: _typed(section, {**_defaults(section), **raw[section]}) for section in SECTIONS}
        account_quotas = tuple(AccountQuota(name=str(name), **_typed("quota", table))
                               for name, table in accounts.items())
    else:
        loaded = {section: _validate(section, raw[section], origins) for section in SECTIONS}
        account_quotas = _account_quotas(accounts, config_path)
    sections = {name: _SECTION_TYPES[name](**values) for name, values in loaded.items()}
    config = Config(**sections, accounts=account_quotas,
                    path=config_path, file_found=found is not None,
                    origins=tuple(sorted(origins.items())))
    _check_relations(config)
    if not known and marker is not None:
        _remember(marker)
    return config


def _validated_marker(raw: dict[str, dict[str, Any]], accounts: dict[str, Any],
                      cache: Path | None) -> Path | None:
    """The file that records that these values passed this codex-fsm's schema; None when there is no
    cache or the values have no canonical text (a TOML date, a NaN: the schema will say what is wrong)."""
    if cache is None:
        return None
    try:
        text = json.dumps({"sections": raw, "accounts": accounts}, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None
    key = hashlib.sha256(f"codex-fsm {__version__}\0{text}".encode("utf-8")).hexdigest()
    return cache / f"config-{key[:32]}.valid"


def _remember(marker: Path) -> None:
    """Best effort: a start-up that cannot record it just validates again next time."""
    try:
        # Every folder it creates is private: the first to create $CODEX_FSM_HOME may be this cache.
        ensure_private_dir(marker.parent)
        marker.touch(mode=0o600)
    except OSError:
        pass


# -- reading --------------------------------------------------------------------------------------


def _read_toml(path: Path, must_exist: bool) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        if must_exist:
            raise ConfigError(f"config file {path} does not exist (named by ${CONFIG_ENV})") from None
        return None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder, not a file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        return {}  # an empty file sets nothing; the TOML parser is imported only for a file that says something
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ConfigError(f"config file {path} nests arrays or tables too deeply to be a config") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except ValueError as exc:
        # tomllib lets a few literal errors through as plain ValueError (an integer of thousands of digits).
        raise ConfigError(f"config file {path} holds a value TOML cannot represent: {exc}") from None


def _check_document(document: dict[str, Any], path: Path) -> dict[str, Any]:
    """Reject unknown sections and keys (with a suggestion); return the per-account table."""
    for section, table in document.items():
        if section not in SECTIONS:
            raise ConfigError(f"{path}: unknown section [{section}]{_suggest(section, SECTIONS, '[{}]')}")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {section} must be a table ([{section}]), not a value")
        known = [s.key for s in SETTINGS if s.section == section]
        if section == "quota":
            known.append(ACCOUNTS_TABLE)
        for key in table:
            if key not in known:
                raise ConfigError(f"{path}: unknown key {key!r} in [{section}]{_suggest(key, known)}")
    accounts = document.get("quota", {}).get(ACCOUNTS_TABLE, {})
    if not isinstance(accounts, dict):
        raise ConfigError(f'{path}: quota.accounts must be tables ([quota.accounts."<id or label>"])')
    return accounts


def _account_quotas(accounts: dict[str, Any], path: Path) -> tuple[AccountQuota, ...]:
    result = []
    for name, table in accounts.items():
        where = f'{path}: [quota.accounts."{name}"]'
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table")
        for key in table:
            if key not in _THRESHOLD_KEYS:
                raise ConfigError(f"{where}: unknown key {key!r}{_suggest(key, _THRESHOLD_KEYS)}")
        from marshmallow import ValidationError

        from .config_schema import section_schema

        try:
            values = section_schema("quota", table.keys())().load(table)
        except ValidationError as exc:
            key, messages = next(iter(exc.normalized_messages().items()))
            raise ConfigError(f"{where} {key}: {' '.join(map(str, messages))}") from None
        result.append(AccountQuota(name=str(name), **_typed("quota", values)))
    return tuple(result)


def _env_values(env: Mapping[str, str]) -> list[tuple[Setting, Any]]:
    by_var = {s.env_var: s for s in SETTINGS}
    section_prefixes = tuple(f"{ENV_PREFIX}{section.upper()}_" for section in SECTIONS)
    values = []
    for var in sorted(env):
        setting = by_var.get(var)
        if setting is None:
            if var.startswith(section_prefixes):
                raise ConfigError(f"unknown environment variable {var}{_suggest(var, list(by_var))}")
            continue
        values.append((setting, parse_env_value(setting, env[var])))
    return values


def parse_bool(text: str, name: str) -> bool:
    """The one boolean parser: 1/0, true/false, yes/no (any case)."""
    word = text.strip().lower()
    if word in ("1", "true", "yes"):
        return True
    if word in ("0", "false", "no"):
        return False
    raise ConfigError(f"{name}={text!r} is not a boolean; use 1/0, true/false or yes/no")


def parse_env_value(setting: Setting, text: str) -> Any:
    var = setting.env_var
    if setting.kind == "bool":
        return parse_bool(text, var)
    if setting.kind in ("int", "float"):
        stripped = text.strip()
        if not stripped:
            raise ConfigError(f"{var} is empty; expected {_a(setting.kind)} in {setting.bounds}")
        try:
            number = int(stripped) if setting.kind == "int" else float(stripped)
        except ValueError:
            raise ConfigError(f"{var}={text!r} is not {_a(setting.kind)}; expected one in {setting.bounds}") from None
        if isinstance(number, float) and not math.isfinite(number):
            raise ConfigError(f"{var}={text!r} is not a finite number")
        return number
    if setting.kind == "list":
        try:
            return shlex.split(text)
        except ValueError as exc:
            raise ConfigError(f"{var}: cannot split {text!r} into arguments: {exc}") from None
    return text.strip()


# -- validation -----------------------------------------------------------------------------------


def _defaults(section: str) -> dict[str, Any]:
    return {s.key: s.default for s in SETTINGS if s.section == section}


def _typed(section: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Valid values as the Config holds them: a float setting given as ``5`` is ``5.0``, a list a tuple.
    The one place types are given, whether or not the schema ran."""
    kinds = {s.key: s.kind for s in SETTINGS if s.section == section}
    convert = {"int": int, "float": float, "bool": bool, "list": tuple}
    return {key: convert.get(kinds[key], str)(value) for key, value in values.items()}


def _validate(section: str, values: dict[str, Any], origins: Mapping[str, Origin]) -> dict[str, Any]:
    from marshmallow import ValidationError

    from .config_schema import section_schema

    merged = _defaults(section)
    merged.update(values)
    try:
        loaded = section_schema(section)().load(merged)
    except ValidationError as exc:
        key, messages = sorted(exc.normalized_messages().items())[0]
        name = f"{section}.{key}"
        value = merged.get(key)
        setting = SETTINGS_BY_NAME.get(name)
        if setting is not None and setting.kind == "pool_url" and isinstance(value, str):
            value = redacted_url(value)
        raise ConfigError(f"{_where(name, origins)} = {value!r}: {' '.join(_flatten(messages))}") from None
    return _typed(section, loaded)


def _check_relations(config: Config) -> None:
    origins = dict(config.origins)
    if config.pool.heartbeat_s >= config.pool.lease_ttl_s:
        raise ConfigError(f"{_where('pool.heartbeat_s', origins)}: {config.pool.heartbeat_s} must be below "
                          f"pool.lease_ttl_s ({config.pool.lease_ttl_s}), or leases lapse between renewals")
    bundle = config.probe.ca_bundle
    if bundle and not Path(bundle).expanduser().is_file():
        raise ConfigError(f"{_where('probe.ca_bundle', origins)}: {bundle} is not a file")


def redacted_url(url: str) -> str:
    """``url`` with its password (and user name) replaced by ``***``, in the address and in a ``password``
    or ``username`` query parameter (redis-py takes both from either): what may be printed or logged."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None or parts.username is not None:
            host = parts.hostname or ""
            host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
            netloc = f"***@{host}" + (f":{parts.port}" if parts.port is not None else "")
        query = _redacted_query(parts.query)
        if netloc == parts.netloc and query == parts.query:
            return url
        # Joined by hand: urlunsplit drops the empty authority of unix:///path (it gives unix:/path).
        head = f"{parts.scheme}:" if parts.scheme else ""
        slashes = "//" if url[len(head):].startswith("//") else ""
        return (f"{head}{slashes}{netloc}{parts.path}" + (f"?{query}" if query else "")
                + (f"#{parts.fragment}" if parts.fragment else ""))
    except ValueError:
        return "<a URL that does not parse>" if "@" in url or "password" in url.lower() else url


def _redacted_query(query: str) -> str:
    from urllib.parse import unquote_plus

    pairs = query.split("&") if query else []
    return "&".join(f"{pair.split('=', 1)[0]}=***"
                    if unquote_plus(pair.split("=", 1)[0]).lower() in _SECRET_QUERY_NAMES else pair
                    for pair in pairs)


_SECRET_QUERY_NAMES = ("password", "username")


def _where(name: str, origins: Mapping[str, Origin]) -> str:
    origin = origins.get(name, DEFAULT)
    if origin.kind == "env":
        return origin.where
    if origin.kind == "file":
        section, key = name.split(".", 1)
        return f"{origin.where}: [{section}] {key}"
    return f"default {name}"


def _flatten(messages: Any) -> list[str]:
    if isinstance(messages, dict):
        return [m for value in messages.values() for m in _flatten(value)]
    if isinstance(messages, list):
        return [m for value in messages for m in _flatten(value)]
    return [str(messages)]


def _suggest(word: str, choices: Any, template: str = "{!r}") -> str:
    import difflib  # only to suggest a name for a mistyped one

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {template.format(close[0])}?" if close else ""


def _a(kind: str) -> str:
    return "an integer" if kind == "int" else "a number"


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)
