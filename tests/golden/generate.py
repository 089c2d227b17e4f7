"""Regenerate every golden file from the real libraries (torch==2.13.0, optax, Keras 3).

Run from the repository root with the three installed (``make golden`` installs them):

    .venv/bin/python tests/golden/generate.py

It runs ``generate_schedules.py`` (writes ``schedules.json``) and then
``generate_optimizers.py`` (writes ``optimizers.json``, Keras on its JAX backend), each
in its own interpreter as if run by hand, and stops at the first that fails. Either
script can still be run alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# the second frontier batch (issue 15) writes one file per family: optimizers_<family>.json
SCRIPTS = ("generate_schedules.py", "generate_optimizers.py", "generate_quasi.py",
           "generate_free.py", "generate_matrix.py")


def main() -> None:
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    for script in SCRIPTS:
        print(f"running {script}", flush=True)
        subprocess.run([sys.executable, str(HERE / script)], env=env, check=True)


if __name__ == "__main__":
    main()
