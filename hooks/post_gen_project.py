"""Finish a baked project: put the chosen dataset in data/raw/, then set up Git and DVC.

The repository set-up lives in the project's scripts/init_repo.py, which `make setup`
runs again, so a bake whose Python lacks DVC is finished there. A failure in that
step keeps every file: it prints what went wrong and what to run by hand.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

DATASET = "{{ cookiecutter.dataset }}"
MLFLOW = "{{ cookiecutter.mlflow }}" == "yes"
BUNDLED = Path("_datasets")
RAW = Path("data/raw")
PACKAGE = Path("src") / "{{ cookiecutter.package_name }}"
# The whole context, and its keys in the order cookiecutter gave them (tojson
# sorts them). A raw string: JSON's escapes stay for json.loads to read.
CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")
CONTEXT_KEYS = json.loads(r"""{{ cookiecutter.keys() | list | tojson }}""")
# Keys that cookiecutter adds for the run (paths on this machine), not answers.
RUN_KEYS = ("_template", "_commit", "_output_dir", "_repo_dir", "_checkout")


def place_dataset() -> None:
    """Move the chosen bundled dataset to data/raw/; with csv, the user brings one."""
    RAW.mkdir(parents=True, exist_ok=True)
    if DATASET != "csv":
        source = BUNDLED / f"{DATASET}.csv"
        shutil.move(source, RAW / source.name)
    shutil.rmtree(BUNDLED)


def keep_mlflow_files() -> None:
    """Keep the MLflow module and lock file only when the project logs to MLflow.

    mlflow requires pyarrow below 26, so the project with MLflow has its own lock.
    """
    mlflow_lock = Path("requirements-mlflow.lock")
    if MLFLOW:
        mlflow_lock.replace("requirements.lock")
    else:
        mlflow_lock.unlink()
        (PACKAGE / "tracking.py").unlink()


def git_output(folder: Path, *args: str) -> str:
    """Return what git prints in ``folder``; empty if it fails or is not installed."""
    try:
        result = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True
        )
    except FileNotFoundError:
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def template_folder() -> Path | None:
    """Return the folder that cookiecutter read the template from, if known.

    ``_repo_dir`` is relative when the template was given as a relative path.
    cookiecutter runs the hooks from inside that folder, so its process's working
    directory names it (Linux); elsewhere the shell's PWD is the base.
    """
    repo_dir = CONTEXT.get("_repo_dir")
    if not repo_dir:
        return None
    folder = Path(repo_dir)
    if not folder.is_absolute():
        parent = Path(f"/proc/{os.getppid()}/cwd")
        if parent.exists():
            folder = parent
        else:
            folder = Path(os.environ.get("PWD", ".")) / folder
    folder = folder.resolve()
    return folder if (folder / "cookiecutter.json").is_file() else None


def template_source(folder: Path | None) -> str:
    """Return the template as cruft clones it: a Git URL or an absolute path.

    Under `cruft create` and `cruft update`, ``_template`` already is that.
    """
    from cookiecutter.config import get_user_config
    from cookiecutter.repository import expand_abbreviations, is_repo_url, is_zip_file

    template = str(CONTEXT.get("_template") or "")
    abbreviations = get_user_config().get("abbreviations", {})
    expanded = expand_abbreviations(template, abbreviations)
    if is_zip_file(expanded):
        return ""
    if is_repo_url(expanded):
        return expanded.removeprefix("git+")
    if folder is None:
        return template
    return git_output(folder, "rev-parse", "--show-toplevel")


def write_cruft_state() -> None:
    """Write .cruft.json as `cruft create` does, so that `cruft update` works.

    It records where the template came from, its Git commit and the answers. Under
    `cruft create` the context already holds both, and cruft then writes the same
    file again. A template that is not in a Git repository cannot be updated from,
    so nothing is written then.
    """
    folder = template_folder()
    template = template_source(folder)
    commit = str(CONTEXT.get("_commit") or "")
    directory = None
    if template and not commit and folder is not None:
        commit = git_output(folder, "rev-parse", "HEAD")
        top = Path(git_output(folder, "rev-parse", "--show-toplevel") or folder)
        if top.resolve() != folder:
            directory = folder.relative_to(top.resolve()).as_posix()
        if commit and git_output(folder, "status", "--porcelain", "--", "."):
            print(
                f"note: the template in {folder} has uncommitted changes. "
                f".cruft.json records its last commit, {commit[:12]}, so "
                "`cruft update` will count those changes as edits of this project.",
                file=sys.stderr,
            )
    if not template or not commit:
        print(
            f"note: the template {CONTEXT.get('_template')} is not a Git repository, "
            "so no .cruft.json was written and `cruft update` cannot follow it. Bake "
            "from a Git URL or clone, or run `cruft link TEMPLATE_URL` here later.",
            file=sys.stderr,
        )
        return
    answers = {key: CONTEXT[key] for key in CONTEXT_KEYS if key not in RUN_KEYS}
    state = {
        "template": template,
        "commit": commit,
        "checkout": CONTEXT.get("_checkout"),
        "context": {
            "cookiecutter": {**answers, "_template": template, "_commit": commit}
        },
        "directory": directory,
    }
    text = json.dumps(state, ensure_ascii=False, indent=2, separators=(",", ": "))
    Path(".cruft.json").write_text(text + "\n", encoding="utf-8")


def main() -> int:
    place_dataset()
    keep_mlflow_files()
    write_cruft_state()
    result = subprocess.run([sys.executable, str(Path("scripts") / "init_repo.py")])
    if result.returncode != 0:
        print(
            f"warning: the project files are complete in {Path.cwd()}, but setting up "
            "Git and DVC failed (see above). Fix the cause, then run `make setup` "
            "there.",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
