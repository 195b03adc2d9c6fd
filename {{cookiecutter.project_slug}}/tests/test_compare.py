from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.compare import (
    build_table,
    differing_params,
    failure_reason,
    parse_exp_show,
    rank,
    render_markdown,
    render_text,
    report,
    short_names,
)
from {{ cookiecutter.package_name }}.params import (
    METRICS,
    CompareParams,
    ParamsError,
    load_params,
)

PROJECT_PARAMS = Path(__file__).parents[1] / "params.yaml"
SETTINGS = CompareParams(
    primary_metric="test.roc_auc",
    higher_is_better=True,
    metrics=("test.roc_auc", "test.accuracy", "test.log_loss"),
)
BASE_PARAMS = {
    "prepare": {"seed": 42},
    "train": {"model": "random_forest", "random_forest": {"n_estimators": 100}},
    "compare": {"primary_metric": "test.roc_auc"},
}


def params_with(**train) -> dict:
    """Return BASE_PARAMS with the forest's params replaced by ``train``."""
    forest = {**BASE_PARAMS["train"]["random_forest"], **train}
    return {**BASE_PARAMS, "train": {**BASE_PARAMS["train"], "random_forest": forest}}


def scores(roc_auc: float, accuracy: float = 0.9, log_loss: float = 0.2) -> dict:
    return {
        "dvclive/train/metrics.json": {"data": {"rows": 455}},
        "dvclive/evaluate/metrics.json": {
            "data": {
                "test": {
                    "roc_auc": roc_auc,
                    "accuracy": accuracy,
                    "log_loss": log_loss,
                },
                "train": {"roc_auc": 1.0},
            }
        },
    }


def rev(params: dict, metrics: dict, error: dict | None = None) -> dict:
    return {
        "rev": "0" * 40,
        "error": error,
        "data": {
            "params": {"params.yaml": {"data": params}},
            "metrics": metrics,
        },
    }


def experiment(name, params, metrics, state="success", log=None) -> dict:
    error = {"msg": "Experiment run failed", "type": ""} if state == "failed" else None
    return {
        "name": name,
        "executor": {"state": state, "local": {"log": log}},
        "revs": [rev(params, metrics, error)],
    }


def document(*experiments: dict) -> list[dict]:
    """Return `dvc exp show --json` output: the workspace, then main and its runs."""
    workspace = {**rev(BASE_PARAMS, scores(0.5)), "rev": "workspace", "name": None}
    main = {
        **rev(BASE_PARAMS, scores(0.95)),
        "rev": "a" * 40,
        "name": "main",
        "experiments": list(experiments),
    }
    return [workspace, main]


SWEEP = document(
    experiment("small", params_with(n_estimators=50), scores(0.97)),
    experiment("large", params_with(n_estimators=200), scores(0.99)),
    # A failed queued run carries its baseline's metrics files: scores(0.95).
    experiment(
        "broken", params_with(n_estimators=0), scores(0.95), "failed", "/no/log"
    ),
    experiment("waiting", params_with(n_estimators=300), scores(0.95), "queued"),
)
BROKEN_LOG = """\
Reproducing experiment 'broken'
Running stage 'train':
> python src/run_stage.py train
error: params.yaml has invalid params:
  - train.random_forest.n_estimators is 0; allowed: an integer of at least 1
ERROR: failed to reproduce 'train': failed to run: python src/run_stage.py train, \
exited with 1
ERROR: failed to reproduce 'train': failed to run: python src/run_stage.py train, \
exited with 1
"""


def test_parse_leaves_out_workspace():
    rows = parse_exp_show(SWEEP)
    assert [row.name for row in rows] == ["main", "small", "large", "broken", "waiting"]
    assert rows[0].is_baseline
    assert not any(row.is_baseline for row in rows[1:])
    assert {row.baseline for row in rows} == {"main"}


def test_parse_flattens_params_and_metrics():
    small = parse_exp_show(SWEEP)[1]
    assert small.params["train.random_forest.n_estimators"] == 50
    assert small.metrics["test.roc_auc"] == 0.97
    assert small.metrics["rows"] == 455
    assert small.state == "success"


def test_failed_run_has_no_baseline_metrics():
    broken = parse_exp_show(SWEEP)[3]
    assert broken.state == "failed"
    assert broken.metrics == {}
    assert broken.log_path == "/no/log"
    assert broken.error == "Experiment run failed"


