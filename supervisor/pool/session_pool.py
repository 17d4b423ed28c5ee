"""The pool as one supervised session sees it: the ``PoolPort`` the run loop drives.

Every call is one short pool transaction: read the pool fresh under the lock, decide, write, unlock.
Marks (cooldowns, quota snapshots) are written when they are made, so no later failure or retry can
lose them. Which account to lease is ``core.ranking``'s choice over a snapshot of the pool; this
class only builds the candidate views, reclaims stale leases and records the lease.
"""

from __future__ import annotations

from math import isfinite
from pathlib import Path
from typing import Callable, Sequence

from ..core.events import AccountLeased, Event, LeaseLost, PoolExhausted
from ..core.quota import QuotaSnapshot, Thresholds
from ..core.ranking import CandidateView, never_probed, rank_candidates, soonest_availability
from ..errors import CodexFsmError, PoolUnavailable
from .auth import workspace_id_for
from .homes import AccountHomes
from .leases import (CHILD_PURPOSE, DEFAULT_LEASE_TTL_S, SESSION_PURPOSE, OwnerCheck, ProcessIdentity,
                     current_process, grant, held_by, owner_alive)
from .model import MAX_TIMESTAMP, AccountRecord, Cooldown, Pool
from .store import PoolStore
from .vault import CredentialVault, LocalVault


