from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.errors import InputError
from {{ cookiecutter.package_name }}.preflight import (
    blocking_untracked,
    check_raw_data,
    experiment_commits,
    pipeline_inputs,
    push_problem,
    resolve,
    stage_outputs,
    stale_temporaries,
    untracked_message,
)

PROJECT = Path(__file__).parents[1]
PARAMS = {"data": {"raw": "data/raw/table.csv"}, "train": {"seed": 1}}


def test_resolve_interpolation():
    assert resolve("${data.raw}", PARAMS) == "data/raw/table.csv"
    assert resolve("out/${ train.seed }/model", PARAMS) == "out/1/model"


def test_resolve_missing_key_gives_none():
    assert resolve("${data.missing}", PARAMS) is None
    assert resolve("${item}", PARAMS) is None


def test_pipeline_inputs_from_stages():
    dvc_yaml = {
        "stages": {
            "prepare": {
                "deps": ["${data.raw}", "src/run_stage.py", "helpers/"],
                "params": ["data", {"extra.yaml": ["key"]}],
            },
            "each": {
                "foreach": [1, 2],
                "do": {"deps": ["data/part-${item}.csv", "src/loop.py"]},
            },
        }
    }
    assert pipeline_inputs(dvc_yaml, PARAMS) == [
        "data/raw/table.csv",
        "extra.yaml",
        "helpers",
        "src/loop.py",
        "src/run_stage.py",
    ]


def test_project_dvc_yaml_inputs():
    dvc_yaml = yaml.safe_load((PROJECT / "dvc.yaml").read_text(encoding="utf-8"))
    params = yaml.safe_load((PROJECT / "params.yaml").read_text(encoding="utf-8"))
    inputs = pipeline_inputs(dvc_yaml, params)
    assert params["data"]["raw"] in inputs
    assert "src/run_stage.py" in inputs
    assert "data/features" in inputs


def test_stage_outputs_of_each_kind():
    dvc_yaml = {
        "stages": {
            "train": {
                "outs": [
                    "models/${train.seed}.skops",
                    {"data/table": {"cache": False}},
                ],
                "metrics": [{"live/metrics.json": {"cache": False}}],
                "plots": [{"live/plots/loss.tsv": {"x": "step"}}],
            }
        }
    }
    assert stage_outputs(dvc_yaml, PARAMS) == [
        "data/table",
        "live/metrics.json",
        "live/plots/loss.tsv",
        "models/1.skops",
    ]


def test_stale_temporaries_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    left = [
        Path("data/.features.k2j4x9.tmp"),
        Path("live/.train.abc123.tmp"),
        Path("models/.model.skops.q8w1.tmp"),
    ]
    for path in left[:2]:
        path.mkdir(parents=True)
    left[2].parent.mkdir()
    left[2].write_bytes(b"partial")
    # Neither the outputs themselves nor another name's temporaries count.
    Path("data/features").mkdir()
    Path("data/.prepared.k2j4x9.tmp").mkdir()
    outputs = ["data/features", "live/train/metrics.json", "models/model.skops"]

    assert stale_temporaries(outputs) == sorted(left)


@pytest.mark.parametrize(
    "path",
    [
        "src/pkg/helpers.py",
        "src/pkg/sub/__init__.py",
        "params.yaml",
        "dvc.lock",
        "data/raw/new.csv.dvc",
        "data/raw/table.csv",
        "extra.yaml",
        "helpers/tool.py",
    ],
)
def test_untracked_input_blocks(path):
    inputs = ["data/raw/table.csv", "extra.yaml", "helpers"]
    assert blocking_untracked([path], inputs) == [path]


@pytest.mark.parametrize(
    "path", ["notes.txt", "tests/test_new.py", "helpers2/x.py", "data/raw/other.csv"]
)
def test_untracked_other_file_passes(path):
    inputs = ["data/raw/table.csv", "helpers"]
    assert blocking_untracked([path], inputs) == []


def test_message_names_files_and_fixes():
    message = untracked_message(["src/pkg/a.py", "params.yaml", "data/raw/t.csv"])
    assert "  src/pkg/a.py\n  params.yaml\n  data/raw/t.csv\n" in message
    assert "  git add src/pkg/a.py params.yaml" in message
    assert "  dvc add data/raw/t.csv && git add data/raw/t.csv.dvc" in message


def test_experiment_commits_by_name():
    baseline = "ab" + "c" * 38
    refs = [
        f"1111 refs/exps/{baseline[:2]}/{baseline[2:]}/wide-tree",
        f"2222 refs/exps/{baseline[:2]}/{baseline[2:]}/other",
        "3333 refs/exps/exec/EXEC_APPLY",
        "4444 refs/exps/apply/ORIG_HEAD",
    ]
    assert experiment_commits("wide-tree", refs) == ["1111"]
    assert experiment_commits("EXEC_APPLY", refs) == []
    assert experiment_commits("missing", refs) == []


def test_push_allowed_with_remote():
    assert push_problem("exp", None, "store", "store", ["store"]) is None


def test_push_without_any_remote():
    message = push_problem("exp", None, None, None, [])
    assert message.startswith("no DVC remote is configured")
    assert "dvc remote add -d storage PATH_OR_URL" in message


def test_push_remote_committed_after_run():
    message = push_problem("exp", None, "store", None, [])
    assert "experiment exp has no default DVC remote" in message
    assert "(remote 'store' came later)" in message
    assert "dvc remote add --local -d NAME URL" in message


def test_push_unknown_named_remote():
    message = push_problem("exp", "backup", "store", None, ["store"])
    assert "DVC remote 'backup' is not configured for experiment exp" in message
    assert "(remotes it can use: store)" in message


def test_missing_raw_file_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("params.yaml").write_text(yaml.safe_dump(PARAMS), encoding="utf-8")

    with pytest.raises(InputError) as caught:
        check_raw_data({})

    message = str(caught.value)
    assert "data.raw in params.yaml names data/raw/table.csv, which does not" in message
    assert "track it (`dvc add data/raw/table.csv`)" in message


def test_tracked_raw_file_left_to_the_pull_check(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("params.yaml").write_text(yaml.safe_dump(PARAMS), encoding="utf-8")

    check_raw_data({Path("data/raw/table.csv"): "abc"})
