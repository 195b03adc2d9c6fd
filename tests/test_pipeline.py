"""Run the baked pipeline with real DVC: repro, experiments, metrics, plots."""

import json
import shutil
import sys

import pytest
import yaml
from conftest import BIN, DEFAULT_PACKAGE, bake, dvc, git, run

METRIC_NAMES = {
    "accuracy",
    "average_precision",
    "balanced_accuracy",
    "f1",
    "log_loss",
    "roc_auc",
}


def metrics(project, env) -> dict:
    shown = json.loads(dvc(project, env, "metrics", "show", "--json").stdout)
    return shown[""]["data"]["dvclive/evaluate/metrics.json"]["data"]


def test_repro_reaches_high_accuracy(reproduced, env):
    scores = metrics(reproduced, env)
    assert set(scores) == {"train", "test"}
    assert set(scores["test"]) == METRIC_NAMES
    assert set(scores["train"]) == METRIC_NAMES
    assert scores["test"]["accuracy"] > 0.9


def test_repro_leaves_clean_tree(reproduced, env):
    assert git(reproduced, env, "status", "--porcelain") == ""
    tracked = git(reproduced, env, "ls-files").split()
    assert "dvclive/evaluate/metrics.json" in tracked
    assert "dvc.lock" in tracked
    assert "models/model.skops" not in tracked
    assert "data/features/train.npz" not in tracked


def test_second_repro_changes_nothing(reproduced, env):
    result = dvc(reproduced, env, "repro")
    assert "Data and pipelines are up to date." in result.stdout
    assert "Running stage" not in result.stdout


def test_stages_print_no_warnings(reproduced_copy, env):
    result = dvc(reproduced_copy, env, "repro", "--force")
    assert "warning" not in result.stderr.lower()
    assert "warning" not in result.stdout.lower()
    assert "Traceback" not in result.stderr


def test_repro_does_not_rewrite_dvc_yaml(reproduced, env):
    assert git(reproduced, env, "diff", "HEAD~1", "--stat", "--", "dvc.yaml") == ""


def test_train_param_reruns_train_and_evaluate_only(reproduced_copy, env):
    params_file = reproduced_copy / "params.yaml"
    params_file.write_text(
        params_file.read_text(encoding="utf-8").replace(
            "n_estimators: 100", "n_estimators: 30"
        ),
        encoding="utf-8",
    )
    output = dvc(reproduced_copy, env, "repro").stdout
    assert "Running stage 'train'" in output
    assert "Running stage 'evaluate'" in output
    assert "Running stage 'prepare'" not in output
    assert "Running stage 'featurize'" not in output


def test_exp_run_shows_new_experiment(reproduced_copy, env):
    dvc(reproduced_copy, env, "exp", "run", "-S", "train.model=logistic_regression")
    table = json.loads(dvc(reproduced_copy, env, "exp", "show", "--json").stdout)
    baseline = next(row for row in table if row["name"] == "main")
    experiments = baseline["experiments"]
    assert len(experiments) == 1
    data = experiments[0]["revs"][0]["data"]
    assert (
        data["params"]["params.yaml"]["data"]["train"]["model"] == "logistic_regression"
    )
    scores = data["metrics"]["dvclive/evaluate/metrics.json"]["data"]
    assert scores["test"]["accuracy"] > 0.9


def test_exp_run_rejects_bad_param_plainly(reproduced_copy, env):
    result = dvc(
        reproduced_copy, env, "exp", "run", "-S", "prepare.test_size=1.5", check=False
    )
    assert result.returncode != 0
    message = "prepare.test_size is 1.5; allowed: a number between 0 and 1, exclusive"
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_raw_data_names_fix(reproduced_copy, env):
    (reproduced_copy / "data/raw/breast_cancer.csv").unlink()
    result = dvc(reproduced_copy, env, "repro", check=False)
    assert result.returncode != 0
    assert "missing data 'source': data/raw/breast_cancer.csv" in result.stderr

    stage = [sys.executable, "src/run_stage.py", "prepare"]
    result = run(stage, reproduced_copy, env, check=False)
    assert result.returncode == 1
    assert "raw data file data/raw/breast_cancer.csv not found" in result.stderr
    assert "dvc checkout data/raw/breast_cancer.csv" in result.stderr
    assert "Traceback" not in result.stderr


