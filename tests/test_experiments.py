"""The experiment loop of a baked project, through its Makefile, with real Git, DVC
and GTO: sweep, queue, compare, adopt, push, register and promote.

Every `make` call sets BIN to this Python's folder, so the baked Makefile runs the
dvc, gto and python of the test environment instead of a project .venv.
"""

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import BIN, DEFAULT_PACKAGE, DEFAULT_SLUG, dvc, git, run, run_queue

MODEL = f"{DEFAULT_SLUG}-model"
SWEEP = "train.random_forest.n_estimators=range(50,250,50)"
SIZES = [50, 100, 150, 200]
QUEUE_TIMEOUT = 900
EXPERIMENT = "wider"


def make(project: Path, env: dict[str, str], *args: str, check: bool = True):
    return run(["make", f"BIN={BIN}", *args], cwd=project, env=env, check=check)


@pytest.fixture
def identity_env(env) -> dict[str, str]:
    """``env`` with a Git identity, which GTO needs for its annotated tags and
    `dvc exp run --queue` for the commit that carries uncommitted changes."""
    identity = {"NAME": "Test Runner", "EMAIL": "test@example.com"}
    return {
        **env,
        **{
            f"GIT_{role}_{key}": value
            for role in ("AUTHOR", "COMMITTER")
            for key, value in identity.items()
        },
    }


def start_queue(project: Path, env: dict[str, str], jobs: int) -> None:
    """Run `make queue-run`, then wait until no task is queued or running."""
    command = ["make", f"BIN={BIN}", "queue-run", f"JOBS={jobs}"]
    run_queue(project, env, command, timeout=QUEUE_TIMEOUT)


def exp_rows(project: Path, env: dict[str, str]) -> dict[str, dict]:
    """Return each experiment of HEAD by name: its executor state and data."""
    table = json.loads(dvc(project, env, "exp", "show", "--json").stdout)
    rows = {}
    for baseline in table:
        for experiment in baseline.get("experiments") or []:
            state = (experiment.get("executor") or {}).get("state", "success")
            rows[experiment["name"]] = {"state": state, **experiment["revs"][0]}
    return rows


def n_estimators(row: dict) -> int:
    params = row["data"]["params"]["params.yaml"]["data"]
    return params["train"]["random_forest"]["n_estimators"]


def scores_of(row: dict) -> dict[str, float]:
    return row["data"]["metrics"]["dvclive/evaluate/metrics.json"]["data"]["test"]


def table_lines(output: str) -> list[list[str]]:
    """Return the cells of each table row: the lines after the title's blank line,
    up to the next blank line."""
    lines = output.splitlines()
    start = lines.index("") + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return [line.split() for line in lines[start:end]]


