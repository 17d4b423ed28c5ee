"""The user's pool management: import a login, enable/disable/label/order/remove accounts, and
the rows ``accounts list`` shows. Each operation is one pool transaction."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..core.quota import MAIN_FAMILY, QuotaSnapshot, WindowKind
from ..errors import ConfigError, CredentialError, PoolError
from ..terminal_text import for_terminal, is_terminal_safe
from .auth import AuthFile, account_id_for, read_auth_file, workspace_id_for
from .homes import AccountHomes, Removal
from .leases import OwnerCheck, is_stale
from .model import AccountRecord, Lease, Pool
from .store import PoolStore
from .vault import CredentialVault, LocalVault


@dataclass(frozen=True, slots=True)
class ImportResult:
    account: str
    label: str
    outcome: str  # "added", "updated" (the imported login was newer) or "unchanged"
    moved: bool
    original_kept: bool  # a second live copy still exists outside the pool


def import_account(store: PoolStore, homes: AccountHomes, source: Path, now: float, alive: OwnerCheck,
                   label: str | None = None, move: bool = False, vault: CredentialVault | None = None) -> ImportResult:
    """Copy a ChatGPT login into the pool (deduplicated by account id + user id).

    With ``move`` the original is removed afterwards, and every reason that removal would leave a
    copy of the token behind (a symbolic link, more hard links, a directory that cannot be written)
    is found first: the import is then refused before anything changes.
    """
    vault = vault or LocalVault(homes)
    source = source.expanduser()
    if label is not None:
        check_label(label)
    auth = read_auth_file(source)
    account = account_id_for(auth.identity)
    target = source.resolve()
    own_copy = homes.auth_path(account).resolve()
    if target != own_copy and target.is_relative_to(homes.root.resolve()):
        raise ConfigError(f"{_shown(source)} belongs to another pool account's home; import it from its own home")
    # An account home left without a pool entry is adopted where it lies (and never deleted by --move).
    in_place = target == own_copy and not source.is_symlink()
    # A link to the pool's own copy: removing the link is all --move has to do.
    link_to_pool_copy = target == own_copy and source.is_symlink()
    if in_place:
        move = False
    if move:
        _refuse_unless_removable(source, target, link_to_pool_copy)
    with store.transaction() as pool:
        record = pool.get(account)
        if record is None:
            if target != own_copy or vault.shared:
                vault.save(account, auth)
            default_label = auth.identity.email_masked or account
            record = AccountRecord(id=account, label=label or default_label, added_at=now)
            pool.accounts.append(record)
            outcome = "added"
        else:
            _refuse_if_in_use(record, now, alive)
            outcome = "updated" if target != own_copy and _is_newer(auth, vault, account) else "unchanged"
            if outcome == "updated":
                vault.save(account, auth)
            if label:
                record.label = label
        record.plan = auth.identity.plan
        record.email_masked = auth.identity.email_masked
        record.workspace = workspace_id_for(auth.identity)
    homes.sync(account)
    if move:
        try:
            source.unlink()
        except OSError as exc:
            raise PoolError(f"account {account} was imported, but {_shown(source)} could not be removed: "
                            f"{exc.strerror or exc}; it still holds a live copy of the login, delete it") from exc
    return ImportResult(account=account, label=record.label, outcome=outcome, moved=move,
                        original_kept=not move and not in_place)


def _refuse_unless_removable(source: Path, target: Path, link_to_pool_copy: bool) -> None:
    """Raise ConfigError when removing ``source`` would not remove the last copy outside the pool."""
    if source.is_symlink() and not link_to_pool_copy:
        raise ConfigError(
            f"{_shown(source)} is a symbolic link to {_shown(target)} (a dotfile manager's, perhaps): --move would "
            f"remove only the link and leave the token in {_shown(target)}. Nothing was imported. Import the file "
            f"itself with `codex-fsm accounts import --move {_shown(target)}`, then remove the link")
    info = os.stat(target)
    if not link_to_pool_copy and info.st_nlink > 1:
        raise ConfigError(
            f"{_shown(source)} has {info.st_nlink} hard links: removing this name would leave the token under "
            "the others. Nothing was imported. Remove the other links first, or import without --move")
    directory = source.absolute().parent
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{_shown(source)} cannot be removed: its folder {_shown(directory)} is not writable. Nothing was "
            "imported. Import without --move, or make the folder writable")


def _shown(path: Path) -> str:
    return for_terminal(str(path))


def _is_newer(auth: AuthFile, vault: CredentialVault, account: str) -> bool:
    try:
        pooled = vault.read(account)
    except CredentialError:
        return True
    return auth.last_refresh > pooled.last_refresh


def live_lease(record: AccountRecord, now: float, alive: OwnerCheck) -> Lease | None:
    lease = record.lease
    return lease if lease is not None and not is_stale(lease, now, alive) else None


def _refuse_if_in_use(record: AccountRecord, now: float, alive: OwnerCheck, hint: str = "") -> None:
    lease = live_lease(record, now, alive)
    if lease is not None:
        raise PoolError(f"account {record.id} is in use by process {lease.owner_pid} on {for_terminal(lease.host)}; "
                        f"try again when that session has ended{hint}")


def require(pool: Pool, reference: str) -> AccountRecord:
    """The account ``reference`` names: its id, else the one account with that label."""
    record = pool.get(reference)
    if record is not None:
        return record
    labelled = [r.id for r in pool.accounts if r.label == reference]
    if len(labelled) > 1:
        raise ConfigError(f"the label '{for_terminal(reference)}' is ambiguous: accounts {', '.join(labelled)} "
                          "carry it; name the account by its id")
    if not labelled:
        raise ConfigError(f"no account {for_terminal(repr(reference))} in the pool (see `codex-fsm accounts list`)")
    return pool.get(labelled[0])


def check_label(label: str) -> None:
    if not label.strip():
        raise ConfigError("a label must not be empty")
    if not is_terminal_safe(label):
        raise ConfigError(f"the label {for_terminal(label)} holds control or format characters (shown escaped); "
                          "use plain text")


def set_enabled(store: PoolStore, reference: str, enabled: bool) -> str:
    def change(pool: Pool) -> str:
        record = require(pool, reference)
        record.enabled = enabled
        return record.id
    return store.mutate(change)


def set_label(store: PoolStore, reference: str, label: str) -> str:
    check_label(label)

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


@dataclass(frozen=True, slots=True)
class RemoveResult:
    account: str
    removal: Removal
    forced_lease: Lease | None = None  # the live-looking lease ``force`` overrode


def remove_account(store: PoolStore, homes: AccountHomes, reference: str, now: float, alive: OwnerCheck,
                   force: bool = False, vault: CredentialVault | None = None) -> RemoveResult:
    """Delete the account's credentials, then its pool entry, in one transaction: a home that cannot
    be removed leaves the entry in place (the error says why), so no credentials are orphaned.
    ``force`` removes it even while a lease looks live (say, one from another host that never expires)."""
    def change(pool: Pool) -> RemoveResult:
        record = require(pool, reference)
        forced = live_lease(record, now, alive) if force else None
        if not force:
            _refuse_if_in_use(record, now, alive, hint=" (or, if it has, `codex-fsm accounts remove --force`)")
        removal = (vault or LocalVault(homes)).remove(record.id)
        pool.accounts.remove(record)
        return RemoveResult(account=record.id, removal=removal, forced_lease=forced)
    return store.mutate(change)


def account_rows(pool: Pool, now: float, alive: OwnerCheck) -> list[dict]:
    """What ``accounts list`` shows per account: never a token or a full email."""
    return [_row(record, now, alive) for record in pool.accounts]


def lease_rows(pool: Pool, now: float, alive: OwnerCheck) -> list[dict]:
    """Every live lease of the pool (a stale one is held by no one), by host and pid: which process holds
    which account, for what, until when. Never a token or an email; the host is what the holder wrote."""
    rows = []
    for record in pool.accounts:
        lease = live_lease(record, now, alive)
        if lease is not None:
            rows.append({"host": lease.host, "pid": lease.owner_pid, "purpose": lease.purpose,
                         "account": record.label, "account_id": record.id, "expires_at": lease.expires_at,
                         "generation": lease.generation})
    return sorted(rows, key=lambda row: (row["host"], row["pid"], row["account"]))


def _remaining(snapshot: QuotaSnapshot, now: float) -> dict:
    """Remaining percent per window kind (None: the plan has no such window or it is not known), the
    kinds the plan has, and the source's flags."""
    figures: dict = {kind.value: snapshot.remaining(kind, now) for kind in (WindowKind.FIVE_HOUR, WindowKind.WEEKLY)}
    figures["windows"] = sorted({w.kind.value for w in snapshot.windows if w.kind is not WindowKind.OTHER})
    figures.update(limit_reached=snapshot.limit_reached, allowed=snapshot.allowed, reached_type=snapshot.reached_type)
    return figures


