"""Make this folder a Git repository with DVC tracking its data, and commit it.

The template's post-generation hook runs this after a bake, and `make setup` runs it
again. Each step is skipped when already done, so running it twice is safe. It needs
only the standard library: when cookiecutter is installed on its own (pipx, uv tool),
its Python has no DVC, and this script commits what it can and prints what is left.
"""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

AUTHOR_NAME = {{ cookiecutter.author_name | tojson }}
AUTHOR_EMAIL = {{ cookiecutter.author_email | tojson }}
{%- if cookiecutter.dataset == "csv" %}
# The user's own data, which they copy here and track with `dvc add` after the bake.
RAW_DATA = Path("data/raw/data.csv")
{%- else %}
RAW_DATA = Path("data/raw/{{ cookiecutter.dataset }}.csv")
{%- endif %}
FIRST_MESSAGE = "Create project from cookiecutter-dvc-pipeline"
DVC_MESSAGE = "Track raw data with DVC"
# Files that DVC set-up writes (init, config, add): a later run commits only these.
DVC_FILES = [
    Path(".dvc/config"),
    Path(".dvc/.gitignore"),
    Path(".dvcignore"),
    RAW_DATA.with_name(RAW_DATA.name + ".dvc"),
    RAW_DATA.with_name(".gitignore"),
]


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, text=True, **kwargs)


def output(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


def dvc_command() -> list[str] | None:
    """Return how to run DVC: this Python's own DVC, else ``dvc`` on PATH, else None."""
    if importlib.util.find_spec("dvc") is not None:
        return [sys.executable, "-m", "dvc"]
    found = shutil.which("dvc")
    return [found] if found else None


def identity_options() -> list[str]:
    """Return ``-c`` options that set the prompts' author when Git has no identity.

    They apply to one commit only: no Git configuration file is changed.
    """
    options = []
    if not output(["git", "config", "user.name"]):
        options += ["-c", f"user.name={AUTHOR_NAME}"]
    if not output(["git", "config", "user.email"]):
        options += ["-c", f"user.email={AUTHOR_EMAIL}"]
    return options


def has_commit() -> bool:
    return bool(output(["git", "rev-parse", "--verify", "--quiet", "HEAD"]))


def commit_all(message: str) -> None:
    """Make the first commit, of every file that is not ignored."""
    run(["git", "add", "--all"])
    run(["git", *identity_options(), "commit", "--quiet", "--no-verify", "-m", message])
    print(f"init_repo: committed '{message}'")


def commit_dvc_files(message: str) -> None:
    """Commit the files that DVC set-up wrote, and nothing else the user changed."""
    paths = [str(path) for path in DVC_FILES if path.exists()]
    run(["git", "add", "--", *paths])
    changed = subprocess.run(["git", "diff", "--cached", "--quiet", "--", *paths])
    if changed.returncode == 0:
        return
    options = [*identity_options(), "commit", "--quiet", "--no-verify", "-m", message]
    run(["git", *options, "--", *paths])
    print(f"init_repo: committed '{message}'")


def init_git() -> None:
    top = output(["git", "rev-parse", "--show-toplevel"])
    if top and Path(top).resolve() == Path.cwd().resolve():
        return
    run(["git", "init", "--quiet"])
    # `git init -b` needs Git 2.28; this names the first branch on any version.
    run(["git", "symbolic-ref", "HEAD", "refs/heads/main"])
    print("init_repo: created a Git repository on branch main")


def init_dvc(dvc: list[str]) -> None:
    if not Path(".dvc").is_dir():
        run([*dvc, "init", "--quiet"])
        # `dvc repro` and `dvc add` then stage the files they change for a commit.
        run([*dvc, "config", "core.autostage", "true"])
        # The project works offline, so DVC sends no usage data unless turned back on.
        run([*dvc, "config", "core.analytics", "false"])
        print("init_repo: initialised DVC")
    if RAW_DATA.exists() and not RAW_DATA.with_name(RAW_DATA.name + ".dvc").exists():
        run([*dvc, "add", "--quiet", str(RAW_DATA)])
        print(f"init_repo: tracked {RAW_DATA} with DVC")


def main() -> int:
    if shutil.which("git") is None:
        print(
            "init_repo: git not found on PATH. Install Git, then run `make setup` in "
            "this folder to create the repository, track the data with DVC and commit.",
            file=sys.stderr,
        )
        return 0
    init_git()
    dvc = dvc_command()
    if dvc is not None:
        init_dvc(dvc)
    if not has_commit():
        commit_all(FIRST_MESSAGE)
    elif dvc is not None:
        commit_dvc_files(DVC_MESSAGE)
    if dvc is None:
        print(
            "init_repo: DVC not found in this Python or on PATH, so the raw data is "
            "not tracked yet. Run `make setup` in this folder: it installs DVC and "
            "finishes the set-up.",
            file=sys.stderr,
        )
    if not RAW_DATA.exists():
        print(
            f"init_repo: no data yet. Copy your .csv or .parquet file to {RAW_DATA} "
            "(or set data.raw in params.yaml to its name), set data.target to the "
            f"column to predict, then run `dvc add {RAW_DATA}` and `dvc repro`.",
            file=sys.stderr,
        )
    if identity_options():
        print(
            "init_repo: Git has no user name or email, so the commit used the "
            "template's author. `dvc exp run` needs them: run `git config --global "
            'user.name "Your Name"` and `git config --global user.email '
            "you@example.com`.",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
