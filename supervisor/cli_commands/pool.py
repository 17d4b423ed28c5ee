"""``codex-fsm pool``: set up the pool shared across machines ([pool] url), starting with its key file.

Each subcommand is registered by one function in ``SUBCOMMANDS`` (it adds its parser and sets ``run``), so a
new one is a function and a line there.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
from pathlib import Path
from typing import Callable

from ..config import default_config_path
from ..pool import pool_key
from ..terminal_text import for_terminal

KEY_FILE_ENV = "CODEX_FSM_POOL_KEY_FILE"

NEW_KEY_HELP = """\
Write a new key for a shared pool's credentials to PATH (mode 0600). The accounts' logins are kept in
Redis encrypted with this key, so every machine that shares the pool needs a copy of the same file, and
whoever has it can read every login in the pool. PATH must not exist: a key file is never overwritten,
since the logins it encrypted could not be read without it."""


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codex-fsm pool", description="Set up the pool shared across machines.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(sub)
    return parser


def _register_new_key(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new-key", help="write the key of a new shared pool's credentials", description=NEW_KEY_HELP)
    p.add_argument("path", type=Path, metavar="PATH", help="the key file to create (it must not exist)")
    p.set_defaults(run=_new_key)


def _new_key(args: argparse.Namespace) -> int:
    path = pool_key.new_key_file(args.path).absolute()
    # Shown as the config file and a shell would take it back (quoted), each safe for the terminal.
    as_toml = for_terminal(json.dumps(str(path), ensure_ascii=False))
    as_shell = for_terminal(shlex.quote(str(path)))
    print(f"Wrote a new pool key to {for_terminal(str(path))} (mode 0600).")
    print("Next:")
    print("  1. Copy it to every machine that shares the pool, over a secure channel (scp, a password manager);")
    print("     never by e-mail or chat. Keep it 0600 there: codex-fsm refuses a key others can read.")
    print(f"  2. On each machine set `key_file = {as_toml}` (with that machine's path) under [pool] in")
    print(f"     {for_terminal(str(default_config_path(os.environ)))}, or export {KEY_FILE_ENV}={as_shell}.")
    print("  3. Never commit it to a repository or store it in Redis: whoever has it can read every login in the")
    print("     pool. Keep a copy somewhere safe: without any copy, every account must be imported again.")
    return 0


MIGRATE_HELP = """\
Move the pool with every account's login: from the pool file into the (empty) shared pool at URL, or with
`--to file` from the configured shared pool ([pool] url) back into the pool file. No session may be running
on the pool. Atomic: after a failure both sides are as they were; after success the side left holds no live
copy of a login. --dry-run checks everything and says what would happen, writing nothing."""


def _register_migrate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("migrate", help="move the pool between the pool file and a shared pool (Redis)",
                       description=MIGRATE_HELP)
    p.add_argument("--to", required=True, metavar="URL|file", dest="target",
                   help="redis://host:port/db, rediss://…, unix:///path, or `file`")
    p.add_argument("--dry-run", action="store_true", help="check and report, change nothing")
    p.set_defaults(run=_migrate)


def _migrate(args: argparse.Namespace) -> int:
    import time

    from ..composition import Composition
    from ..config_schema import check_pool_url
    from ..errors import ConfigError
    from ..pool.migrate import migrate_to_file, migrate_to_redis
    from ..pool.redis_client import shown

    root = Composition.load()
    now = time.time()
    if args.target == "file":
        if not root.config.pool.url:
            raise ConfigError("`pool migrate --to file` moves the configured shared pool back: [pool] url (or "
                              "CODEX_FSM_POOL_URL) names none")
        store, vault = root.shared_pool_at(root.config.pool.url)
        report = migrate_to_file(store, vault, root.file_pool(), root.account_homes, now, root.alive,
                                 dry_run=args.dry_run)
        after = "Remove `url` from [pool] (or unset CODEX_FSM_POOL_URL) on every machine of that pool."
    else:
        check_pool_url(args.target, "--to")
        store, vault = root.shared_pool_at(args.target)
        report = migrate_to_redis(root.file_pool(), root.account_homes, store, vault, now, root.alive,
                                  dry_run=args.dry_run)
        after = (f"Set `url = {for_terminal(json.dumps(shown(args.target)))}` under [pool] (or CODEX_FSM_POOL_URL), "
                 "with its password, and `key_file` on every machine that shares the pool.")
    for line in report.lines():
        print(line)
    if not args.dry_run:
        print(f"Next: {after}")
    return 0


# One registration function per subcommand (see the module's doc).
SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (_register_new_key, _register_migrate)
