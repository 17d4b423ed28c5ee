#!/usr/bin/env python3
"""A fake Codex TUI that behaves like the real one where codex-fsm relies on it
(as seen with Codex 0.169):

* holds ``$CODEX_HOME/thread-writer-locks/<id>.lock`` open from start-up, and from the first turn
  ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<ts>-<id>.jsonl`` (O_APPEND) until exit;
* the rollout gets session_meta, then per turn task_started, token_count (rate limits), task_complete;
* emits OSC 7501 idle when the composer is drawn, working on submit, done then idle at turn end,
  clear on exit; turns on the alternate screen, bracketed paste and a hidden cursor;
* Ctrl-C on a non-empty composer clears it; on an empty one it exits with the resume hint, as Codex
  0.169 does; ``resume <id>`` appends to the same rollout.

Controlled through files in ``$FAKE_CODEX_CONTROL`` (read when needed, so tests change behaviour
between launches). ``<account>`` is the basename of ``$CODEX_HOME``:

* ``quota-<account>``: "<5h used %> <weekly used %>" recorded in token_count (default "10 5");
* ``limit-<account>``: the next turn fails with usage_limit_exceeded;
* ``hold-turns``: a turn does not finish until ``release-turn`` exists (which it then deletes);
* ``hang-on-sigint``: Ctrl-C does nothing; ``ignore-sigterm``: SIGTERM is ignored;
* ``crash-after-turn``: the process kills itself with SIGSEGV after the next turn;
* ``hold-exec``: a non-interactive subcommand writes ``exec-running-<pid>`` (its account) and runs
  until ``release-exec`` exists;
* ``refresh-auth``: "<refresh_token> <last_refresh>" (write it with a rename, so it is read whole). A held
  subcommand (``hold-exec``) that finds it rewrites ``$CODEX_HOME/auth.json`` as Codex does after refreshing
  its token: the new refresh token and ``last_refresh``, written to ``.auth-XXXXXX`` and renamed over the
  file; the trigger is then renamed to ``refreshed-auth-<pid>``, which a test waits for;
* ``exit-code``: exit with this code on quit (or at once for a non-interactive subcommand);
* ``exec [opts] PROMPT|-``, ``exec [opts] resume <id> PROMPT`` behave like ``codex exec``: one turn in
  the rollout (``source: exec``), the final message on stdout (``--json``: thread.started, turn.started,
  item.completed, turn.completed / error, turn.failed), ``-o FILE`` written on success; a usage limit
  prints ``ERROR: …`` on stderr and exits 1. ``exec-delay`` holds every exec turn that many seconds
  (after the rollout is open, so a test can interrupt it), ``exec-log`` gets each run's prompt, stdin and
  isatty facts;
* ``--version`` prints a version and ``… --help`` nothing (codex-fsm then keeps its built-in option tables);
  neither is recorded as a spawn;
* ``query-terminal``: like Codex, query the terminal (cursor position, device attributes, background
  colour) at start-up, waiting up to 2 s for the cursor position before drawing the composer, and again
  on exit. Replies are never composer text; each one received is logged to ``replies-<pid>``.

It reports to the same folder: ``spawns.jsonl`` (argv, CODEX_HOME basename, pid, env keys),
``prompts.jsonl`` (each submitted prompt and account), ``composer-<pid>`` (current composer text).
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import sys
import termios
import time
import tty
import uuid
from pathlib import Path

STARTED_AT = time.time()  # before anything else, for the handoff benchmark

CONTROL = Path(os.environ["FAKE_CODEX_CONTROL"])
HOME = Path(os.environ["CODEX_HOME"])
ACCOUNT = HOME.name
OUT = sys.stdout.fileno()
IN = sys.stdin.fileno()


def osc(state: str, app: bool = True) -> bytes:
    return f"\x1b]7501;state={state}{':app=codex' if app else ''}\x1b\\".encode()


def out(data: bytes | str) -> None:
    if isinstance(data, str):
        data = data.encode()
    os.write(OUT, data)


def control(name: str) -> Path:
    return CONTROL / name


def report(name: str, record: dict) -> None:
    with open(control(name), "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def positionals(argv: list[str]) -> list[str]:
    """The positional arguments (options with values skipped)."""
    takes_value = {"-c", "--config", "-m", "--model", "-p", "--profile", "-C", "--cd", "-s", "--sandbox",
                   "-a", "--ask-for-approval", "-i", "--image", "--add-dir", "--enable", "--disable"}
    i = 0
    positionals = []
    while i < len(argv):
        if argv[i] in takes_value:
            i += 2
            continue
        if not argv[i].startswith("-"):
            positionals.append(argv[i])
        i += 1
    return positionals


class Session:
    def __init__(self, resume_id: str | None) -> None:
        self.resumed = resume_id is not None
        self.id = resume_id or str(uuid.UUID(int=(int(time.time() * 1000) << 80) | uuid.uuid4().int >> 48))
        locks = HOME / "thread-writer-locks"
        locks.mkdir(parents=True, exist_ok=True)
        self.lock_fd = os.open(locks / f"{self.id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        self.rollout_fd: int | None = None
        self.started = time.time()
        self.ordinal = 0
        if self.resumed:
            path = self.find_rollout()
            self.rollout_fd = os.open(path, os.O_RDWR | os.O_APPEND)

    def find_rollout(self) -> Path:
        for path in (HOME / "sessions").rglob(f"rollout-*-{self.id}.jsonl"):
            return path
        print(f"Error: no rollout found for thread id {self.id}", file=sys.stderr)
        sys.exit(1)

    def write(self, kind: str, payload: dict) -> None:
        if self.rollout_fd is None:
            stamp = time.localtime(self.started)
            folder = HOME / "sessions" / time.strftime("%Y/%m/%d", stamp)
            folder.mkdir(parents=True, exist_ok=True)
            name = f"rollout-{time.strftime('%Y-%m-%dT%H-%M-%S', stamp)}-{self.id}.jsonl"
            self.rollout_fd = os.open(folder / name, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            self.write("session_meta", {
                "id": self.id, "session_id": self.id, "cwd": os.getcwd(), "originator": "codex-tui",
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.started))
                + f".{int(self.started * 1000) % 1000:03d}Z",
                "cli_version": "0.169.0", "source": "cli"})
        now = time.time()  # milliseconds, as the real Codex stamps its lines
        line = {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z",
                "ordinal": self.ordinal,
                "type": kind, "payload": payload}
        self.ordinal += 1
        os.write(self.rollout_fd, (json.dumps(line) + "\n").encode())


def rate_limits(primary: float, secondary: float) -> dict:
    now = int(time.time())
    return {"limit_id": "codex", "primary": {"used_percent": primary, "window_minutes": 300, "resets_at": now + 3600},
            "secondary": {"used_percent": secondary, "window_minutes": 10080, "resets_at": now + 86400 * 3}}


def quota() -> tuple[float, float]:
    try:
        five, weekly = control(f"quota-{ACCOUNT}").read_text().split()
        return float(five), float(weekly)
    except FileNotFoundError:
        return 10.0, 5.0


def refresh_auth_if_asked() -> None:
    """``refresh-auth``: the token refresh real Codex makes in its home (see the module docstring)."""
    trigger = control("refresh-auth")
    try:
        refresh_token, last_refresh = trigger.read_text().split()
    except FileNotFoundError:
        return
    path = HOME / "auth.json"
    document = json.loads(path.read_text())
    document["tokens"]["refresh_token"] = refresh_token
    document["last_refresh"] = last_refresh
    temp = HOME / f".auth-{uuid.uuid4().hex[:6]}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, json.dumps(document, indent=2).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    trigger.rename(control(f"refreshed-auth-{os.getpid()}"))


def hold_until_released() -> None:
    """A held subcommand: runs (refreshing its token when asked) until ``release-exec`` exists."""
    release = control("release-exec")
    while not release.exists():
        refresh_auth_if_asked()
        time.sleep(0.01)


def wait_for_release() -> None:
    release = control("release-turn")
    while not release.exists():
        time.sleep(0.01)
    release.unlink()


def run_turn(session: Session, prompt: str) -> None:
    report("prompts.jsonl", {"prompt": prompt, "account": ACCOUNT, "session": session.id})
    out(osc("working"))
    session.write("event_msg", {"type": "task_started", "turn_id": str(uuid.uuid4())})
    session.write("response_item", {"type": "message", "role": "user",
                                    "content": [{"type": "input_text", "text": prompt}]})
    if control("hold-turns").exists():
        wait_for_release()
    limit = control(f"limit-{ACCOUNT}")
    if limit.exists():
        limit.unlink()
        session.write("event_msg", {"type": "token_count", "info": None, "rate_limits": rate_limits(100.0, 7.0)})
        session.write("event_msg", {"type": "task_complete", "last_agent_message": None, "error": {
            "message": "You've hit your usage limit.", "codex_error_info": "usage_limit_exceeded"}})
        out("\r\n\u25a0 You've hit your usage limit. Try again later.\r\n")
    else:
        five, weekly = quota()
        out(f"\r\n\u2022 ANSWER to {prompt} on {ACCOUNT}\r\n")
        session.write("event_msg", {"type": "token_count", "info": {}, "rate_limits": rate_limits(five, weekly)})
        session.write("event_msg", {"type": "task_complete", "last_agent_message": f"ANSWER to {prompt}"})
    out(osc("done"))
    out("Worked for 0s\r\n")
    out(osc("idle"))
    if control("crash-after-turn").exists():
        control("crash-after-turn").unlink()
        os.kill(os.getpid(), signal.SIGSEGV)


TERMINAL_QUERIES = b"\x1b[6n\x1b[c\x1b]11;?\x1b\\"
# What a terminal sends back: CSI replies (position, attributes, modes) and OSC/DCS strings.
TERMINAL_REPLY = re.compile(rb"\x1b\[[?>]?[0-9;]*\$?[Rcuny]|\x1b[\]P][^\x07\x1b]*(?:\x07|\x1b\\)")


def query_terminal() -> bool:
    if not control("query-terminal").exists():
        return False
    out(TERMINAL_QUERIES)
    return True


def take_replies(data: bytes) -> bytes:
    """Log and remove the terminal's replies; the rest is keys."""
    found = TERMINAL_REPLY.findall(data)
    if found:
        with open(control(f"replies-{os.getpid()}"), "ab") as handle:
            handle.write(b"".join(found))
    return TERMINAL_REPLY.sub(b"", data)


