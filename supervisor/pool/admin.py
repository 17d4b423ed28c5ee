"""The user's pool management: import a login, enable/disable/label/order/remove accounts, and
the rows ``accounts list`` shows. Each operation is one pool transaction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.quota import WindowKind
from ..errors import ConfigError, CredentialError, PoolError
from .auth import AuthFile, account_id_for, read_auth_file
from .homes import AccountHomes
from .leases import OwnerCheck, is_stale
from .model import AccountRecord, Pool
from .store import PoolStore


@dataclass(frozen=True, slots=True)
class ImportResult:
    account: str
    label: str
    outcome: str  # "added", "updated" (the imported login was newer) or "unchanged"
    moved: bool
    original_kept: bool  # a second live copy still exists outside the pool


def import_account(store: PoolStore, homes: AccountHomes, source: Path, now: float, alive: OwnerCheck,
                   label: str | None = None, move: bool = False) -> ImportResult:
    """Copy a ChatGPT login into the pool (deduplicated by account id + user id)."""
    source = source.expanduser()
    auth = read_auth_file(source)
    account = account_id_for(auth.identity)
    # An account home left without a pool entry is adopted where it lies (and never deleted by --move).
    in_place = source.resolve() == homes.auth_path(account).resolve()
    if in_place:
        move = False
    elif source.resolve().is_relative_to(homes.root.resolve()):
        raise ConfigError(f"{source} belongs to another pool account's home; import it from its own home")
    with store.transaction() as pool:
        record = pool.get(account)
        if record is None:
            if not in_place:
                homes.write_auth(account, auth.to_bytes())
            record = AccountRecord(id=account, label=label or auth.identity.email_masked or account, added_at=now)
            pool.accounts.append(record)
            outcome = "added"
        else:
            _refuse_if_in_use(record, now, alive)
            outcome = "updated" if not in_place and _is_newer(auth, homes, account) else "unchanged"
            if outcome == "updated":
                homes.write_auth(account, auth.to_bytes())
            if label:
                record.label = label
        record.plan = auth.identity.plan
        record.email_masked = auth.identity.email_masked
    homes.sync(account)
    if move:
        try:
            source.unlink()
        except OSError as exc:
            raise PoolError(f"account {account} was imported, but {source} could not be removed: "
                            f"{exc.strerror or exc}") from exc
    return ImportResult(account=account, label=record.label, outcome=outcome, moved=move,
                        original_kept=not move and not in_place)


def _is_newer(auth: AuthFile, homes: AccountHomes, account: str) -> bool:
    try:
        pooled = read_auth_file(homes.auth_path(account))
    except CredentialError:
        return True
    return auth.last_refresh > pooled.last_refresh


def _refuse_if_in_use(record: AccountRecord, now: float, alive: OwnerCheck) -> None:
    lease = record.lease
    if lease is not None and not is_stale(lease, now, alive):
        raise PoolError(f"account {record.id} is in use by process {lease.owner_pid} on {lease.host}; "
                        "try again when that session has ended")


def require(pool: Pool, reference: str) -> AccountRecord:
    record = pool.find(reference)
    if record is None:
        raise ConfigError(f"no account {reference!r} in the pool (see `codex-fsm accounts list`)")
    return record


def set_enabled(store: PoolStore, reference: str, enabled: bool) -> str:
    def change(pool: Pool) -> str:
        record = require(pool, reference)
        record.enabled = enabled
        return record.id
    return store.mutate(change)


def set_label(store: PoolStore, reference: str, label: str) -> str:
    if not label.strip():
        raise ConfigError("a label must not be empty")

    def change(pool: Pool) -> str:
        record = require(pool, reference)
        record.label = label
        return record.id
    return store.mutate(change)


def set_order(store: PoolStore, references: list[str]) -> list[str]:
    """Use these accounts first, in this order; an empty list goes back to ranking by headroom."""
    def change(pool: Pool) -> list[str]:
        chosen = [require(pool, ref).id for ref in references]
        if len(set(chosen)) != len(chosen):
            raise ConfigError("an account is named twice in the order")
        for record in pool.accounts:
            record.order = chosen.index(record.id) if record.id in chosen else None
        return chosen
    return store.mutate(change)


def remove_account(store: PoolStore, homes: AccountHomes, reference: str, now: float, alive: OwnerCheck) -> str:
    def change(pool: Pool) -> str:
        record = require(pool, reference)
        _refuse_if_in_use(record, now, alive)
        pool.accounts.remove(record)
        return record.id
    account = store.mutate(change)
    # Only once the pool no longer names it: a failed pool write must not cost the credentials.
    homes.remove(account)
    return account


def account_rows(pool: Pool, now: float, alive: OwnerCheck) -> list[dict]:
    """What ``accounts list`` shows per account: never a token or a full email."""
    return [_row(record, now, alive) for record in pool.accounts]


def _row(record: AccountRecord, now: float, alive: OwnerCheck) -> dict:
    cooldown = record.cooldown if record.cooldown is not None and record.cooldown.until > now else None
    lease = record.lease if record.lease is not None and not is_stale(record.lease, now, alive) else None
    quota = None
    if record.quota is not None:
        quota = {"observed_at": record.quota.observed_at}
        for kind in (WindowKind.FIVE_HOUR, WindowKind.WEEKLY):
            quota[kind.value] = record.quota.remaining(kind, now)
    state = ("disabled" if not record.enabled else f"in use by pid {lease.owner_pid}" if lease
             else "cooling down" if cooldown else "available")
    return {
        "id": record.id, "label": record.label, "plan": record.plan, "email": record.email_masked,
        "enabled": record.enabled, "state": state, "order": record.order, "last_used": record.last_used,
        "cooldown": None if cooldown is None else {"until": cooldown.until, "reason": cooldown.reason},
        "quota_remaining_percent": quota,
    }
