"""What a pool migration did (or, in a dry run, would do), in the words the command prints.

Every string here is built for a terminal: paths pass ``for_terminal``, the Redis server is named by
``redis_client.shown`` (never its password), labels are escaped when printed, and no login, token or
email is ever part of a report.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PoolError
from ..terminal_text import for_terminal


@dataclass(frozen=True, slots=True)
class MovedAccount:
    id: str
    label: str
    # It had a lease whose holder has ended or expired: the lease was not carried over.
    stale_lease_dropped: bool = False


@dataclass(frozen=True, slots=True)
class MigrationReport:
    source: str  # where the pool was, as messages name it
    target: str  # where it is now
    dry_run: bool
    accounts: tuple[MovedAccount, ...]
    # What was kept on purpose, and where (the old pool file, the old document).
    kept: tuple[str, ...] = ()
    # Logins that belong to no account of the pool: not moved, left where they are.
    left_alone: tuple[str, ...] = ()
    # Anything else the user should know (leftover copies that are adopted first, say).
    notes: tuple[str, ...] = ()

    @property
    def moved(self) -> tuple[str, ...]:
        return tuple(account.id for account in self.accounts)

    def lines(self) -> list[str]:
        verb = "Would move" if self.dry_run else "Moved"
        count = len(self.accounts)
        lines = [f"{verb} {count} account{'' if count == 1 else 's'} from {self.source} to {self.target}"
                 + (":" if count else ".")]
        for account in self.accounts:
            dropped = " (its stale lease is not carried over)" if account.stale_lease_dropped else ""
            lines.append(f"  {account.id}  {for_terminal(account.label, max_chars=80)}{dropped}")
        lines += [f"{'Would keep' if self.dry_run else 'Kept'}: {what}" for what in self.kept]
        lines += [f"Left where it is: {what}" for what in self.left_alone]
        lines += [f"Note: {note}" for note in self.notes]
        if self.dry_run:
            lines.append("Dry run: nothing was changed.")
        return lines


class MigrationIncomplete(PoolError):
    """The target holds the whole pool, but local copies could not all be retired: ``remaining`` names
    each one left behind (to be deleted or moved by hand), ``report`` what was moved."""

    def __init__(self, message: str, report: MigrationReport, remaining: tuple[str, ...]) -> None:
        super().__init__(message)
        self.report = report
        self.remaining = remaining
