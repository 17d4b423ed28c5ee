"""codex-fsm's own subcommands; each module exposes ``main(argv) -> int``."""