def test_same_bytes_after_cold_rerun(reproduced_copy, env):
    lock_before = (reproduced_copy / "dvc.lock").read_bytes()
    shutil.rmtree(reproduced_copy / ".dvc" / "cache")
    dvc(reproduced_copy, env, "repro", "--force")
    assert (reproduced_copy / "dvc.lock").read_bytes() == lock_before
    assert git(reproduced_copy, env, "status", "--porcelain") == ""


def test_plot_files_are_strict_json(reproduced):
    plots = reproduced / "dvclive/evaluate/plots"
    files = sorted(plots.rglob("*.json"))
    names = [path.relative_to(plots).as_posix() for path in files]
    assert names == [
        "confusion_matrix.json",
        "importance.json",
        "precision_recall/malignant.json",
        "roc/malignant.json",
    ]
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "Infinity" not in text, path
        assert "NaN" not in text, path
        assert "\r" not in text, path
        json.loads(text)


def test_plots_render(reproduced, env):
    shown = json.loads(dvc(reproduced, env, "plots", "show", "--json").stdout)
    assert "errors" not in shown
    assert sorted(shown["data"]) == [
        "Training log loss",
        "Validation accuracy",
        "dvclive/evaluate/plots/confusion_matrix.json",
        "dvclive/evaluate/plots/importance.json",
        "dvclive/evaluate/plots/precision_recall/malignant.json",
        "dvclive/evaluate/plots/roc/malignant.json",
    ]


@pytest.mark.slow
def test_training_curves_compare_across_experiments(reproduced_copy, env):
    for model in ("mlp", "gradient_boosting"):
        dvc(reproduced_copy, env, "exp", "run", "-S", f"train.model={model}")
    experiments = dvc(reproduced_copy, env, "exp", "ls", "--name-only").stdout.split()
    assert len(experiments) == 2

    diff = dvc(reproduced_copy, env, "plots", "diff", "--json", *experiments).stdout
    shown = json.loads(diff)
    assert "errors" not in shown
    for title in ("Training log loss", "Validation accuracy"):
        revisions = {
            revision
            for chart in shown["data"][title]
            for revision in chart["revisions"]
        }
        assert revisions == set(experiments), title
    curve = reproduced_copy / "dvclive/train/plots/metrics/validation/log_loss.tsv"
    rows = curve.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "step\tlog_loss"
    assert len(rows) > 3


@pytest.mark.slow
def test_baked_project_tests_and_lint_pass(baked, env):
    run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], baked, env)
    run([BIN / "ruff", "check", "--no-cache", "src", "tests", "scripts"], baked, env)
    run([BIN / "ruff", "format", "--check", "--no-cache", "src", "tests"], baked, env)


@pytest.mark.slow
def test_wine_multiclass_pipeline(tmp_path, env):
    bake(tmp_path, env, dataset="wine", project_name="Wine cultivars")
    project = tmp_path / "wine-cultivars"
    dvc(project, env, "repro")
    scores = metrics(project, env)
    assert scores["test"]["accuracy"] > 0.9
    assert set(scores["test"]) == METRIC_NAMES
    roc = sorted(
        path.name for path in (project / "dvclive/evaluate/plots/roc").iterdir()
    )
    assert roc == ["class_0.json", "class_1.json", "class_2.json"]


def test_stage_modules_match_package(baked):
    pipeline = yaml.safe_load((baked / "dvc.yaml").read_text(encoding="utf-8"))
    commands = [stage["cmd"] for stage in pipeline["stages"].values()]
    assert commands == [
        f"python src/run_stage.py {stage}"
        for stage in ("prepare", "featurize", "train", "evaluate")
    ]
    assert f'PACKAGE = "{DEFAULT_PACKAGE}"' in (baked / "src/run_stage.py").read_text(
        encoding="utf-8"
    )