def _quota_row(snapshot: QuotaSnapshot, now: float) -> dict:
    """The main family's figures at the top (as before families), every other family by id under ``families``."""
    quota = {"observed_at": snapshot.observed_at, "limit_id": MAIN_FAMILY, **_remaining(snapshot, now),
             "workspace_limit": snapshot.workspace_limit, "families": []}
    for family in snapshot.families:
        view = snapshot.view(family.limit_id)
        quota["families"].append({"limit_id": family.limit_id, "limit_name": family.limit_name,
                                  **_remaining(view, now)})
    return quota


def _row(record: AccountRecord, now: float, alive: OwnerCheck) -> dict:
    cooldown = record.cooldown if record.cooldown is not None and record.cooldown.until > now else None
    lease = record.lease if record.lease is not None and not is_stale(record.lease, now, alive) else None
    quota = None if record.quota is None else _quota_row(record.quota, now)
    state = ("disabled" if not record.enabled else f"in use by pid {lease.owner_pid} on {lease.host}" if lease
             else "cooling down" if cooldown else "available")
    return {
        "id": record.id, "label": record.label, "plan": record.plan, "email": record.email_masked,
        "enabled": record.enabled, "state": state, "order": record.order, "last_used": record.last_used,
        "workspace": record.workspace,
        "cooldown": None if cooldown is None else {"until": cooldown.until, "reason": cooldown.reason,
                                                   "family": cooldown.family},
        "quota_remaining_percent": quota,
    }
