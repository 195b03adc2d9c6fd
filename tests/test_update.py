"""A baked project follows its template with cruft.

Each test copies the template into a Git repository of its own (version 1), bakes
from it, and changes it there when it needs a version 2.
"""

import json
import shutil
from pathlib import Path

import pytest
from conftest import BIN, DEFAULT_SLUG, TEMPLATE, dvc, git, run

TEMPLATE_FILES = ["cookiecutter.json", "hooks", "{{cookiecutter.project_slug}}"]


def copy_template(folder: Path) -> Path:
    folder.mkdir()
    for name in TEMPLATE_FILES:
        source = TEMPLATE / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(source, folder / name, ignore=ignore)
        else:
            shutil.copy2(source, folder / name)
    return folder


def template_repository(folder: Path, env: dict[str, str]) -> tuple[Path, str]:
    """Copy the template into a new Git repository; return it and its commit."""
    copy_template(folder)
    git(folder, env, "init", "--quiet")
    git(folder, env, "add", "--all")
    git(folder, env, "commit", "--quiet", "-m", "Template version 1")
    return folder, git(folder, env, "rev-parse", "HEAD").strip()


def cruft_state(project: Path, env: dict[str, str]) -> dict:
    """Return .cruft.json as committed in the project's first commit."""
    text = git(project, env, "show", "main:.cruft.json")
    return json.loads(text)


@pytest.mark.slow
def test_cruft_update_brings_a_new_template_version(tmp_path, env):
    template, first = template_repository(tmp_path / "template", env)
    output = tmp_path / "projects"
    output.mkdir()
    # A relative template path, as `cookiecutter ../template` would be typed.
    command = [BIN / "cookiecutter", "--no-input", "--output-dir", output]
    run([*command, "template", "dataset=wine"], cwd=tmp_path, env=env)
    project = output / DEFAULT_SLUG
    state = cruft_state(project, env)
    up_to_date = run([BIN / "cruft", "check"], cwd=project, env=env, check=False)

    makefile = template / "{{cookiecutter.project_slug}}" / "Makefile"
    with makefile.open("a", encoding="utf-8") as file:
        file.write("\nversion:  ## Print the template version\n\t@echo template-v2\n")
    readme = template / "{{cookiecutter.project_slug}}" / "README.md"
    with readme.open("a", encoding="utf-8") as file:
        file.write("\nThis line arrived with template version 2.\n")
    git(template, env, "commit", "--quiet", "--all", "-m", "Template version 2")
    second = git(template, env, "rev-parse", "HEAD").strip()
    out_of_date = run([BIN / "cruft", "check"], cwd=project, env=env, check=False)
    update = [BIN / "cruft", "update", "--skip-apply-ask", "--allow-untracked-files"]
    run(update, cwd=project, env=env)

    assert state["template"] == str(template)
    assert state["commit"] == first
    assert state["context"]["cookiecutter"]["dataset"] == "wine"
    assert up_to_date.returncode == 0
    assert out_of_date.returncode == 1
    assert "template version 2" in (project / "README.md").read_text("utf-8")
    version = run(["make", "--silent", "version"], cwd=project, env=env)
    assert version.stdout == "template-v2\n"
    updated = json.loads((project / ".cruft.json").read_text("utf-8"))
    assert updated["commit"] == second
    assert updated["context"]["cookiecutter"]["dataset"] == "wine"
    assert "data/raw/wine.csv" in (project / "params.yaml").read_text("utf-8")
    dvc(project, env, "repro", "--quiet")
    assert (project / "models" / "model.skops").is_file()


def test_cruft_create_and_cookiecutter_commit_the_same_state(tmp_path, env):
    template, _ = template_repository(tmp_path / "template", env)
    for tool in ("cookiecutter", "cruft"):
        output = tmp_path / tool
        output.mkdir()
        create = [] if tool == "cookiecutter" else ["create"]
        command = [BIN / tool, *create, "--no-input", "--output-dir", output]
        run([*command, template], cwd=tmp_path, env=env)

    by_cookiecutter = tmp_path / "cookiecutter" / DEFAULT_SLUG / ".cruft.json"
    by_cruft = tmp_path / "cruft" / DEFAULT_SLUG / ".cruft.json"
    assert by_cruft.read_text("utf-8") == by_cookiecutter.read_text("utf-8")
    status = git(tmp_path / "cruft" / DEFAULT_SLUG, env, "status", "--porcelain")
    assert status == ""


def test_cruft_state_needs_git_template(tmp_path, env):
    template = copy_template(tmp_path / "template")
    output = tmp_path / "projects"
    output.mkdir()

    command = [BIN / "cookiecutter", "--no-input", "--output-dir", output, template]
    result = run(command, cwd=tmp_path, env=env)

    assert not (output / DEFAULT_SLUG / ".cruft.json").exists()
    assert f"the template {template} is not a Git repository" in result.stderr
    assert "cruft link TEMPLATE_URL" in result.stderr