# One test, not several on a shared fixture: pytest-xdist could run them on both
# workers, and each worker would then run its own sweep.
@pytest.mark.slow
def test_sweep_queue_and_compare(reproduced_copy, env):
    project = reproduced_copy
    make(project, env, "sweep", f"SET={SWEEP}")
    # The train stage rejects a key that params.yaml does not define.
    make(project, env, "sweep", "SET=+train.bogus=1")
    start_queue(project, env, jobs=2)

    # All four runs of the sweep succeed; the bad run fails.
    rows = exp_rows(project, env)
    good = {name: row for name, row in rows.items() if row["state"] == "success"}
    failed = [name for name, row in rows.items() if row["state"] == "failed"]
    assert sorted(n_estimators(row) for row in good.values()) == SIZES
    assert len(failed) == 1
    for row in good.values():
        assert scores_of(row)["accuracy"] > 0.9

    status = make(project, env, "queue-status").stdout
    assert status.count("Success") == len(SIZES)
    assert status.count("Failed") == 1
    assert "dvc queue logs NAME" in status

    # The text table fits 80 columns and ranks the runs by test ROC AUC.
    output = make(project, env, "-s", "compare").stdout
    assert all(len(line) <= 80 for line in output.splitlines()), output
    assert output.startswith("5 experiments of main, ranked by test.roc_auc")
    header, *table = table_lines(output)
    assert header[:4] == ["experiment", "n_estimators", "bogus", "roc_auc"]
    ranked = [cells[0] for cells in table if cells[0] in good]
    assert len(ranked) == len(SIZES)
    scores = [scores_of(good[name])["roc_auc"] for name in ranked]
    assert scores == sorted(scores, reverse=True)
    for cells in table:
        if cells[0] in good:
            assert cells[3] == f"{scores_of(good[cells[0]])['roc_auc']:.4f}"

    # The failed run comes last, without the baseline's metrics, with its reason.
    assert table[-1] == [failed[0], "100", "1", "failed", "-", "-", "-"]
    assert f"{failed[0]} failed:" in output
    assert "stage train: params.yaml has invalid params:" in output
    assert "unknown key train.bogus" in output
    assert f"full log: dvc queue logs {failed[0]}" in output

    markdown = make(project, env, "-s", "compare", "MD=1").stdout
    assert (
        "| experiment | train.random_forest.n_estimators | train.bogus "
        "| test.roc_auc | test.accuracy | test.f1 | test.log_loss |"
    ) in markdown
    assert "|---|---:|---:|---:|---:|---:|---:|" in markdown
    assert "failed: stage train: params.yaml has invalid params:" in markdown


def test_sweep_without_set_explains(baked, env):
    result = make(baked, env, "sweep", check=False)
    assert result.returncode != 0
    assert "SET is empty: give one or more -S values" in result.stderr


def test_untracked_module_blocks_sweep(reproduced_copy, identity_env):
    module = f"src/{DEFAULT_PACKAGE}/helpers.py"
    (reproduced_copy / module).write_text("SCALE = 1\n", encoding="utf-8")
    result = make(reproduced_copy, identity_env, "sweep", f"SET={SWEEP}", check=False)
    assert result.returncode != 0
    assert "these files are not tracked by Git" in result.stderr
    assert f"\n  {module}\n" in result.stderr
    assert f"git add {module}" in result.stderr
    status = dvc(reproduced_copy, identity_env, "queue", "status").stdout
    assert "No experiment tasks in the queue" in status

    git(reproduced_copy, identity_env, "add", module)
    make(reproduced_copy, identity_env, "sweep", "SET=train.seed=7")
    status = dvc(reproduced_copy, identity_env, "queue", "status").stdout
    assert status.count("Queued") == 1
    dvc(reproduced_copy, identity_env, "queue", "remove", "--all")


@pytest.fixture(scope="module")
def experimented(reproduced, tmp_path_factory, env) -> Path:
    """The reproduced project with one finished experiment, run in a temp folder so
    the workspace stays at HEAD."""
    project = tmp_path_factory.mktemp("experimented") / DEFAULT_SLUG
    shutil.copytree(reproduced, project, symlinks=True)
    # The push checks need an experiment whose commit has no DVC remote.
    dvc(project, env, "remote", "remove", "storage")
    git(project, env, "commit", "--quiet", "-m", "Drop the DVC remote", ".dvc/config")
    dvc(
        project,
        env,
        "exp",
        "run",
        "--temp",
        "--name",
        EXPERIMENT,
        "--set-param",
        "train.random_forest.n_estimators=150",
    )
    return project


@pytest.fixture
def experimented_copy(experimented, tmp_path) -> Path:
    copy = tmp_path / "work" / DEFAULT_SLUG
    shutil.copytree(experimented, copy, symlinks=True)
    return copy


def params_of(project: Path) -> dict:
    return yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))


