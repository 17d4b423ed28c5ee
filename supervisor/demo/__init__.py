"""What ``codex-fsm demo`` runs on, shared with the end-to-end tests and the benchmarks.

``fake_backend``: a fake ChatGPT backend on 127.0.0.1 that the real Codex CLI talks to offline, and the
throwaway world (pool, homes, private CODEX_HOME) codex-fsm runs in against it. ``terminal``: a pty with a
screen model that answers the program's queries like a real terminal, to drive Codex from a script.

Nothing else in the package imports these modules; they are part of the installed package so that the demo
works from a wheel as well as from a checkout.
"""
