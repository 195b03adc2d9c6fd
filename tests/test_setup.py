"""Bake with a cookiecutter that has no DVC beside it, then finish with `make setup`.

This is the pipx or `uv tool` install: the hooks run in a Python without DVC or
scikit-learn, and no `dvc` is on PATH.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEFAULT_SLUG, TEMPLATE, bake, dvc, git, run


def cookiecutter_version() -> str:
    lock = (TEMPLATE / "requirements-dev.lock").read_text(encoding="utf-8")
    return re.search(r"^cookiecutter==([\w.]+)", lock, re.MULTILINE).group(1)


def path_without_dvc() -> str:
    folders = os.environ["PATH"].split(os.pathsep)
    return os.pathsep.join(
        folder for folder in folders if not (Path(folder) / "dvc").exists()
    )


@pytest.fixture(scope="module")
def tool_env(tmp_path_factory, env) -> dict[str, str]:
    """``env`` with a venv holding only cookiecutter first on PATH, and no dvc."""
    venv = tmp_path_factory.mktemp("cookiecutter-alone") / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "--quiet"]
    run([*pip, f"cookiecutter=={cookiecutter_version()}"], cwd=venv, env=env)
    return dict(env, PATH=f"{venv / 'bin'}{os.pathsep}{path_without_dvc()}")


@pytest.mark.slow
def test_bake_without_dvc_then_setup(tmp_path, tool_env, env, baked):
    assert run(["which", "dvc"], tmp_path, tool_env, check=False).returncode != 0

    result = bake(tmp_path, tool_env)
    project = tmp_path / DEFAULT_SLUG
    assert "DVC not found in this Python or on PATH" in result.stderr
    assert "make setup" in result.stderr
    assert git(project, env, "status", "--porcelain") == ""
    assert not (project / ".dvc").exists()
    assert "data/raw/breast_cancer.csv" not in git(project, env, "ls-files").split()

    run(["make", "setup"], project, tool_env)
    assert git(project, env, "status", "--porcelain") == ""
    assert git(project, env, "rev-list", "--count", "HEAD").strip() == "2"
    assert git(project, env, "ls-files") == git(baked, env, "ls-files")
    assert (project / ".venv" / "bin" / "dvc").exists()

    (project / "notes.txt").write_text("private notes\n", encoding="utf-8")
    with (project / "params.yaml").open("a", encoding="utf-8") as params:
        params.write("# an edit in progress\n")
    run(["make", "setup"], project, tool_env)
    assert git(project, env, "rev-list", "--count", "HEAD").strip() == "2"
    status = git(project, env, "status", "--porcelain").splitlines()
    assert sorted(status) == [" M params.yaml", "?? notes.txt"]
    run(["git", "checkout", "--", "params.yaml"], project, env)
    (project / "notes.txt").unlink()

    dvc(project, env, "repro")
    assert "Data and pipelines are up to date." in dvc(project, env, "status").stdout