def wait_for_cursor_position() -> bytes:
    """Read until the position reply (or 2 s); keys typed meanwhile are returned for the composer."""
    keys = b""
    deadline = time.time() + 2.0
    pending = b""
    while time.time() < deadline:
        if not select.select([IN], [], [], max(0.0, deadline - time.time()))[0]:
            break
        pending += os.read(IN, 4096)
        if re.search(rb"\x1b\[[0-9]+;[0-9]+R", pending):
            break
    keys += take_replies(pending)
    return keys


def show_size() -> None:
    size = os.get_terminal_size(IN)
    out(f"size {size.lines}x{size.columns}\r\n")


def quit_cleanly(session: Session) -> None:
    out(osc("clear", app=False))
    query_terminal()
    out(b"\x1b[?2004l\x1b[?25h\x1b[?1049l")
    out("Token usage: total=10 input=8 output=2\r\nTo continue this session, run:\r\n"
        f"  codex resume {session.id}\r\n")
    code = control("exit-code")
    sys.exit(int(code.read_text()) if code.exists() else 0)


EXEC_VALUE_OPTIONS = {"-c", "--config", "-m", "--model", "-p", "--profile", "-C", "--cd", "-s", "--sandbox",
                      "-i", "--image", "--add-dir", "--enable", "--disable", "-o", "--output-last-message",
                      "--output-schema", "--color"}


