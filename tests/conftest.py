"""Fixtures that bake the template with the real cookiecutter and run real git and DVC.

Every command runs with HOME in a temporary folder, so no user's Git identity or
configuration leaks in (the hooks must cope without one), and with DVC's analytics
off, so nothing leaves the machine.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT_SLUG = "tumour-classifier"
DEFAULT_PACKAGE = "tumour_classifier"


def run(
    command: list[str], cwd: Path, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess:
    """Run ``command``; on an unexpected exit status, fail with its whole output."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {result.returncode} in {cwd}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


@pytest.fixture(scope="session")
def env(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    values = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GIT_", "DVC_", "XDG_", "VIRTUAL_ENV", "PYTHON"))
    }
    values.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        DVC_NO_ANALYTICS="1",
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
    )
    return values


def bake(output: Path, env: dict[str, str], check: bool = True, **answers: str):
    """Bake the template into ``output`` with the defaults and ``answers``.

    The ``cookiecutter`` found on ``env``'s PATH runs, so ``env`` picks the install.
    """
    extra = [f"{key}={value}" for key, value in answers.items()]
    cookiecutter = shutil.which("cookiecutter", path=env["PATH"])
    command = [cookiecutter, "--no-input", "--output-dir", output, TEMPLATE]
    return run([*command, *extra], cwd=output, env=env, check=check)


def run_queue(
    project: Path, env: dict[str, str], command: list, timeout: float = 900
) -> str:
    """Start the queue workers with ``command`` and wait until no task is queued or
    running; return the last `dvc queue status` output.

    The workers detach but inherit the output of ``command``: a file, not a pipe,
    lets the call return while they run.
    """
    log = project.parent / "queue-start.log"
    with log.open("w", encoding="utf-8") as output:
        subprocess.run(
            [str(part) for part in command],
            cwd=project,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = dvc(project, env, "queue", "status").stdout
        if "Queued" not in status and "Running" not in status:
            return status
        time.sleep(2)
    pytest.fail(f"queue still busy after {timeout} s:\n{status}")


def git(project: Path, env: dict[str, str], *args: str) -> str:
    identity = ["-c", "user.name=Test Runner", "-c", "user.email=test@example.com"]
    return run(["git", *identity, *args], cwd=project, env=env).stdout


def dvc(project: Path, env: dict[str, str], *args: str, check: bool = True):
    return run([BIN / "dvc", *args], cwd=project, env=env, check=check)


@pytest.fixture(scope="session")
def baked(tmp_path_factory, env) -> Path:
    """A project baked with every default answer. Tests must not change it."""
    output = tmp_path_factory.mktemp("baked")
    bake(output, env)
    return output / DEFAULT_SLUG


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory, env) -> Path:
    """A default project after `dvc repro` and a commit of the results. Read only."""
    output = tmp_path_factory.mktemp("reproduced")
    bake(output, env)
    project = output / DEFAULT_SLUG
    # `dvc exp run` commits experiments and needs a Git identity, as a user has.
    run(["git", "config", "user.name", "Test Runner"], cwd=project, env=env)
    run(["git", "config", "user.email", "test@example.com"], cwd=project, env=env)
    dvc(project, env, "repro")
    git(project, env, "add", "--all")
    git(project, env, "commit", "--quiet", "-m", "Run the pipeline")
    return project


@pytest.fixture
def baked_copy(baked, tmp_path) -> Path:
    """A copy of ``baked`` that a test may change."""
    copy = tmp_path / DEFAULT_SLUG
    shutil.copytree(baked, copy, symlinks=True)
    return copy


@pytest.fixture
def reproduced_copy(reproduced, tmp_path) -> Path:
    """A copy of ``reproduced`` that a test may change."""
    copy = tmp_path / DEFAULT_SLUG
    shutil.copytree(reproduced, copy, symlinks=True)
    return copy
