"""A migration's report in printable words: counts, tense, escaped labels, nothing secret."""

from __future__ import annotations

from supervisor.pool.migrate_report import MigrationReport, MovedAccount


def _report(dry_run: bool, *accounts: MovedAccount, **extra) -> MigrationReport:
    return MigrationReport(source="the pool file /p/pool.json", target="the shared pool codex-fsm:pool at redis://h",
                           dry_run=dry_run, accounts=accounts, **extra)


def test_a_move_lists_each_account_and_what_was_kept() -> None:
    report = _report(False, MovedAccount("a-1", "work"), MovedAccount("a-2", "home", stale_lease_dropped=True),
                     kept=("the old pool file, as /p/pool.json.migrated-x",),
                     left_alone=("the login in /h/a-9 (no account of the pool has it)",), notes=("a note",))
    assert report.moved == ("a-1", "a-2")
    assert report.lines() == [
        "Moved 2 accounts from the pool file /p/pool.json to the shared pool codex-fsm:pool at redis://h:",
        "  a-1  work",
        "  a-2  home (its stale lease is not carried over)",
        "Kept: the old pool file, as /p/pool.json.migrated-x",
        "Left where it is: the login in /h/a-9 (no account of the pool has it)",
        "Note: a note",
    ]


def test_a_dry_run_says_what_would_happen_and_that_nothing_changed() -> None:
    lines = _report(True, MovedAccount("a-1", "work"), kept=("the old document",)).lines()
    assert lines[0].startswith("Would move 1 account from")
    assert "Would keep: the old document" in lines
    assert lines[-1] == "Dry run: nothing was changed."


def test_a_hostile_label_is_printed_escaped() -> None:
    (line,) = _report(False, MovedAccount("a-1", "evil\x1b]52;c;x\x07\u202e")).lines()[1:]
    assert line == "  a-1  evil\\x1b]52;c;x\\x07\\u202e"