class SessionPool:
    def __init__(self, store: PoolStore, homes: AccountHomes, thresholds_for: Callable[[str], Thresholds],
                 owner: ProcessIdentity | None = None, lease_ttl_s: float = DEFAULT_LEASE_TTL_S,
                 alive: OwnerCheck | None = None, vault: CredentialVault | None = None) -> None:
        self._store = store
        self._homes = homes
        self._vault = vault or LocalVault(homes)
        self._thresholds_for = thresholds_for
        self._owner = owner or current_process()
        self._ttl = lease_ttl_s
        self._alive = alive or (lambda lease: owner_alive(lease, self._owner.host))
        self._held: dict[str, int] = {}
        # Released by the session, but the pool could not be reached then: given back at the next heartbeat.
        self._releasing: set[str] = set()
        # Leases this session lost to another holder, by account, with their generation: what it reports of
        # those accounts later (a child still running there until it is rotated away) is older than the new
        # holder's, and is dropped until this session leases the account again.
        self._lost: dict[str, int] = {}

    @property
    def held(self) -> dict[str, int]:
        """Accounts this session holds, with the generation of each lease."""
        return dict(self._held)

    def lease_candidate(self, purpose: str, exclude: tuple[str, ...], now: float, model: str | None = None) -> Event:
        with self._store.transaction() as pool:
            self._reclaim_stale(pool, now)
            views = [self._view(record) for record in pool.accounts]
            unusable = tuple(exclude) + self._without_credentials(pool)
            ranked = rank_candidates(views, now, self._thresholds_for, unusable, model=model)
            if not ranked:
                soonest = soonest_availability(views, now, self._thresholds_for, unusable, model=model)
                return PoolExhausted(at=now, soonest_reset_at=soonest,
                                     reason=_exhausted_reason(pool, unusable, self._owner.host))
            record = pool.get(ranked[0])
            assert record is not None
            lease = grant(record, self._owner, purpose, now, self._ttl, self._store.next_generation(record))
            if purpose == SESSION_PURPOSE:
                record.last_used = now
            self._held[record.id] = lease.generation
            self._lost.pop(record.id, None)
            return AccountLeased(at=now, account=record.id)

    def never_probed(self, limit: int, exclude: tuple[str, ...], now: float) -> list[str]:
        pool = self._store.load()
        views = [self._view(record) for record in pool.accounts]
        unusable = tuple(exclude) + self._without_credentials(pool)
        return never_probed(views, now, limit, self._thresholds_for, unusable)

    def release(self, account: str, now: float) -> None:
        generation = self._held.get(account)
        if generation is None:
            return
        self._releasing.add(account)
        self._give_back({account: generation})

    def cool_down(self, account: str, until: float, reason: str, now: float,
                  family: str | None = None, workspace: bool = False) -> None:
        # An account the user removed meanwhile has nothing left to mark. A reset time beyond what
        # the pool file can hold (a server's absurd retry-after) is stored as the latest it can.
        until = until if isfinite(until) and until <= MAX_TIMESTAMP else MAX_TIMESTAMP
        if not workspace:
            self._update(account, lambda record: setattr(record, "cooldown", Cooldown(until, reason, now, family)))
            return
        with self._store.transaction() as pool:
            record = pool.get(account)
            if record is None or self._superseded(record):
                return
            name = self._workspace_of(record)
            members = [record] if name is None else [r for r in pool.accounts if self._workspace_of(r) == name]
            why = f"workspace {name or 'of ' + record.id} stopped ({reason})"
            for member in members:
                # A longer cooldown a member already has stays: the workspace stop does not shorten it.
                if member.cooldown is None or member.cooldown.until < until or member.cooldown.family is not None:
                    member.cooldown = Cooldown(until, why, now, None)

    def record_quota(self, account: str, snapshot: QuotaSnapshot, now: float) -> None:
        self._update(account, lambda record: setattr(record, "quota", snapshot.with_names_from(record.quota)))

    def _workspace_of(self, record: AccountRecord) -> str | None:
        """The account's workspace; a record from before workspaces were kept learns it from its login."""
        if record.workspace is None:
            try:
                record.workspace = workspace_id_for(self._vault.read(record.id).identity)
            except CodexFsmError:
                return None
        return record.workspace

    def codex_home(self, account: str) -> Path:
        """The account's private CODEX_HOME, its overlay brought in step with the real home.

        Called right before a child is spawned there: a lease this session holds is marked as having
        a child from now on, so no quota probe refreshes the token the child's Codex owns, and the home
        gets the login (a shared pool's working copy) while the lease is known to be current.
        """
        generation = self._held.get(account)
        if generation is not None:
            try:
                with self._store.transaction() as pool:
                    record = pool.get(account)
                    if held_by(record, self._owner, generation):
                        if record.lease.purpose != CHILD_PURPOSE:
                            record.lease.purpose = CHILD_PURPOSE
                        self._vault.checkout(account)
            except PoolUnavailable:
                # The shared pool's server is away: a child may still start on a login this host already
                # holds (a respawn on the same lease); one it does not hold needs the server, and the
                # launch fails with this error.
                self._vault.checkout(account)
        return self._homes.sync(account)

    def heartbeat(self, now: float) -> list[Event]:
        if not self._held:
            return []
        # Releases that missed the pool earlier end now; the other leases are renewed.
        releasing = set(self._releasing)
        lost = self._settle(dict(self._held), ending=releasing, renew_until=now + self._ttl)
        return [LeaseLost(at=now, account=account) for account in lost if account not in releasing]

    def close(self, now: float) -> None:
        if not self._held:
            return
        held = dict(self._held)
        try:
            self._give_back(held)
        except PoolUnavailable as exc:
            accounts = ", ".join(sorted(held))
            raise PoolUnavailable(f"{exc}. The leases of {accounts} were not given back (they expire by "
                                  "themselves); a login Codex refreshed stays in its account home and is written "
                                  "back by the next codex-fsm on this host that reaches the pool") from None

    def _give_back(self, held: dict[str, int]) -> None:
        self._settle(held, ending=set(held), renew_until=None)

    def _settle(self, held: dict[str, int], ending: set[str], renew_until: float | None) -> list[str]:
        """One write for the leases in ``held``: each one still current has its login written back (what the
        child's Codex refreshed is stored while the lease is known to be current) and is cleared when in
        ``ending``, else renewed until ``renew_until``. Then the leases that ended or were superseded are
        forgotten with their working copies (kept when another session of this machine holds the account
        now: the copy is that session's). Returns the accounts whose lease was superseded."""
        lost: list[str] = []
        in_use: set[str] = set()
        with self._store.transaction() as pool:
            for account, generation in held.items():
                record = pool.get(account)
                if not held_by(record, self._owner, generation):
                    lost.append(account)
                    if self._held_by_a_neighbour(record):
                        in_use.add(account)
                    continue
                self._vault.write_back(account)
                if account in ending:
                    record.lease = None
                else:
                    record.lease.expires_at = renew_until
        for account, generation in held.items():
            if account in lost:
                self._lost[account] = generation
            elif account not in ending:
                continue
            self._held.pop(account, None)
            self._releasing.discard(account)
            # Superseded or given back: this host never writes the login back again.
            self._vault.discard(account, keep_copy=account in in_use)
        return lost

    def _held_by_a_neighbour(self, record: AccountRecord | None) -> bool:
        """Whether another process of this machine holds ``record``'s account now: the account's home, and
        the working copy in it, are that session's (its Codex may have just rotated the token there)."""
        lease = None if record is None else record.lease
        return lease is not None and lease.host == self._owner.host and not self._owner.owns(lease)

    def _update(self, account: str, change: Callable[[AccountRecord], None]) -> None:
        with self._store.transaction() as pool:
            record = pool.get(account)
            if record is not None and not self._superseded(record):
                change(record)

    def _superseded(self, record: AccountRecord) -> bool:
        """Whether this session held ``record``'s account under a generation that another lease has since
        replaced: its marks of the account are then older than the new holder's, and are dropped."""
        generation = self._held.get(record.id, self._lost.get(record.id))
        return generation is not None and not held_by(record, self._owner, generation)

    def _without_credentials(self, pool: Pool) -> tuple[str, ...]:
        ids = [record.id for record in pool.accounts]
        having = self._vault.having_credentials(ids)
        return tuple(account for account in ids if account not in having)

    def _reclaim_stale(self, pool: Pool, now: float) -> None:
        for record in pool.accounts:
            lease = record.lease
            if lease is None or self._held.get(record.id) == lease.generation and self._owner.owns(lease):
                continue
            owner_gone = not self._alive(lease)
            if lease.expires_at <= now or owner_gone:
                record.lease = None
                if owner_gone:
                    # The dead holder's Codex may have been mid-way through writing rotated tokens.
                    self._vault.recover(record.id)

    def _view(self, record: AccountRecord) -> CandidateView:
        cooldown = record.cooldown
        return CandidateView(
            account=record.id, enabled=record.enabled, leased=record.lease is not None,
            cooldown_until=None if cooldown is None else cooldown.until,
            cooldown_set_at=None if cooldown is None else cooldown.set_at,
            cooldown_family=None if cooldown is None else cooldown.family,
            snapshot=record.quota, order=record.order)


