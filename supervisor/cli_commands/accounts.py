"""``codex-fsm accounts``: import ChatGPT logins into the pool and manage them."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

from .. import paths
from ..composition import Composition
from ..pool import admin
from ..terminal_text import for_terminal

IMPORT_HELP = """\
Copy a ChatGPT login (an auth.json written by `codex login`) into the pool. The pool keeps the
account's only live copy in its own private Codex home, because ChatGPT refresh tokens are
single-use: if two copies of one login both refresh, OpenAI can revoke the login for both. With
--move the original file is removed after the copy is safely written, so only the pool's copy
remains; without it the original is kept and you are warned (do not run plain `codex` with it, and
do not `codex logout` there: that revokes the login on the server)."""


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codex-fsm accounts", description="Manage the account pool.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("import", help="add a ChatGPT login to the pool", description=IMPORT_HELP)
    p.add_argument("path", nargs="?", type=Path,
                   help="an auth.json (default: $CODEX_HOME/auth.json, else ~/.codex/auth.json)")
    p.add_argument("--label", help="a name to show for this account (default: the masked email)")
    p.add_argument("--move", action="store_true", help="remove the original file after importing it")
    p.set_defaults(run=_import)

    p = sub.add_parser("list", help="show the accounts (never a token)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_list)

    p = sub.add_parser("remove", help="remove an account and delete its credentials")
    p.add_argument("account", help="account id or label")
    p.add_argument("--force", action="store_true",
                   help="remove it even while a lease looks live (one from another host that never ends, say)")
    p.set_defaults(run=_remove)

    for name, enabled in (("enable", True), ("disable", False)):
        p = sub.add_parser(name, help=f"{name} an account for selection")
        p.add_argument("account", help="account id or label")
        p.set_defaults(run=_set_enabled, enabled=enabled)

    p = sub.add_parser("label", help="rename an account")
    p.add_argument("account", help="account id or label")
    p.add_argument("label")
    p.set_defaults(run=_label)

    p = sub.add_parser("order", help="use these accounts first, in this order (none: rank by quota headroom)")
    p.add_argument("accounts", nargs="*", help="account ids or labels")
    p.set_defaults(run=_order)
    return parser


def _import(args: argparse.Namespace) -> int:
    root = Composition.load()
    source = args.path or paths.user_codex_home(root.env) / "auth.json"
    result = admin.import_account(root.pool_store, root.account_homes, source, time.time(), root.alive,
                                  label=args.label, move=args.move, vault=root.vault)
    done = {"added": "Added", "updated": "Updated the credentials of", "unchanged": "Already had"}[result.outcome]
    shown = for_terminal(str(source))
    print(f"{done} account {result.account} ({for_terminal(result.label)}).")
    if result.outcome == "unchanged":
        print("The pool's copy of this login is as new as the imported one or newer; it was kept.")
    if result.moved:
        print(f"Removed {shown}: the pool now holds the only copy of this login.")
    elif result.original_kept:
        print(f"warning: {shown} still holds a live copy of this login. ChatGPT refresh tokens are "
              "single-use: if plain `codex` refreshes that copy while codex-fsm uses the pool's, OpenAI can "
              "revoke the login for both. Re-run with --move to remove it (do not `codex logout`: that "
              "revokes the login on the server).", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    now = time.time()
    root = Composition.load()
    rows = admin.account_rows(root.pool_store.load(), now, root.alive)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("The pool is empty: run `codex login`, then `codex-fsm accounts import`.")
        return 0
    table = [("ID", "LABEL", "PLAN", "EMAIL", "STATE", "COOLDOWN", "QUOTA LEFT")]
    # Labels, plans and emails came from outside (the user, JWT claims, the pool file): one line each.
    table += [(r["id"], for_terminal(r["label"]), for_terminal(r["plan"] or "-"), for_terminal(r["email"] or "-"),
               for_terminal(r["state"]), _cooldown_text(r["cooldown"]), _quota_text(r["quota_remaining_percent"]))
              for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _cooldown_text(cooldown: dict | None) -> str:
    if cooldown is None:
        return "-"
    try:
        until = datetime.fromtimestamp(cooldown["until"]).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        until = "far in the future"
    return f"until {until} ({for_terminal(cooldown['reason'])})"


def _quota_text(quota: dict | None) -> str:
    if quota is None:
        return "unknown"
    parts = [f"{name} {value:.0f}%" for name, value in quota.items() if name != "observed_at" and value is not None]
    return ", ".join(parts) or "unknown"


def _remove(args: argparse.Namespace) -> int:
    root = Composition.load()
    result = admin.remove_account(root.pool_store, root.account_homes, args.account, time.time(), root.alive,
                                  force=args.force, vault=root.vault)
    lease = result.forced_lease
    if lease is not None:
        print(f"warning: account {result.account} was leased to process {lease.owner_pid} on "
              f"{for_terminal(lease.host)}; if that session still runs, it is now using an account that is "
              "no longer in the pool and must be stopped", file=sys.stderr)
    print(f"Removed account {result.account} and deleted its credentials (log in again and import to re-add it).")
    removal = result.removal
    if removal.moved_back:
        print(f"Moved into {for_terminal(str(root.account_homes.real_home))} (they were Codex data, not credentials): "
              + ", ".join(for_terminal(n) for n in removal.moved_back))
    if removal.kept:
        print(f"Kept in {for_terminal(str(removal.kept_in))} (your Codex home already has entries of these names; "
              "merge or delete them yourself): " + ", ".join(for_terminal(n) for n in removal.kept))
    return 0


def _set_enabled(args: argparse.Namespace) -> int:
    account = admin.set_enabled(Composition.load().pool_store, args.account, args.enabled)
    print(f"{'Enabled' if args.enabled else 'Disabled'} account {account}.")
    return 0


def _label(args: argparse.Namespace) -> int:
    account = admin.set_label(Composition.load().pool_store, args.account, args.label)
    print(f"Account {account} is now labelled '{for_terminal(args.label)}'.")
    return 0


def _order(args: argparse.Namespace) -> int:
    chosen = admin.set_order(Composition.load().pool_store, args.accounts)
    print("Order: " + (" then ".join(chosen) if chosen else "none (ranked by quota headroom)"))
    return 0