def test_error_without_failed_state_counts_as_failed():
    row = experiment("odd", BASE_PARAMS, scores(0.9), "success")
    row["revs"][0]["error"] = {"msg": "failed to collect metrics", "type": ""}
    parsed = parse_exp_show(document(row))[1]
    assert parsed.state == "failed"
    assert parsed.metrics == {}


def test_unnamed_experiment_gets_short_rev():
    row = experiment(None, BASE_PARAMS, scores(0.9))
    row["revs"][0]["rev"] = "1234567890" * 4
    assert parse_exp_show(document(row))[1].name == "1234567"


def test_differing_params_only():
    rows = parse_exp_show(SWEEP)
    assert differing_params(rows) == ["train.random_forest.n_estimators"]


def test_key_added_in_one_run_differs():
    added = {**BASE_PARAMS, "train": {**BASE_PARAMS["train"], "bogus": 1}}
    rows = parse_exp_show(document(experiment("plus", added, scores(0.9), "failed")))
    assert differing_params(rows) == ["train.bogus"]


def test_compare_section_never_differs():
    changed = {**BASE_PARAMS, "compare": {"primary_metric": "test.f1"}}
    rows = parse_exp_show(document(experiment("other", changed, scores(0.9))))
    assert differing_params(rows) == []


def test_rank_highest_first_then_unranked():
    ranked = rank(parse_exp_show(SWEEP), "test.roc_auc", higher_is_better=True)
    assert [row.name for row in ranked] == [
        "large",
        "small",
        "main",
        "waiting",
        "broken",
    ]


def test_rank_lowest_first_for_a_loss():
    sweep = document(
        experiment("a", params_with(n_estimators=1), scores(0.9, log_loss=0.3)),
        experiment("b", params_with(n_estimators=2), scores(0.9, log_loss=0.1)),
    )
    ranked = rank(parse_exp_show(sweep), "test.log_loss", higher_is_better=False)
    assert [row.name for row in ranked] == ["b", "main", "a"]


def test_rank_ties_put_baseline_first():
    tie = document(experiment("same", params_with(n_estimators=7), scores(0.95)))
    ranked = rank(parse_exp_show(tie), "test.roc_auc", higher_is_better=True)
    assert [row.name for row in ranked] == ["main", "same"]


def test_reason_from_stage_error():
    assert failure_reason(BROKEN_LOG) == [
        "stage train: params.yaml has invalid params:",
        "  - train.random_forest.n_estimators is 0; allowed: an integer of at least 1",
    ]


def test_reason_from_traceback():
    log = (
        "Running stage 'train':\n"
        "Traceback (most recent call last):\n"
        '  File "src/run_stage.py", line 19, in <module>\n'
        "ImportError: cannot import name 'helpers' from 'pkg'\n"
        "ERROR: failed to reproduce 'train': failed to run: python x, exited with 1\n"
    )
    assert failure_reason(log) == [
        "stage train: ImportError: cannot import name 'helpers' from 'pkg'"
    ]


def test_reason_from_dvc_error_only():
    log = "ERROR: unexpected error - out of disk space\n"
    assert failure_reason(log) == ["unexpected error - out of disk space"]


@pytest.mark.parametrize("log", [None, "", "Reproducing experiment 'x'\n"])
def test_no_reason_in_log(log):
    assert failure_reason(log) == []


def test_short_names_unique_suffix():
    names = short_names(
        ["train.random_forest.n_estimators", "prepare.seed", "train.seed"]
    )
    assert names == {
        "train.random_forest.n_estimators": "n_estimators",
        "prepare.seed": "prepare.seed",
        "train.seed": "train.seed",
    }


def test_text_table_ranks_and_marks_failures():
    table, absent = build_table(parse_exp_show(SWEEP), SETTINGS)
    text, dropped = render_text(table)
    lines = text.splitlines()
    assert lines[0].split() == [
        "experiment",
        "n_estimators",
        "roc_auc",
        "accuracy",
        "log_loss",
    ]
    assert [line.split()[0] for line in lines[1:]] == [
        "large",
        "small",
        "main",
        "waiting",
        "broken",
    ]
    assert lines[5].split() == ["broken", "0", "failed", "-", "-"]
    assert lines[4].split() == ["waiting", "300", "queued", "-", "-"]
    assert absent == []
    assert dropped == []