def test_adopt_by_apply_and_commit(experimented_copy, env):
    project = experimented_copy
    wanted = scores_of(exp_rows(project, env)[EXPERIMENT])
    dvc(project, env, "exp", "apply", EXPERIMENT)
    git(project, env, "add", "--all")
    git(project, env, "commit", "--quiet", "-m", f"Adopt experiment {EXPERIMENT}")

    assert params_of(project)["train"]["random_forest"]["n_estimators"] == 150
    assert git(project, env, "status", "--porcelain") == ""
    assert "up to date" in dvc(project, env, "status").stdout
    metrics = json.loads((project / "dvclive/evaluate/metrics.json").read_text())
    assert metrics["test"] == wanted
    assert "Running stage" not in dvc(project, env, "repro").stdout


def test_adopt_by_exp_branch(experimented_copy, env):
    project = experimented_copy
    dvc(project, env, "exp", "branch", EXPERIMENT, "try-wider")
    git(project, env, "merge", "--quiet", "--ff-only", "try-wider")
    dvc(project, env, "checkout")

    assert params_of(project)["train"]["random_forest"]["n_estimators"] == 150
    assert "up to date" in dvc(project, env, "status").stdout


def add_origin(project: Path, env: dict[str, str]) -> Path:
    origin = project.parent.parent / "origin.git"
    run(["git", "init", "--quiet", "--bare", origin], cwd=project.parent, env=env)
    git(project, env, "remote", "add", "origin", str(origin))
    git(project, env, "push", "--quiet", "origin", "main")
    return origin


def exp_refs(origin: Path, env: dict[str, str]) -> list[str]:
    listed = git(origin, env, "ls-remote", str(origin), "refs/exps/*")
    return [line.split()[1] for line in listed.splitlines()]


def stored_files(storage: Path) -> list[Path]:
    return [path for path in storage.rglob("*") if path.is_file()]


def test_exp_push_without_dvc_remote_refuses(experimented_copy, env):
    origin = add_origin(experimented_copy, env)
    result = make(experimented_copy, env, "exp-push", f"NAME={EXPERIMENT}", check=False)
    assert result.returncode != 0
    assert "no DVC remote is configured" in result.stderr
    assert "dvc remote add -d storage PATH_OR_URL" in result.stderr
    assert exp_refs(origin, env) == []


def test_exp_push_unknown_experiment(experimented_copy, env):
    add_origin(experimented_copy, env)
    result = make(experimented_copy, env, "exp-push", "NAME=nothing", check=False)
    assert result.returncode != 0
    assert "experiment 'nothing' not found" in result.stderr


def test_exp_push_missing_git_remote(experimented_copy, env):
    result = make(experimented_copy, env, "exp-push", f"NAME={EXPERIMENT}", check=False)
    assert result.returncode != 0
    assert "Git remote 'origin' not found" in result.stderr


def test_exp_push_sends_refs_and_cache(reproduced_copy, tmp_path, env):
    project = reproduced_copy
    storage = tmp_path / "dvc-storage"
    dvc(project, env, "remote", "add", "-f", "--default", "storage", str(storage))
    git(project, env, "commit", "--quiet", "-m", "Add a DVC remote", ".dvc/config")
    origin = add_origin(project, env)
    dvc(project, env, "exp", "run", "--temp", "-n", "shared", "-S", "train.seed=7")

    make(project, env, "exp-push", "NAME=shared")
    assert [ref.rsplit("/", 1)[1] for ref in exp_refs(origin, env)] == ["shared"]
    model = exp_rows(project, env)["shared"]["data"]["outs"]["models/model.skops"]
    digest = model["hash"]
    assert storage / "files" / "md5" / digest[:2] / digest[2:] in stored_files(storage)

    # A clone of origin gets the experiment and its model from the two remotes.
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", "-b", "main", origin, clone], tmp_path, env)
    dvc(clone, env, "exp", "pull", "origin", "shared")
    dvc(clone, env, "exp", "apply", "shared")
    pulled = (clone / "models/model.skops").read_bytes()
    cache = project / ".dvc/cache/files/md5" / digest[:2] / digest[2:]
    assert pulled == cache.read_bytes()