def run_exec(argv: list[str]) -> None:
    """``codex exec`` as far as codex-fsm relies on it (see the module docstring)."""
    options: dict[str, str | bool] = {}
    words: list[str] = []
    i = argv.index("exec") + 1
    while i < len(argv):
        arg = argv[i]
        if arg in EXEC_VALUE_OPTIONS:
            options[arg] = argv[i + 1]
            i += 2
            continue
        if arg.startswith("-") and arg != "-":
            options[arg] = True
        else:
            words.append(arg)
        i += 1
    resume_id = words[1] if words[:1] == ["resume"] and len(words) > 1 else None
    prompt_words = words[2:] if resume_id else words
    stdin_tty = os.isatty(0)
    if not prompt_words or prompt_words[0] == "-":
        prompt = sys.stdin.read().strip()
        stdin_text = ""
    else:
        prompt = prompt_words[0]
        stdin_text = "" if stdin_tty else sys.stdin.read()
    report("exec-log.jsonl", {"prompt": prompt, "stdin": stdin_text, "account": ACCOUNT, "resume_id": resume_id,
                              "stdout_tty": os.isatty(1), "stdin_tty": stdin_tty, "options": sorted(options)})
    session = Session(resume_id)
    json_events = bool(options.get("--json"))

    def event(payload: dict) -> None:
        if json_events:
            print(json.dumps(payload), flush=True)

    event({"type": "thread.started", "thread_id": session.id})
    event({"type": "turn.started"})
    report("prompts.jsonl", {"prompt": prompt, "account": ACCOUNT, "session": session.id})
    session.write("event_msg", {"type": "task_started", "turn_id": str(uuid.uuid4())})
    session.write("response_item", {"type": "message", "role": "user",
                                    "content": [{"type": "input_text", "text": prompt}]})
    delay = control("exec-delay")
    if delay.exists():
        time.sleep(float(delay.read_text()))
    limit = control(f"limit-{ACCOUNT}")
    if limit.exists():
        limit.unlink()
        message = "You've hit your usage limit. Try again later."
        session.write("event_msg", {"type": "token_count", "info": None, "rate_limits": rate_limits(100.0, 7.0)})
        session.write("event_msg", {"type": "task_complete", "last_agent_message": None, "error": {
            "message": message, "codex_error_info": "usage_limit_exceeded"}})
        event({"type": "error", "message": message})
        event({"type": "turn.failed", "error": {"message": message}})
        print(f"ERROR: {message}", file=sys.stderr, flush=True)
        sys.exit(1)
    five, weekly = quota()
    answer = f"ANSWER to {prompt} on {ACCOUNT}"
    session.write("event_msg", {"type": "token_count", "info": {}, "rate_limits": rate_limits(five, weekly)})
    session.write("event_msg", {"type": "task_complete", "last_agent_message": answer})
    event({"type": "item.completed", "item": {"id": "item_0", "type": "agent_message", "text": answer}})
    event({"type": "turn.completed", "usage": {"input_tokens": 10, "output_tokens": 2}})
    if not json_events:
        print(answer, flush=True)
    last_message = options.get("-o") or options.get("--output-last-message")
    if isinstance(last_message, str):
        Path(last_message).write_text(answer)
    code = control("exit-code")
    sys.exit(int(code.read_text()) if code.exists() else 0)


