"""The command executor carries out ProbeUnknownAccounts: the pool names the never-probed accounts, the quota port
probes them in its worker (never on the start path), and a pool that cannot be read costs nothing."""

from __future__ import annotations



from supervisor.core import commands as cmd

from .test_loop import LockedPool, OnePool, SilentQuota, _executor


class StrangerPool(OnePool):
    def __init__(self, strangers: list[str]) -> None:
        super().__init__(lambda now: [])
        self._strangers = strangers
        self.asked: list[tuple[int, tuple[str, ...]]] = []

    def never_probed(self, limit, exclude, now):
        self.asked.append((limit, exclude))
        return [a for a in self._strangers if a not in exclude][:limit]


def test_the_named_strangers_are_probed_and_nothing_else(tty_pair) -> None:
    master, slave = tty_pair
    quota, pool = SilentQuota(), StrangerPool(["a-s1", "a-s2", "a-s3"])
    answers = _executor(slave, pool, quota).execute(cmd.ProbeUnknownAccounts(limit=2, exclude=("acct-a",)), 100.0)
    assert pool.asked == [(2, ("acct-a",))]
    assert quota.requested == ["a-s1", "a-s2"]
    assert answers == []
    quota.close()


def test_a_locked_pool_skips_the_background_probes(tty_pair) -> None:
    master, slave = tty_pair
    quota, pool = SilentQuota(), LockedPool()
    pool.never_probed = pool._timeout
    answers = _executor(slave, pool, quota).execute(cmd.ProbeUnknownAccounts(limit=2), 100.0)
    assert quota.requested == [] and answers == []
    quota.close()
