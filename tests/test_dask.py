"""Train on a real Dask cluster (a scheduler and two workers on 127.0.0.1).

The results must have the bytes of a local run, and a scheduler that cannot be
used must stop train with a message that names DASK_SCHEDULER_ADDRESS and the fix.
"""

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BIN, DEFAULT_PACKAGE, dvc, run

VARIABLE = "DASK_SCHEDULER_ADDRESS"
TASKS_LINE = re.compile(r"Dask ran (\d+) task\(s\) on (\d+) worker\(s\): (.*)")
COMPARED_FILES = [
    "models/model.skops",
    "dvc.lock",
    "dvclive/train/metrics.json",
    "dvclive/evaluate/metrics.json",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(command: list, log: Path, env: dict[str, str]) -> subprocess.Popen:
    """Start ``command`` in its own process group, so that stop() ends its children."""
    with log.open("w", encoding="utf-8") as output:
        return subprocess.Popen(
            [str(part) for part in command],
            cwd=log.parent,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start_scheduler(folder: Path, env: dict[str, str], processes: list) -> str:
    """Start `dask scheduler` on 127.0.0.1; return its address.

    Its HTTP server (health checks and metrics) listens even with --no-dashboard, on
    every interface unless --dashboard-address names one.
    """
    port = free_port()
    command = [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", port]
    command += ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
    processes.append(start(command, folder / "scheduler.log", env))
    return f"tcp://127.0.0.1:{port}"


def wait_for_workers(address: str, count: int) -> list[str]:
    """Wait until the scheduler responds and has ``count`` workers; return theirs."""
    from distributed import Client

    with Client(address, timeout=60, set_as_default=False) as client:
        if count:
            client.wait_for_workers(count, timeout=120)
        return sorted(client.nthreads())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, env):
    """A scheduler and two one-thread workers; yields (address, worker addresses)."""
    folder = tmp_path_factory.mktemp("dask")
    processes: list[subprocess.Popen] = []
    try:
        address = start_scheduler(folder, env, processes)
        for name in ("worker-1", "worker-2"):
            (folder / name).mkdir()
            command = [BIN / "dask", "worker", address, "--nthreads", 1]
            command += ["--host", "127.0.0.1", "--name", name, "--no-dashboard"]
            command += ["--dashboard-address", "127.0.0.1:0"]
            command += ["--local-directory", folder / name]
            processes.append(start(command, folder / f"{name}.log", env))
        yield address, wait_for_workers(address, 2)
    finally:
        stop(processes)


def with_address(env: dict[str, str], address: str) -> dict[str, str]:
    return {**env, VARIABLE: address}


def train(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [BIN / "python", "src/run_stage.py", "train"]
    return run(command, cwd=project, env=env, check=False)


@pytest.mark.slow
def test_dask_run_matches_local_run(cluster, reproduced, reproduced_copy, env):
    address, workers = cluster

    result = dvc(reproduced_copy, with_address(env, address), "repro", "--force")

    output = result.stdout + result.stderr
    assert f"fitting on the Dask cluster at {address}: 2 worker(s)" in output
    tasks = TASKS_LINE.search(output)
    assert tasks, output
    counts = dict(
        re.fullmatch(r"(\S+) (\d+)", part).groups()
        for part in tasks.group(3).split(", ")
    )
    assert sorted(counts) == workers
    assert all(int(count) > 0 for count in counts.values())
    for name in COMPARED_FILES:
        local = (reproduced / name).read_bytes()
        assert (reproduced_copy / name).read_bytes() == local, name


@pytest.mark.slow
def test_local_train_does_not_import_distributed(reproduced_copy, env):
    """Without the variable, train imports neither distributed nor joblib's backend.

    dask itself is imported: skops imports every scikit-learn module to list the
    types it trusts, and scikit-learn's array API layer imports dask.array if present.
    """
    command = [BIN / "python", "-X", "importtime", "src/run_stage.py", "train"]
    result = run(command, cwd=reproduced_copy, env=env)

    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert "joblib.parallel" in imported  # the list includes scikit-learn's imports
    assert "joblib._dask" not in imported
    assert not [name for name in imported if name.split(".")[0] == "distributed"]


@pytest.mark.parametrize(
    ("address", "fix"),
    [
        ("127.0.0.1:8786", "Write it as tcp://127.0.0.1:8786"),
        ("tls://127.0.0.1:8786", "Set it to the address that `dask scheduler` prints"),
        ("tcp://127.0.0.1", "Set it to the address that `dask scheduler` prints"),
    ],
)
def test_address_that_is_not_tcp_is_rejected(reproduced_copy, env, address, fix):
    result = train(reproduced_copy, with_address(env, address))

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"error: {VARIABLE}={address!r} is not a Dask scheduler address: expected "
        f"tcp://HOST:PORT, such as tcp://127.0.0.1:8786. {fix}, or unset {VARIABLE} "
        "to train on this machine."
    )


@pytest.mark.slow
def test_unreachable_scheduler_times_out_in_10_s(reproduced_copy, env):
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there

    result = train(reproduced_copy, with_address(env, address))

    assert result.returncode == 1
    message = result.stderr.splitlines()[-1]
    assert message.startswith(
        f"error: connecting to the Dask scheduler at {VARIABLE}={address!r} failed: "
    )
    assert "after 10 s" in message
    assert message.endswith(
        "Start one with `dask scheduler` and set the variable to the address it "
        f"prints, or unset {VARIABLE} to train on this machine."
    )
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_scheduler_without_workers_is_reported(baked, tmp_path, env):
    processes: list[subprocess.Popen] = []
    try:
        address = start_scheduler(tmp_path, env, processes)
        wait_for_workers(address, 0)
        script = (
            f"from {DEFAULT_PACKAGE} import parallel\n"
            "with parallel.dask_backend(worker_timeout=1):\n"
            "    pass\n"
        )
        env = {**with_address(env, address), "PYTHONPATH": str(baked / "src")}
        result = run([sys.executable, "-c", script], cwd=tmp_path, env=env, check=False)
    finally:
        stop(processes)

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].endswith(
        f"ClusterError: the Dask scheduler at {VARIABLE}={address!r} has no worker "
        f"after 1 s. Start one with `dask worker {address}`, or unset {VARIABLE} to "
        "train on this machine."
    )
