"""The MLflow choice: each evaluation is also an MLflow run in a local store.

The baked project installs its own environment with `make setup` because mlflow
requires an older pyarrow than the default lock pins.
"""

import os
import socket
import subprocess
import time
import urllib.request

import pytest
from conftest import DEFAULT_SLUG, bake, git, run, run_queue

# The tests share one baked project, so one pytest-xdist worker runs them all.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mlflow")]

READ_BACK = """
import sys
import mlflow
import mlflow.sklearn
import numpy as np

mlflow.set_tracking_uri("sqlite:///mlflow.db")
runs = mlflow.search_runs(experiment_names=[sys.argv[1]], order_by=["start_time"])
print(len(runs))
first = runs.iloc[0]
print(first["params.train.model"], first["metrics.test_accuracy"])
print(first["tags.git_commit"])
model = mlflow.sklearn.load_model(f"runs:/{first.run_id}/model")
features = np.load("data/features/test.npz")["dense"]
predicted = model.predict(features)
print(sorted(set(predicted)))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Session scope: pytest-xdist may interleave other modules' tests on this worker,
# which would tear down and rebuild a module-scoped project.
@pytest.fixture(scope="session")
def mlflow_project(tmp_path_factory, env):
    """A project baked with MLflow on, set up with `make setup`, after `dvc repro`."""
    output = tmp_path_factory.mktemp("mlflow")
    bake(output, env, mlflow="yes")
    project = output / DEFAULT_SLUG
    run(["make", "setup"], project, env)
    project_env = dict(
        env,
        PATH=f"{project / '.venv' / 'bin'}{os.pathsep}{env['PATH']}",
        MLFLOW_DISABLE_TELEMETRY="true",
    )
    run(["git", "config", "user.name", "Test Runner"], project, env)
    run(["git", "config", "user.email", "test@example.com"], project, env)
    run(["dvc", "repro"], project, project_env)
    return project, project_env


def read_back(project, project_env) -> list[str]:
    python = project / ".venv" / "bin" / "python"
    result = run([python, "-c", READ_BACK, DEFAULT_SLUG], project, project_env)
    return result.stdout.strip().splitlines()[-4:]


def test_run_reads_back_from_store(mlflow_project):
    project, project_env = mlflow_project
    count, model_line, commit, classes = read_back(project, project_env)
    assert int(count) >= 1
    model_name, accuracy = model_line.split()
    assert model_name == "random_forest"
    assert float(accuracy) > 0.9
    assert commit == git(project, project_env, "rev-parse", "HEAD").strip()
    assert classes == "['benign', 'malignant']"


def test_queued_run_logs_to_project_store(mlflow_project):
    project, project_env = mlflow_project
    runs_before = int(read_back(project, project_env)[0])
    git(project, project_env, "add", "--all")
    git(project, project_env, "commit", "--quiet", "-m", "Run the pipeline")
    sweep = "train.random_forest.n_estimators=20"
    run(["dvc", "exp", "run", "--queue", "-S", sweep], project, project_env)
    status = run_queue(project, project_env, ["dvc", "queue", "start"], timeout=300)
    assert "Success" in status
    assert int(read_back(project, project_env)[0]) == runs_before + 1


def test_store_stays_out_of_git(mlflow_project):
    project, project_env = mlflow_project
    assert (project / "mlflow.db").exists()
    assert (project / "mlruns").is_dir()
    ignored = run(["git", "check-ignore", "mlflow.db", "mlruns"], project, project_env)
    assert ignored.stdout.split() == ["mlflow.db", "mlruns"]


def test_ui_serves_on_loopback(mlflow_project):
    project, project_env = mlflow_project
    port = free_port()
    server = subprocess.Popen(
        ["make", "mlflow-ui", f"MLFLOW_PORT={port}"],
        cwd=project,
        env=project_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and status is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health") as reply:
                    status = reply.status
            except OSError:
                time.sleep(0.5)
        assert status == 200
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