def _exhausted_reason(pool: Pool, unusable: Sequence[str], host: str) -> str:
    if not pool.accounts:
        return "the pool has no accounts (add one with `codex-fsm accounts import`)"
    if not any(r.enabled for r in pool.accounts):
        return "every account is disabled"
    candidates = [r for r in pool.accounts if r.enabled and r.id not in unusable]
    if candidates and all(r.lease is not None for r in candidates):
        # A lease ends when its holder does, a moment nobody can name: say who holds them, not a reset.
        return (f"every account is in use by another codex-fsm session ({_holders(candidates, host)}); "
                "one account serves one session at a time")
    return "every account is leased, cooling down, or below its quota floor"


def _holders(records: Sequence[AccountRecord], host: str) -> str:
    """The sessions holding ``records``, by pid: those of another machine of a shared pool with its name,
    since a pid alone would send the user looking on their own machine."""
    by_host: dict[str, set[int]] = {}
    for record in records:
        if record.lease is not None:
            by_host.setdefault(record.lease.host, set()).add(record.lease.owner_pid)
    hosts = sorted(by_host, key=lambda name: (name != host, name))
    return " and ".join(f"pid {', '.join(str(pid) for pid in sorted(by_host[name]))}"
                        + ("" if name == host else f" on {name}") for name in hosts)
