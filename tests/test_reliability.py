"""Same bytes on every run, plain errors on bad data, nothing lost when a run dies."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml
from conftest import BIN, DEFAULT_PACKAGE, dvc, git, run

PREPARE = [sys.executable, "src/run_stage.py", "prepare"]
RAW = "data/raw/breast_cancer.csv"


def lines(*rows: str) -> str:
    return "".join(f"{row}\n" for row in rows)


BAD_DATA = [
    ("empty file", RAW, b"", f"raw data file {RAW} is empty (0 bytes)"),
    ("header only", RAW, b"a,b,diagnosis\n", "has a header but no rows"),
    (
        "missing target",
        RAW,
        lines("a,b,diagnosis_code", "1,2,x", "3,4,y").encode(),
        f"{RAW} has no column 'diagnosis'",
    ),
    (
        "single class",
        RAW,
        lines("a,b,diagnosis", "1,2,benign", "3,4,benign").encode(),
        "has a single class ('benign')",
    ),
    (
        "empty column",
        RAW,
        lines("a,b,diagnosis", "1,,benign", "3,,malignant").encode(),
        "columns with no values in any row: b",
    ),
    (
        "column of unclear role",
        RAW,
        lines(
            "a,code,diagnosis",
            *(
                f"{row},C{row:03d},{('benign', 'malignant')[row % 2]}"
                for row in range(30)
            ),
        ).encode(),
        "cannot tell the role of columns code",
    ),
    (
        "ragged rows",
        RAW,
        lines("a,b,diagnosis", "1,2,benign", "3,4,5,6,malignant").encode(),
        f"{RAW} is not a valid CSV file",
    ),
    ("not text", RAW, b"\x1f\x8b\x08\x00\xff\xfe\x00binary", "is not utf-8 text"),
]


@pytest.mark.parametrize(
    ("content", "message"),
    [(content, message) for _, _, content, message in BAD_DATA],
    ids=[case for case, *_ in BAD_DATA],
)
def test_bad_raw_data_gets_message(baked_copy, env, content, message):
    (baked_copy / RAW).write_bytes(content)
    result = run(PREPARE, baked_copy, env, check=False)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (baked_copy / "data/prepared").exists()


def test_numeric_labels_run_end_to_end(baked_copy, env):
    raw = (baked_copy / RAW).read_text(encoding="utf-8")
    raw = raw.replace(",malignant\n", ",1\n").replace(",benign\n", ",0\n")
    (baked_copy / RAW).write_text(raw, encoding="utf-8")
    params = baked_copy / "params.yaml"
    text = params.read_text(encoding="utf-8")
    params.write_text(
        text.replace("positive_class: malignant", "positive_class: 1"), encoding="utf-8"
    )
    dvc(baked_copy, env, "repro")
    metrics_file = baked_copy / "dvclive/evaluate/metrics.json"
    scores = json.loads(metrics_file.read_text(encoding="utf-8"))
    assert scores["test"]["accuracy"] > 0.9
    assert (baked_copy / "dvclive/evaluate/plots/roc/1.json").exists()


def test_parquet_that_is_not_parquet(baked_copy, env):
    (baked_copy / "data/raw/table.parquet").write_text("a,b\n1,2\n", encoding="utf-8")
    params = baked_copy / "params.yaml"
    text = params.read_text(encoding="utf-8")
    params.write_text(text.replace(RAW, "data/raw/table.parquet"), encoding="utf-8")
    result = run(PREPARE, baked_copy, env, check=False)
    assert "data/raw/table.parquet is not a valid Parquet file" in result.stderr


def test_json_outputs_sorted_and_finite(reproduced):
    for path in sorted((reproduced / "dvclive").rglob("*.json")):
        text = path.read_text(encoding="utf-8")
        content = json.loads(text)
        assert "Infinity" not in text, path
        assert "NaN" not in text, path
        assert json.dumps(content, sort_keys=True) == json.dumps(content), path


def test_credentials_stay_out_of_git(baked_copy, env):
    dvc(baked_copy, env, "remote", "add", "-f", "-d", "storage", "s3://bucket/path")
    secret = "not-a-real-secret-0123456789"
    dvc(
        baked_copy,
        env,
        "remote",
        "modify",
        "--local",
        "storage",
        "secret_access_key",
        secret,
    )
    assert secret in (baked_copy / ".dvc/config.local").read_text(encoding="utf-8")
    git(baked_copy, env, "add", "--all")
    assert secret not in git(baked_copy, env, "diff", "--cached")
    assert ".dvc/config.local" not in git(baked_copy, env, "ls-files", "--cached")


def test_concurrent_repro_fails_cleanly(reproduced_copy, env):
    lock_before = (reproduced_copy / "dvc.lock").read_bytes()
    command = [str(BIN / "dvc"), "repro", "--force"]
    runs = [
        subprocess.Popen(
            command,
            cwd=reproduced_copy,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(process.wait(timeout=300), process.stderr.read()) for process in runs]
    for process in runs:
        process.stdout.close()
        process.stderr.close()

    assert any(code == 0 for code, _ in results)
    for code, stderr in results:
        if code != 0:
            assert "is busy" in stderr or "Unable to acquire lock" in stderr, stderr
    assert "up to date" in dvc(reproduced_copy, env, "status").stdout
    assert (reproduced_copy / "dvc.lock").read_bytes() == lock_before


@pytest.mark.slow
@pytest.mark.parametrize("delay", [1.0, 2.5, 4.0, 6.0])
def test_killed_repro_recovers_same_bytes(reproduced_copy, env, delay):
    lock_before = (reproduced_copy / "dvc.lock").read_bytes()
    process = subprocess.Popen(
        [BIN / "dvc", "repro", "--force"],
        cwd=reproduced_copy,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(delay)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()

    # make repro clears the lock record that a kill can leave half-written.
    run(["make", f"BIN={BIN}", "repro"], cwd=reproduced_copy, env=env)
    assert (reproduced_copy / "dvc.lock").read_bytes() == lock_before
    # A kill while DVC rewrites a .dvc file can leave it laid out differently; it
    # must still record the same data.
    for line in git(reproduced_copy, env, "status", "--porcelain").splitlines():
        path = line[3:]
        assert path.endswith(".dvc"), line
        committed = git(reproduced_copy, env, "show", f"HEAD:{path}")
        current = (reproduced_copy / path).read_text(encoding="utf-8")
        assert yaml.safe_load(current) == yaml.safe_load(committed), path
    leftovers = [
        path for path in reproduced_copy.rglob(".*.tmp") if ".dvc" not in path.parts
    ]
    assert leftovers == []


def test_unreadable_lock_record_is_cleared(reproduced_copy, env):
    record = reproduced_copy / ".dvc/tmp/rwlock"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text("", encoding="utf-8")
    assert dvc(reproduced_copy, env, "repro", check=False).returncode != 0

    result = run(["make", f"BIN={BIN}", "repro"], cwd=reproduced_copy, env=env)

    assert "removed .dvc/tmp/rwlock, which a DVC run that was killed" in result.stderr
    assert "Data and pipelines are up to date" in result.stdout


def test_emptied_dvc_file_is_restored(reproduced_copy, env):
    tracked = reproduced_copy / "data/raw/breast_cancer.csv.dvc"
    committed = tracked.read_bytes()
    tracked.write_bytes(b"")

    result = run(["make", f"BIN={BIN}", "repro"], cwd=reproduced_copy, env=env)

    assert "restored data/raw/breast_cancer.csv.dvc from Git" in result.stderr
    assert tracked.read_bytes() == committed
    assert "Data and pipelines are up to date" in result.stdout


def test_cached_stage_leftover_removed(reproduced_copy, env):
    # What a kill inside featurize leaves: DVC removed the output before the run,
    # and the stage's temporary folder is half written. DVC then restores the
    # output from the run-cache without running featurize again.
    features = reproduced_copy / "data/features"
    expected = {path.name: path.read_bytes() for path in features.iterdir()}
    shutil.rmtree(features)
    unfinished = reproduced_copy / "data/.features.k2j4x9.tmp"
    unfinished.mkdir()
    (unfinished / "train.npz").write_bytes(b"partial")

    result = run(["make", f"BIN={BIN}", "repro"], cwd=reproduced_copy, env=env)

    assert (
        "removed data/.features.k2j4x9.tmp, which a stage that was killed left "
        "unfinished" in result.stderr
    )
    assert not unfinished.exists()
    assert {path.name: path.read_bytes() for path in features.iterdir()} == expected


def test_leftover_kept_while_dvc_runs(reproduced_copy, env):
    unfinished = reproduced_copy / "data/.features.k2j4x9.tmp"
    unfinished.mkdir()
    holder = subprocess.Popen(
        [
            BIN / "python",
            "-c",
            "import sys\n"
            "from dvc.repo import Repo\n"
            "with Repo('.') as repo, repo.lock:\n"
            "    print('held', flush=True)\n"
            "    sys.stdin.read()\n",
        ],
        cwd=reproduced_copy,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        preflight = [BIN / "python", "-m", f"{DEFAULT_PACKAGE}.preflight", "repro"]
        run(preflight, cwd=reproduced_copy, env={**env, "PYTHONPATH": "src"})
        assert unfinished.is_dir()
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
        holder.stdout.close()
