"""Which options each level of Codex's command line takes, split by whether they consume a value, and
which words are its subcommands.

Knowing this is what keeps ``codex-fsm -m o3`` and ``codex-fsm "a prompt"`` supervised and a continued
``exec`` run correct: an option's value taken for a prompt (or a prompt for a subcommand) would silently
change the run. The installed Codex's own ``--help`` is the authority (``learned_options`` reads and
caches it per version); ``FALLBACK`` is what codex-fsm knows without it: the union of the releases it
was tested with (tests/adapters/test_codex_args.py and test_exec_args.py check it against every pinned
Codex's ``--help``).
"""

from __future__ import annotations

# Every start imports this module: records share one set of methods instead of generated dataclass code.
from ..core.frozen import FrozenRecord


class OptionTable(FrozenRecord):
    """The options one Codex (sub)command accepts, split by whether they consume a value."""

    command: str  # as the user types it, for error messages
    values: frozenset[str]
    flags: frozenset[str]
    # Value options that take several values (``<FILE>...``): clap keeps taking arguments until one starts
    # with ``-``, so ``exec -i a.png "the prompt"`` attaches the prompt as a second image.
    multi_values: frozenset[str] = frozenset()


class CodexOptions(FrozenRecord):
    """The option tables of every command level codex-fsm reads, from one Codex or the fallback."""

    root: OptionTable
    resume: OptionTable  # `codex resume` (the root's options plus its session picker's flags)
    fork: OptionTable
    exec: OptionTable
    exec_resume: OptionTable
    exec_review: OptionTable
    review: OptionTable
    subcommands: frozenset[str]  # the root's subcommands and their aliases
    exec_subcommands: frozenset[str]
    version: str | None = None  # the Codex whose --help they come from; None for the fallback

    def for_command(self, command: str | None) -> OptionTable:
        """The table of what follows ``command`` in ``codex [root opts] command ...`` (the root's otherwise)."""
        return {"resume": self.resume, "fork": self.fork}.get(command or "", self.root)


# Hidden from --help, accepted by `codex exec` and its subcommands: aliases of
# --dangerously-bypass-approvals-and-sandbox and --json, and the trap that warns about the removed --full-auto.
HIDDEN_EXEC_FLAGS = frozenset({"--yolo", "--experimental-json", "--full-auto"})

_ROOT_VALUES = frozenset({
    "-c", "--config", "--enable", "--disable", "--remote", "--remote-auth-token-env",
    "-i", "--image", "-m", "--model", "--local-provider", "-p", "--profile", "-s", "--sandbox",
    "-C", "--cd", "--add-dir", "-a", "--ask-for-approval",
})
_ROOT_FLAGS = frozenset({
    "--strict-config", "--oss", "--approve-for-me", "--dangerously-bypass-approvals-and-sandbox",
    "--dangerously-bypass-hook-trust", "--worktree", "--search", "--no-alt-screen", "--no-daemon",
    "-h", "--help", "-V", "--version",
})
# Flags only `resume` and `fork` know: their session picker's.
SESSION_PICKER_FLAGS = frozenset({"--last", "--all", "--include-non-interactive"})
_IMAGES = frozenset({"-i", "--image"})

# Options every level below `codex exec` shares with it (clap globals and repeated definitions).
# `--remote` and `--remote-auth-token-env` came to these levels with Codex 0.171.
_EXEC_SHARED_VALUES = frozenset({
    "-c", "--config", "--enable", "--disable", "-m", "--model", "--thread-source", "--cyber-access-program",
    "--output-schema", "-o", "--output-last-message", "--remote", "--remote-auth-token-env",
})
_EXEC_SHARED_FLAGS = frozenset({
    "--strict-config", "--dangerously-bypass-approvals-and-sandbox", "--dangerously-bypass-hook-trust",
    "--worktree", "--skip-git-repo-check", "--trust", "--ephemeral", "--ignore-user-config", "--ignore-rules",
    "--json", "-h", "--help",
})

FALLBACK = CodexOptions(
    root=OptionTable("codex", _ROOT_VALUES, _ROOT_FLAGS, multi_values=_IMAGES),
    resume=OptionTable("codex resume", _ROOT_VALUES, _ROOT_FLAGS | SESSION_PICKER_FLAGS, multi_values=_IMAGES),
    fork=OptionTable("codex fork", _ROOT_VALUES, _ROOT_FLAGS | {"--last", "--all"}, multi_values=_IMAGES),
    exec=OptionTable("codex exec", _EXEC_SHARED_VALUES | {
        "-i", "--image", "--local-provider", "-p", "--profile", "-s", "--sandbox", "-C", "--cd", "--add-dir",
        "--color",
    }, _EXEC_SHARED_FLAGS | {"--oss", "--approve-for-me", "-V", "--version"} | HIDDEN_EXEC_FLAGS,
        multi_values=_IMAGES),
    exec_resume=OptionTable("codex exec resume", _EXEC_SHARED_VALUES | _IMAGES,
                            _EXEC_SHARED_FLAGS | {"--last", "--all"} | HIDDEN_EXEC_FLAGS),
    exec_review=OptionTable("codex exec review", _EXEC_SHARED_VALUES | {"--base", "--commit", "--title"},
                            _EXEC_SHARED_FLAGS | {"--uncommitted"} | HIDDEN_EXEC_FLAGS),
    review=OptionTable("codex review", frozenset({"-c", "--config", "--enable", "--disable", "--base", "--commit",
                                                   "--title"}),
                       frozenset({"--strict-config", "--trust", "--uncommitted", "-h", "--help"})),
    subcommands=frozenset({
        "agents", "exec", "e", "review", "login", "logout", "mcp", "plugin", "app-server",
        "remote-control", "completion", "update", "doctor", "sandbox", "debug", "apply", "a", "resume",
        "queue", "archive", "delete", "migrate-rollouts", "migrate-nfs-db", "unarchive", "fork", "cloud",
        "exec-server", "features", "help",
    }),
    exec_subcommands=frozenset({"resume", "fork", "review", "help"}),
)
