"""codex-fsm: keep an interactive Codex CLI session alive across a pool of ChatGPT accounts.

The import name ``supervisor`` is shared with the unrelated PyPI project "supervisor" (supervisord);
never install both into one environment. ``tests/test_package.py`` checks which one is imported.
"""

__version__ = "0.1.0"
