"""Finish a baked project: put the chosen dataset in data/raw/, then set up Git and DVC.

The repository set-up lives in the project's scripts/init_repo.py, which `make setup`
runs again, so a bake whose Python lacks DVC is finished there. A failure in that
step keeps every file: it prints what went wrong and what to run by hand.
"""

import shutil
import subprocess
import sys
from pathlib import Path

DATASET = "{{ cookiecutter.dataset }}"
MLFLOW = "{{ cookiecutter.mlflow }}" == "yes"
REMOTE = "{{ cookiecutter.remote }}"
REMOTE_LOCKS = Path("_remote_locks")
PLUGINS = {"s3": "dvc-s3", "gcs": "dvc-gs", "azure": "dvc-azure", "ssh": "dvc-ssh"}
BUNDLED = Path("_datasets")
RAW = Path("data/raw")
PACKAGE = Path("src") / "{{ cookiecutter.package_name }}"


def place_dataset() -> None:
    RAW.mkdir(parents=True, exist_ok=True)
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


def keep_remote_lock() -> None:
    """Keep the lock of the remote's DVC plugin as requirements-REMOTE.lock.

    Each contains only the plugin's packages that the base lock lacks, so `make setup`
    installs it beside requirements.lock (with or without MLflow: one lock for each).
    """
    name = f"{REMOTE}-mlflow.lock" if MLFLOW else f"{REMOTE}.lock"
    chosen = REMOTE_LOCKS / name
    if chosen.exists():
        chosen.replace(f"requirements-{REMOTE}.lock")
    elif REMOTE in PLUGINS:
        print(
            f"warning: the template has no lock file for the {REMOTE} plugin "
            f"({chosen}): run `make lock` in the template, or install the plugin "
            f"with `pip install {PLUGINS[REMOTE]}`",
            file=sys.stderr,
        )
    shutil.rmtree(REMOTE_LOCKS)


def main() -> int:
    place_dataset()
    keep_mlflow_files()
    keep_remote_lock()
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
