"""Queue eight experiments, run them two at a time, and compare with a plain run."""

import json
import shutil

import pytest
from conftest import BIN, DEFAULT_SLUG, dvc, run_queue

# The tests share one queue, so one pytest-xdist worker runs them all.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("queue")]

SIZES = [10, 20, 30, 40, 50, 60, 70, 80]


def experiments(project, env) -> dict[str, dict]:
    """Return each experiment of HEAD by name: its params, metrics and output hashes."""
    table = json.loads(dvc(project, env, "exp", "show", "--json").stdout)
    rows = {}
    for baseline in table:
        for experiment in baseline.get("experiments") or []:
            rows[experiment["name"]] = experiment["revs"][0]
    return rows


def n_estimators(row: dict) -> int:
    params = row["data"]["params"]["params.yaml"]["data"]
    return params["train"]["random_forest"]["n_estimators"]


# Session scope: pytest-xdist may interleave other modules' tests on this worker,
# which would tear down and run a module-scoped queue again.
@pytest.fixture(scope="session")
def queued(reproduced, tmp_path_factory, env):
    """A copy of the reproduced project after a queue of eight runs on two workers."""
    project = tmp_path_factory.mktemp("queued") / DEFAULT_SLUG
    shutil.copytree(reproduced, project, symlinks=True)
    sweep = "train.random_forest.n_estimators=" + ",".join(map(str, SIZES))
    dvc(project, env, "exp", "run", "--queue", "-S", sweep)
    run_queue(project, env, [BIN / "dvc", "queue", "start", "--jobs", "2"])
    return project


def test_eight_queued_experiments_succeed(queued, env):
    status = dvc(queued, env, "queue", "status").stdout
    assert status.count("Success") == len(SIZES), status
    rows = experiments(queued, env)
    assert sorted(n_estimators(row) for row in rows.values()) == SIZES
    for row in rows.values():
        scores = row["data"]["metrics"]["dvclive/evaluate/metrics.json"]["data"]
        assert scores["test"]["accuracy"] > 0.9


def test_plain_run_matches_queued_run(queued, env):
    queued_rows = {n_estimators(row): row for row in experiments(queued, env).values()}
    shutil.rmtree(queued / ".dvc" / "cache" / "runs")
    dvc(queued, env, "exp", "run", "-S", "train.random_forest.n_estimators=30")

    plain = json.loads((queued / "dvclive/evaluate/metrics.json").read_text("utf-8"))
    queued_row = queued_rows[30]["data"]
    queued_metrics = queued_row["metrics"]["dvclive/evaluate/metrics.json"]["data"]
    assert plain == queued_metrics
    lock = (queued / "dvc.lock").read_text(encoding="utf-8")
    assert queued_row["outs"]["models/model.skops"]["hash"] in lock
