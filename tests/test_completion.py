"""Shell completion (click's own): the script the README tells users to source, and completions it answers."""

from __future__ import annotations

import os
import subprocess
import sys


def _complete(words: str, cword: int, shell: str = "bash") -> str:
    env = dict(os.environ, COMP_WORDS=words, COMP_CWORD=str(cword), _COMMAE_COMPLETE=f"{shell}_complete")
    return subprocess.run([sys.executable, "-m", "commae"], env=env, capture_output=True, text=True, timeout=120).stdout


def test_bash_source_script():
    env = dict(os.environ, _COMMAE_COMPLETE="bash_source")
    out = subprocess.run([sys.executable, "-m", "commae"], env=env, capture_output=True, text=True, timeout=120).stdout
    assert "_commae_completion()" in out and "complete -o nosort -F _commae_completion" in out


def test_commands_and_options_complete():
    assert _complete("commae tr", 1).splitlines() == ["plain,train"]
    assert "plain,--baseline" in _complete("commae ber-curve --bas", 2).splitlines()
    assert {"plain,sgd", "plain,adam", "plain,adamw"} <= set(_complete("commae train --optimizer ", 3).splitlines())
