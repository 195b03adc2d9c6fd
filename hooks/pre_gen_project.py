"""Check every answer to the template's prompts before cookiecutter writes a file.

All problems are reported at once, each with what is allowed. On failure the hook
exits with status 1 and cookiecutter deletes the empty project folder it created.
"""

import json
import keyword
import re
import subprocess
import sys
from pathlib import Path, PurePath

# cookiecutter renders this line into a JSON string of every answer.
ANSWERS = json.loads({{cookiecutter | jsonify | tojson}})  # noqa: F821

SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
PACKAGE = re.compile(r"[a-z_][a-z0-9_]*")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
DATASETS = ("breast_cancer", "wine", "csv")
TASKS = ("classification", "regression")
MAX_LENGTH = 64
# Import names of the project's dependencies: a package named like one would hide it.
DEPENDENCIES = {
    "dvc", "dvclive", "numpy", "pandas", "pyarrow", "pytest", "ruff", "scipy",
    "skops", "sklearn", "yaml", "cookiecutter", "src", "tests",
}  # fmt: skip


def check_slug(slug: str) -> list[str]:
    if SLUG.fullmatch(slug) and len(slug) <= MAX_LENGTH:
        return []
    return [
        f"project_slug {slug!r} is invalid: use 1 to {MAX_LENGTH} lowercase ASCII "
        "letters and digits, in words joined by single hyphens "
        "(e.g. 'tumour-classifier')"
    ]


def check_package(name: str) -> list[str]:
    if not PACKAGE.fullmatch(name) or len(name) > MAX_LENGTH:
        return [
            f"package_name {name!r} is invalid: use 1 to {MAX_LENGTH} lowercase ASCII "
            "letters, digits and underscores, not starting with a digit "
            "(e.g. 'tumour_classifier')"
        ]
    if keyword.iskeyword(name):
        return [
            f"package_name {name!r} is a Python keyword: choose another name, "
            f"e.g. '{name}_model'"
        ]
    if name in sys.stdlib_module_names:
        return [
            f"package_name {name!r} would hide the standard-library module of that "
            f"name: choose another, e.g. '{name}_pipeline'"
        ]
    if name == "conftest" or name.startswith("test"):
        return [
            f"package_name {name!r} would be taken by pytest for a test module: "
            f"choose another, e.g. 'my_{name}'"
        ]
    if name in DEPENDENCIES:
        return [
            f"package_name {name!r} would hide the dependency or folder of that name: "
            f"choose another, e.g. '{name}_pipeline'"
        ]
    return []


def check_answers(answers: dict[str, str]) -> list[str]:
    problems = []
    if not answers["project_name"].strip():
        problems.append("project_name is empty: give the project a name")
    problems += check_slug(answers["project_slug"])
    problems += check_package(answers["package_name"])
    if not answers["author_name"].strip():
        problems.append("author_name is empty: give a name for the first Git commit")
    if not EMAIL.fullmatch(answers["author_email"]):
        problems.append(
            f"author_email {answers['author_email']!r} is not an email address: "
            "use the form name@example.com"
        )
    if answers["mlflow"] not in ("no", "yes"):
        problems.append(f"mlflow {answers['mlflow']!r} is invalid: answer no or yes")
    if answers["dataset"] not in DATASETS:
        problems.append(
            f"dataset {answers['dataset']!r} is unknown: choose one of "
            f"{', '.join(DATASETS)}"
        )
    if answers["task"] not in TASKS:
        problems.append(
            f"task {answers['task']!r} is unknown: choose one of {', '.join(TASKS)}"
        )
    elif answers["task"] == "regression" and answers["dataset"] != "csv":
        problems.append(
            f"task regression needs your own data, but dataset {answers['dataset']!r} "
            "is a bundled classification dataset: answer dataset=csv for regression, "
            "or task=classification"
        )
    return problems


# Waits for cookiecutter to delete the project folder, then removes the empty folders
# above it that a slug with "/" made it create. It runs detached because cookiecutter
# deletes the project folder only after this hook has exited.
CLEANUP = """
import os, sys, time
project, *parents = sys.argv[1:]
deadline = time.monotonic() + 30
while os.path.exists(project) and time.monotonic() < deadline:
    time.sleep(0.05)
for folder in parents:
    try:
        os.rmdir(folder)
    except OSError:
        break
"""


def remove_empty_parents_later(slug: str) -> None:
    depth = len(PurePath(slug).parts) - 1
    if depth < 1:
        return
    project = Path.cwd()
    parents = [str(project.parents[level]) for level in range(depth)]
    subprocess.Popen(
        [sys.executable, "-c", CLEANUP, str(project), *parents],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


if __name__ == "__main__":
    found = check_answers(ANSWERS)
    if found:
        listing = "\n".join(f"  - {problem}" for problem in found)
        print(
            f"error: the template's answers are invalid:\n{listing}\n"
            "Nothing was written. Run cookiecutter again with corrected answers.",
            file=sys.stderr,
        )
        remove_empty_parents_later(ANSWERS["project_slug"])
        sys.exit(1)