def test_wide_table_fits_80_columns():
    many = {f"option_number_{index}": index for index in range(12)}
    wide = {**BASE_PARAMS, "train": {**BASE_PARAMS["train"], **many}}
    rows = parse_exp_show(
        document(experiment("a-rather-long-experiment-name", wide, scores(0.9)))
    )
    table, _ = build_table(rows, SETTINGS)
    text, dropped = render_text(table, width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "roc_auc" in text.splitlines()[0]
    assert "test.accuracy" in dropped
    assert "train.option_number_11" in dropped


def test_markdown_has_full_keys():
    table, _ = build_table(parse_exp_show(SWEEP), SETTINGS)
    lines = render_markdown(table).splitlines()
    assert lines[0] == (
        "| experiment | train.random_forest.n_estimators | test.roc_auc "
        "| test.accuracy | test.log_loss |"
    )
    assert lines[1] == "|---|---:|---:|---:|---:|"
    assert lines[2] == "| large | 200 | 0.9900 | 0.9000 | 0.2000 |"


def test_markdown_escapes_pipes():
    named = {**BASE_PARAMS, "train": {**BASE_PARAMS["train"], "model": "a|b"}}
    table, _ = build_table(
        parse_exp_show(document(experiment("x", named, scores(0.9)))), SETTINGS
    )
    assert "a\\|b" in render_markdown(table)


def test_report_gives_failure_reason():
    text = report(SWEEP, SETTINGS, {"broken": BROKEN_LOG})
    assert text.splitlines()[0] == (
        "4 experiments of main, ranked by test.roc_auc (highest first):"
    )
    assert "broken failed:" in text
    assert "stage train: params.yaml has invalid params:" in text
    assert "full log: dvc queue logs broken" in text
    broken_row = next(line for line in text.splitlines() if line.startswith("broken "))
    assert "0.9500" not in broken_row


def test_report_without_log_names_command():
    text = report(SWEEP, SETTINGS, {})
    assert "  Experiment run failed" in text
    assert "full log: dvc queue logs broken" in text


def test_failed_baseline_has_no_queue_log():
    sweep = document()
    sweep[1]["error"] = {"msg": "unable to read params.yaml", "type": "YAMLError"}
    text = report(sweep, SETTINGS, {})
    assert "main failed:\n  unable to read params.yaml" in text
    assert "dvc queue logs" not in text


def test_report_markdown_lists_failures():
    text = report(SWEEP, SETTINGS, {"broken": BROKEN_LOG}, markdown=True)
    assert "- **broken** failed: stage train: params.yaml has invalid params:" in text
    assert "  (full log: `dvc queue logs broken`)" in text


def test_report_without_experiments_suggests_sweep():
    text = report(document(), SETTINGS, {})
    assert "No experiments yet" in text
    assert "make sweep" in text


def test_report_names_absent_metric():
    settings = CompareParams("test.roc_auc", True, ("test.roc_auc", "test.f1"))
    assert "No row has these metrics: test.f1." in report(SWEEP, settings, {})


def write_params(tmp_path: Path, **compare) -> Path:
    document = yaml.safe_load(PROJECT_PARAMS.read_text(encoding="utf-8"))
    document["compare"].update(compare)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def compare_error(tmp_path: Path, **compare) -> str:
    with pytest.raises(ParamsError) as caught:
        load_params("compare", path=write_params(tmp_path, **compare))
    return str(caught.value)


def test_project_compare_section_valid():
    settings = load_params("compare", path=PROJECT_PARAMS)["compare"]
    assert settings.primary_metric in METRICS
    assert settings.metrics[0] == settings.primary_metric


def test_unknown_primary_metric_lists_allowed(tmp_path):
    message = compare_error(tmp_path, primary_metric="test.auc")
    assert f"compare.primary_metric is 'test.auc'; allowed: one of {METRICS[0]}" in (
        message
    )


def test_higher_is_better_must_be_bool(tmp_path):
    message = compare_error(tmp_path, higher_is_better="yes please")
    assert "compare.higher_is_better is 'yes please'; allowed: true, or false" in (
        message
    )


def test_metrics_must_be_known(tmp_path):
    message = compare_error(tmp_path, metrics=["test.roc_auc", "test.speed"])
    assert "compare.metrics is a list; allowed: a list of one or more of" in message


def test_metrics_must_be_list(tmp_path):
    message = compare_error(tmp_path, metrics="test.roc_auc")
    assert "compare.metrics is 'test.roc_auc'; allowed: a list" in message


def test_empty_metrics_rejected(tmp_path):
    assert "compare.metrics is a list; allowed" in compare_error(tmp_path, metrics=[])
