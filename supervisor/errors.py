"""One error root for codex-fsm, one subclass per boundary.

Every message names what is wrong and where (file, row, variable), and never carries a token or an
email: callers pass opaque account ids, never credentials.
"""

from __future__ import annotations


class CodexFsmError(Exception):
    """Root of every error codex-fsm raises on purpose."""


class ChartError(CodexFsmError):
    """The statechart file is malformed or its graph is unsound."""


class InvalidTransition(CodexFsmError):
    """An event arrived that no row of the table accepts in the current state."""

    def __init__(self, state: str, trigger: str, detail: str = "") -> None:
        self.state = state
        self.trigger = trigger
        # The session's RejectedRecord of the event, for the transition log (set by Session.handle).
        self.record: object = None
        suffix = f" ({detail})" if detail else ""
        super().__init__(f"no row accepts {trigger!r} in state {state!r}{suffix}")


class EventDecodeError(CodexFsmError):
    """A serialised event or command could not be turned back into an object."""


class LogFormatError(CodexFsmError):
    """A transition log file is malformed."""


class LogWriteError(CodexFsmError):
    """The logs folder or a new transition log cannot be created."""


class StatusFileError(CodexFsmError):
    """The folder of the running sessions' status files cannot be read."""


class ReplayDivergence(CodexFsmError):
    """Replaying a transition log produced a different state or commands."""

    def __init__(self, seq: int, what: str, expected: object, got: object) -> None:
        self.seq = seq
        self.what = what
        self.expected = expected
        self.got = got
        super().__init__(f"seq {seq}: {what} differs: expected {expected!r}, got {got!r}")


class ConfigError(CodexFsmError):
    """A configuration file, environment variable or command-line argument is invalid."""


class PoolError(CodexFsmError):
    """The account pool file or a credential home is unusable."""


class PoolLockTimeout(PoolError):
    """The pool lock could not be taken within the configured wait."""


class PoolUnavailable(PoolError):
    """The shared pool's Redis cannot be reached now (or answered with an error): nothing was changed."""


class PoolKeyError(PoolError):
    """The key file of a shared pool is missing, unreadable, or not the key the pool's credentials use."""


class CredentialError(PoolError):
    """An account's auth.json is unusable, or its token could not be refreshed."""


class RolloutError(CodexFsmError):
    """A session rollout file could not be read."""


class ChildSpawnError(CodexFsmError):
    """The Codex child could not be started."""


class DiagramError(CodexFsmError):
    """A diagram could not be rendered (for example Graphviz's dot is missing)."""


class TerminalError(CodexFsmError):
    """The user's terminal cannot be used (for example stdin is not a tty)."""


class SessionNotFound(CodexFsmError):
    """No saved Codex session matches what the user asked to resume."""
