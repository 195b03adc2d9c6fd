"""Bake the template; check the files, the repository and the answer checks."""

import ast
import re
import time
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import BIN, DEFAULT_PACKAGE, DEFAULT_SLUG, bake, git, run

TEXT_SUFFIXES = {".py", ".md", ".toml", ".yaml", ".yml", ".cfg", ".txt", ".lock", ""}


def project_files(project: Path) -> list[Path]:
    skipped = {".git", ".dvc", "__pycache__"}
    return [
        path
        for path in project.rglob("*")
        if path.is_file() and not skipped.intersection(path.relative_to(project).parts)
    ]


def test_bake_commits_clean_repository(baked, env):
    assert git(baked, env, "status", "--porcelain") == ""
    assert git(baked, env, "branch", "--show-current").strip() == "main"
    assert git(baked, env, "rev-list", "--count", "HEAD").strip() == "1"


def test_raw_data_tracked_by_dvc_not_git(baked, env):
    tracked = git(baked, env, "ls-files").split()
    assert "data/raw/breast_cancer.csv.dvc" in tracked
    assert "data/raw/breast_cancer.csv" not in tracked
    assert (baked / "data/raw/breast_cancer.csv").stat().st_size > 100_000
    assert not (baked / "_datasets").exists()


def test_first_commit_uses_prompt_author(baked, env):
    author = git(baked, env, "log", "-1", "--format=%an <%ae>").strip()
    assert author == "Your Name <you@example.com>"
    assert run(["git", "config", "user.name"], baked, env, check=False).stdout == ""


def test_missing_identity_explained(tmp_path, env):
    result = bake(tmp_path, env)
    assert "Git has no user name or email" in result.stderr
    assert "git config --global user.email" in result.stderr


def test_mlflow_off_leaves_no_mlflow_files(baked):
    assert not (baked / "src" / DEFAULT_PACKAGE / "tracking.py").exists()
    assert not (baked / "requirements-mlflow.lock").exists()
    lock = (baked / "requirements.lock").read_text(encoding="utf-8")
    assert "\nmlflow==" not in lock
    assert "mlflow" not in (baked / "dvc.yaml").read_text(encoding="utf-8")


def test_mlflow_bake_passes_ruff(tmp_path, env):
    bake(tmp_path, env, mlflow="yes")
    project = tmp_path / DEFAULT_SLUG
    assert (project / "src" / DEFAULT_PACKAGE / "tracking.py").exists()
    folders = ["src", "tests", "scripts"]
    run([BIN / "ruff", "check", "--no-cache", *folders], project, env)
    run([BIN / "ruff", "format", "--check", "--no-cache", *folders], project, env)


def test_no_template_syntax_left(baked):
    leftovers = []
    for path in project_files(baked):
        if path.suffix not in TEXT_SUFFIXES and path.name != "Makefile":
            continue
        # GitHub Actions expressions, ${{ ... }}, belong in the workflow.
        text = re.sub(r"\$\{\{.*?\}\}", "", path.read_text(encoding="utf-8"))
        for marker in ("{{", "{%", "cookiecutter."):
            if marker in text:
                leftovers.append(f"{path.relative_to(baked)}: {marker}")
    assert leftovers == []


def test_dvc_config_is_offline_and_autostages(baked):
    config = (baked / ".dvc" / "config").read_text(encoding="utf-8")
    assert "analytics = false" in config
    assert "autostage = true" in config


def test_pipeline_files_not_ignored(baked, env):
    paths = ["dvc.yaml", "params.yaml", "data/raw/breast_cancer.csv.dvc", ".dvc/config"]
    result = run(["git", "check-ignore", *paths], cwd=baked, env=env, check=False)
    assert result.stdout == ""


def test_dvc_yaml_pins_package_paths(baked):
    pipeline = yaml.safe_load((baked / "dvc.yaml").read_text(encoding="utf-8"))
    for stage in ("prepare", "featurize", "train", "evaluate"):
        deps = pipeline["stages"][stage]["deps"]
        assert f"src/{DEFAULT_PACKAGE}/{stage}.py" in deps
        assert all((baked / dep).exists() for dep in deps if dep.startswith("src/"))
    assert pipeline["artifacts"][f"{DEFAULT_SLUG}-model"]["type"] == "model"


