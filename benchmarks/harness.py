"""Helpers that the benchmark scripts share."""

import subprocess
import sys
from pathlib import Path


def run(command: list, cwd: Path, env: dict[str, str]) -> str:
    """Run ``command`` in ``cwd`` and return its output.

    On failure, exit with the command, its exit status and its whole output.
    """
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        sys.exit(
            f"{' '.join(map(str, command))} exited {result.returncode} in {cwd}\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result.stdout