def test_exp_push_remote_added_after_run(experimented_copy, tmp_path, env):
    project = experimented_copy
    origin = add_origin(project, env)
    storage = tmp_path / "dvc-storage"
    dvc(project, env, "remote", "add", "-f", "--default", "storage", str(storage))
    git(project, env, "commit", "--quiet", "-m", "Add a DVC remote", ".dvc/config")

    result = make(project, env, "exp-push", f"NAME={EXPERIMENT}", check=False)
    assert result.returncode != 0
    assert f"experiment {EXPERIMENT} has no default DVC remote" in result.stderr
    assert "(remote 'storage' came later)" in result.stderr
    assert exp_refs(origin, env) == []

    # The fix the message gives: a remote in .dvc/config.local covers every commit.
    dvc(project, env, "remote", "add", "--local", "--default", "storage", str(storage))
    make(project, env, "exp-push", f"NAME={EXPERIMENT}")
    assert len(exp_refs(origin, env)) == 1
    assert stored_files(storage)


def tags(project: Path, env: dict[str, str]) -> list[str]:
    return git(project, env, "tag", "--list").split()


def test_register_and_promote_with_gto(reproduced_copy, tmp_path, identity_env):
    project = reproduced_copy
    make(project, identity_env, "register", "VERSION=v1.0.0")
    assert tags(project, identity_env) == [f"{MODEL}@v1.0.0"]
    make(project, identity_env, "promote", "STAGE=prod")
    assert sorted(tags(project, identity_env)) == [f"{MODEL}#prod#1", f"{MODEL}@v1.0.0"]

    shown = json.loads(
        run([BIN / "gto", "show", "--json"], project, identity_env).stdout
    )
    assert shown[MODEL]["version"] == "v1.0.0"
    assert shown[MODEL]["stage"] == {"prod": "v1.0.0"}
    listing = run([BIN / "gto", "show", MODEL], project, identity_env).stdout
    assert "v1.0.0" in listing
    assert "prod" in listing

    # dvc artifacts get reads the stage's commit and this repository's cache.
    target = tmp_path / "prod-model.skops"
    dvc(
        project,
        identity_env,
        "artifacts",
        "get",
        ".",
        MODEL,
        "--stage",
        "prod",
        "-o",
        target,
    )
    assert target.read_bytes() == (project / "models/model.skops").read_bytes()


def test_promote_named_version(reproduced_copy, identity_env):
    project = reproduced_copy
    make(project, identity_env, "register", "VERSION=v1.0.0")
    make(project, identity_env, "promote", "STAGE=staging", "VERSION=v1.0.0")
    assert f"{MODEL}#staging#1" in tags(project, identity_env)


def test_promote_before_register_explains(reproduced_copy, identity_env):
    result = make(reproduced_copy, identity_env, "promote", "STAGE=prod", check=False)
    assert result.returncode != 0
    assert f"No version of {MODEL} is registered" in result.stderr
    assert tags(reproduced_copy, identity_env) == []


def test_register_refuses_uncommitted_change(reproduced_copy, identity_env):
    project = reproduced_copy
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    params.write_text(text.replace("n_estimators: 100", "n_estimators: 120"), "utf-8")
    result = make(project, identity_env, "register", "VERSION=v1.0.0", check=False)
    assert result.returncode != 0
    assert "dvc.lock or params.yaml has uncommitted changes" in result.stderr
    assert tags(project, identity_env) == []


def test_register_refuses_stale_pipeline(reproduced_copy, identity_env):
    project = reproduced_copy
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    params.write_text(text.replace("n_estimators: 100", "n_estimators: 120"), "utf-8")
    git(
        project, identity_env, "commit", "--quiet", "-am", "Change params without repro"
    )
    result = make(project, identity_env, "register", "VERSION=v1.0.0", check=False)
    assert result.returncode != 0
    assert "the pipeline is not up to date" in result.stderr
    assert tags(project, identity_env) == []