def test_lock_file_pins_every_requirement(baked):
    lock = (baked / "requirements.lock").read_text(encoding="utf-8")
    project = tomllib.loads((baked / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = (
        project["project"]["dependencies"]
        + project["project"]["optional-dependencies"]["dev"]
    )
    for requirement in wanted:
        name = requirement.split(">")[0].split("<")[0].split("=")[0].strip()
        assert f"\n{name}==" in lock, name
    assert "--hash=sha256:" in lock


FREE_TEXT = {
    "project_name": 'Quote " and back\\slash',
    "description": "Line one\nline two with 'single' and \"double\" quotes",
    "author_name": 'O\'Brien "Bob" \\ Jr',
}


def test_free_text_answers_give_valid_files(tmp_path, env):
    bake(tmp_path, env, project_slug="odd-text", **FREE_TEXT)
    project = tmp_path / "odd-text"

    metadata = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert metadata["project"]["description"] == FREE_TEXT["description"]
    assert metadata["project"]["authors"][0]["name"] == FREE_TEXT["author_name"]

    pipeline = yaml.safe_load((project / "dvc.yaml").read_text(encoding="utf-8"))
    assert pipeline["artifacts"]["odd-text-model"]["desc"] == FREE_TEXT["description"]

    for path in project_files(project):
        if path.suffix == ".py":
            ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    author = git(project, env, "log", "-1", "--format=%an").strip()
    assert author == FREE_TEXT["author_name"]


def test_non_ascii_name_derives_ascii_names(tmp_path, env):
    bake(tmp_path, env, project_name="Étude 2024 — vin")
    project = tmp_path / "etude-2024-vin"
    assert (project / "src" / "etude_2024_vin" / "train.py").exists()


def test_name_starting_with_digit_gets_valid_package(tmp_path, env):
    bake(tmp_path, env, project_name="2024 study")
    assert (tmp_path / "2024-study" / "src" / "project_2024_study").is_dir()


INVALID_ANSWERS = [
    ({"project_slug": "My Project"}, "project_slug 'My Project' is invalid"),
    ({"project_slug": "café"}, "project_slug 'café' is invalid"),
    ({"project_slug": "a--b"}, "project_slug 'a--b' is invalid"),
    ({"package_name": "my-package"}, "package_name 'my-package' is invalid"),
    ({"package_name": "1st"}, "package_name '1st' is invalid"),
    ({"package_name": "class"}, "package_name 'class' is a Python keyword"),
    ({"package_name": "json"}, "would hide the standard-library module"),
    ({"package_name": "sklearn"}, "would hide the dependency or folder"),
    ({"package_name": "conftest"}, "would be taken by pytest for a test module"),
    ({"package_name": "test_model"}, "would be taken by pytest for a test module"),
    (
        {"author_email": "not-an-address"},
        "author_email 'not-an-address' is not an email",
    ),
    ({"author_name": " "}, "author_name is empty"),
    ({"project_name": " "}, "project_name is empty"),
    (
        {"task": "regression"},
        "task regression needs your own data, but dataset 'breast_cancer' is a "
        "bundled classification dataset: answer dataset=csv",
    ),
]


@pytest.mark.parametrize(("answers", "message"), INVALID_ANSWERS)
def test_invalid_answer_rejected(tmp_path, env, answers, message):
    result = bake(tmp_path, env, check=False, **answers)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Nothing was written" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "value"), [("mlflow", "maybe"), ("dataset", "iris"), ("task", "ranking")]
)
def test_unknown_choice_rejected(tmp_path, env, name, value):
    result = bake(tmp_path, env, check=False, **{name: value})
    assert result.returncode != 0
    assert f"{value} provided for choice variable {name}" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_every_invalid_answer_reported_at_once(tmp_path, env):
    result = bake(
        tmp_path, env, check=False, package_name="class", author_email="nobody"
    )
    assert "package_name 'class' is a Python keyword" in result.stderr
    assert "author_email 'nobody' is not an email" in result.stderr
    assert result.stderr.startswith("error: the template's answers are invalid")


def test_slug_with_slash_leaves_nothing(tmp_path, env):
    result = bake(tmp_path, env, check=False, project_slug="outer/inner")
    assert "project_slug 'outer/inner' is invalid" in result.stderr
    deadline = time.monotonic() + 10
    while list(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(tmp_path.iterdir()) == []


def test_bake_inside_existing_repository(tmp_path, env):
    git(tmp_path, env, "init", "--quiet")
    bake(tmp_path, env)
    project = tmp_path / DEFAULT_SLUG
    top = git(project, env, "rev-parse", "--show-toplevel").strip()
    assert Path(top).resolve() == project.resolve()
    assert git(project, env, "status", "--porcelain") == ""


def test_bake_without_git_keeps_files(tmp_path, env):
    no_git = dict(env, PATH=str(BIN))
    result = bake(tmp_path, no_git)
    project = tmp_path / DEFAULT_SLUG
    assert "git not found on PATH" in result.stderr
    assert "make setup" in result.stderr
    assert (project / "data/raw/breast_cancer.csv").exists()
    assert (project / "dvc.yaml").exists()
    assert not (project / ".git").exists()
