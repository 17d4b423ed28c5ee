"""The marshmallow schema of the configuration, built from ``config.SETTINGS``.

Imported only where values from outside are validated: a start-up whose values are already known to be
valid never loads marshmallow (see ``config``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from marshmallow import Schema, validate
from marshmallow import fields as mfields

from .config import SETTINGS, Setting


class _StrictFloat(mfields.Float):
    """A TOML float or integer; a string or a boolean is a type error, not coerced."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class _StrictString(mfields.String):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class _HttpUrl(_StrictString):
    """An http or https URL with a host. Checked with ``urlsplit``: marshmallow's URL validator compiles one
    large regular expression on first use, tens of milliseconds at every supervised start."""

    default_error_messages = {"url": "Not a valid http(s) URL."}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
        except ValueError:
            raise self.make_error("url") from None
        if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in text):
            raise self.make_error("url")
        return text


class _PoolUrl(_StrictString):
    """Empty (the pool file), or a Redis URL redis-py opens: redis:// or rediss:// with a host, unix:// with
    a path. The password may be in the URL; the error never repeats the value (its caller redacts it)."""

    default_error_messages = {"url": "Not a Redis URL (redis://host:port/db, rediss://host:port/db or "
                                     "unix:///path/to/socket)."}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text == "":
            return text
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
        except ValueError:
            raise self.make_error("url") from None
        if any(c.isspace() for c in text):
            raise self.make_error("url")
        if parts.scheme in ("redis", "rediss") and parts.hostname:
            return text
        # redis-py opens only the path of a unix:// URL: unix://run/redis.sock would be the socket
        # /redis.sock, so a host there is a mistake (the path needs three slashes).
        if parts.scheme == "unix" and parts.path and not parts.hostname:
            return text
        raise self.make_error("url")


def check_pool_url(text: str, where: str) -> str:
    """``text`` when it is a Redis URL ``[pool] url`` would accept; else a ConfigError naming ``where``
    (a command-line option, say) without repeating the URL, which may hold a password."""
    from marshmallow import ValidationError

    from .errors import ConfigError

    try:
        value = _PoolUrl().deserialize(text)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {' '.join(str(m) for m in exc.messages)}") from None
    if not value:
        raise ConfigError(f"{where}: empty; give a Redis URL (redis://host:port/db) or `file`")
    return value


def _field(setting: Setting) -> mfields.Field:
    bounded = validate.Range(min=setting.low, max=setting.high)
    if setting.kind == "int":
        return mfields.Integer(strict=True, validate=bounded)
    if setting.kind == "float":
        return _StrictFloat(allow_nan=False, validate=bounded)
    if setting.kind == "bool":
        return mfields.Boolean(truthy={True}, falsy={False})
    if setting.kind == "url":
        return _HttpUrl()
    if setting.kind == "pool_url":
        return _PoolUrl()
    if setting.kind == "list":
        return mfields.List(_StrictString())
    if setting.kind == "choice":
        return _StrictString(validate=validate.OneOf(setting.choices))
    return _StrictString()


def section_schema(section: str, keys: Any = None) -> type[Schema]:
    """The schema of ``section``'s settings (of only ``keys`` when given), built from SETTINGS."""
    wanted = set(keys) if keys is not None else None
    return Schema.from_dict({s.key: _field(s) for s in SETTINGS
                             if s.section == section and (wanted is None or s.key in wanted)},
                            name=f"{section.capitalize()}Schema")
