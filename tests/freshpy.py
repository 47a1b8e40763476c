"""Run code in a new interpreter: what a daemon start imports, as it has it."""

import json
import subprocess
import sys


def fresh_python(code):
    """Run `code` with this venv's interpreter (sys.modules as a fresh process has
    it); the JSON it prints last."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])