def main() -> None:
    words = positionals(sys.argv[1:])
    # What codex-fsm asks about the installed Codex before a start (its options, its features): answered as
    # 0.169 would, and not a session, so not recorded as a spawn.
    if sys.argv[1:] == ["--version"]:
        print("codex-cli 0.169.0", flush=True)
        return
    if sys.argv[-1:] == ["--help"]:
        return  # no help page: codex-fsm keeps its built-in option tables
    if words == ["features", "list"]:
        print("tui_extensions_statusline                under development  false")
        return
    report("spawns.jsonl", {"argv": sys.argv[1:], "account": ACCOUNT, "pid": os.getpid(), "started_at": STARTED_AT,
                            "env": sorted(k for k in os.environ if k.startswith("CODEX"))})
    if words[:1] == ["exec"] and not control("hold-exec").exists():
        run_exec(sys.argv[1:])
        return
    if words and words[0] not in ("resume", "fork") and " " not in words[0]:
        print(f"fake codex {words[0]} on {ACCOUNT}", flush=True)  # a non-interactive subcommand
        if control("hold-exec").exists():
            # Renamed into place: a test that sees the file may read it at once (a plain write could be
            # seen empty, before its text lands).
            partial = control(f".exec-running-{os.getpid()}.partial")
            partial.write_text(ACCOUNT)
            partial.rename(control(f"exec-running-{os.getpid()}"))
            hold_until_released()
        code = control("exit-code")
        sys.exit(int(code.read_text()) if code.exists() else 0)
    resume_id = words[1] if len(words) >= 2 and words[0] == "resume" else None
    if control("ignore-sigterm").exists():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    session = Session(resume_id)
    saved = termios.tcgetattr(IN)
    tty.setraw(IN)
    try:
        out(b"\x1b[?1049h\x1b[?2004h\x1b[?25l")
        if session.resumed:
            out(f"resumed {session.id} on {ACCOUNT}\r\n")
        show_size()
        signal.signal(signal.SIGWINCH, lambda *_: show_size())
        early_keys = wait_for_cursor_position() if query_terminal() else b""
        out("\u203a Ask Codex to do anything\r\n")
        out(osc("idle"))
        composer = ""
        hang = control("hang-on-sigint").exists()
        composer_file = control(f"composer-{os.getpid()}")
        while True:
            try:
                data = os.read(IN, 4096)
            except InterruptedError:
                continue
            if not data:
                return
            data = early_keys + take_replies(data)
            early_keys = b""
            text = re.sub(r"\x1b\[20[01]~", "", data.decode("utf-8", "replace"))
            for char in text:
                if char == "\x03":
                    if hang:
                        continue
                    if composer:
                        composer = ""
                    else:
                        quit_cleanly(session)
                elif char == "\r":
                    if composer.strip():
                        prompt, composer = composer, ""
                        run_turn(session, prompt)
                elif char == "\x7f":
                    composer = composer[:-1]
                elif char == "\x15":
                    composer = ""
                else:
                    composer += char
                    out(char)
            composer_file.write_text(composer)
    finally:
        termios.tcsetattr(IN, termios.TCSADRAIN, saved)


if __name__ == "__main__":
    main()
