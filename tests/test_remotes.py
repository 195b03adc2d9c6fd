"""The remote choice: DVC's default remote, shared with real servers on 127.0.0.1.

The S3 tests run moto's standalone server and the SSH tests Debian's OpenSSH
server, each started here on a free port and stopped at the end. Credentials are
fake and go to `.dvc/config.local` or the environment, never to `.dvc/config`.
"""

import getpass
import json
import os
import shutil
import socket
import subprocess
import time
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import BIN, DEFAULT_SLUG, bake, dvc, git, run

UP_TO_DATE = "Data and pipelines are up to date."
SSHD = Path("/usr/sbin/sshd")
METRICS = Path("dvclive/evaluate/metrics.json")
RAW = "data/raw/breast_cancer.csv"
# Fake credentials for moto, which accepts any.
S3_KEY_ID = "testing-key-id"
S3_SECRET = "testing-secret-0123456789"
BUCKET = "team-bucket"


def make(project: Path, env: dict[str, str], *args: str, check: bool = True):
    return run(["make", f"BIN={BIN}", *args], cwd=project, env=env, check=check)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"server exited {server.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"nothing listens on 127.0.0.1:{port} after 30 s:\n{log.read_text()}")


def start(command: list, log: Path, port: int) -> subprocess.Popen:
    with log.open("w", encoding="utf-8") as output:
        server = subprocess.Popen(
            [str(part) for part in command],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    wait_for_port(port, server, log)
    return server


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory) -> str:
    """moto's S3 server on a free port, with an empty bucket BUCKET."""
    import boto3

    folder = tmp_path_factory.mktemp("moto")
    port = free_port()
    command = [BIN / "moto_server", "-H", "127.0.0.1", "-p", port]
    server = start(command, folder / "moto.log", port)
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    yield endpoint
    stop(server)


SSHD_CONFIG = """\
ListenAddress 127.0.0.1
Port {port}
HostKey {folder}/host_ed25519
PidFile {folder}/sshd.pid
AuthorizedKeysFile {folder}/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
"""


@pytest.fixture(scope="module")
def ssh_server(tmp_path_factory, env) -> tuple[int, Path]:
    """OpenSSH's sshd on a free port, key-only; returns the port and the client key."""
    if not SSHD.exists():
        pytest.skip("OpenSSH server not installed: apt-get install openssh-server")
    folder = tmp_path_factory.mktemp("sshd")
    keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", ""]
    run([*keygen, "-f", folder / "host_ed25519"], folder, env)
    run([*keygen, "-f", folder / "client_ed25519"], folder, env)
    shutil.copy(folder / "client_ed25519.pub", folder / "authorized_keys")
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(SSHD_CONFIG.format(port=port, folder=folder), encoding="utf-8")
    # sshd refuses to start without its privilege separation folder.
    Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
    server = start([SSHD, "-D", "-e", "-f", config], folder / "sshd.log", port)
    yield port, folder / "client_ed25519"
    stop(server)


def bake_into(folder: Path, env: dict[str, str], **answers: str) -> Path:
    """Bake into a new ``folder``; return the project with a Git identity."""
    folder.mkdir()
    bake(folder, env, **answers)
    project = folder / DEFAULT_SLUG
    identify(project, env)
    return project


def identify(project: Path, env: dict[str, str]) -> None:
    run(["git", "config", "user.name", "Test Runner"], cwd=project, env=env)
    run(["git", "config", "user.email", "test@example.com"], cwd=project, env=env)


def commit_all(project: Path, env: dict[str, str], message: str) -> None:
    git(project, env, "add", "--all")
    git(project, env, "commit", "--quiet", "-m", message)


def clone(project: Path, target: Path, env: dict[str, str]) -> Path:
    run(["git", "clone", "--quiet", project, target], cwd=project.parent, env=env)
    identify(target, env)
    return target


def edit_params(project: Path, old: str, new: str) -> None:
    """Replace the line part ``old`` of params.yaml with ``new``, keeping comments."""
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    assert old in text, f"params.yaml has no {old!r}"
    params.write_text(text.replace(old, new, 1), encoding="utf-8")


FOREST = "model: random_forest"
LOGISTIC = "model: logistic_regression"


def remote_section(project: Path) -> str:
    return (project / ".dvc/config").read_text(encoding="utf-8")


# --- Bake: the answers, the remote in .dvc/config, the plugin lock ---------------


def test_default_remote_is_folder_beside_project(baked, env):
    storage = baked.parent / f"{DEFAULT_SLUG}-dvc-storage"
    committed = git(baked, env, "show", "HEAD:.dvc/config")
    assert "remote = storage" in committed
    assert f"url = {storage}" in committed
    assert Path(storage).is_absolute()
    assert not list(baked.glob("requirements-*.lock"))
    assert not (baked / "_remote_locks").exists()


def test_remote_none_leaves_no_remote(tmp_path, env):
    bake(tmp_path, env, remote="none")
    project = tmp_path / DEFAULT_SLUG
    assert "remote" not in remote_section(project)
    assert git(project, env, "status", "--porcelain") == ""


def test_local_relative_path_saved_absolute(tmp_path, env):
    bake(tmp_path, env, remote_url="../shared/dvc")
    config = remote_section(tmp_path / DEFAULT_SLUG)
    assert f"url = {tmp_path / 'shared' / 'dvc'}" in config


PLUGINS = {"s3": "dvc-s3", "gcs": "dvc-gs", "azure": "dvc-azure", "ssh": "dvc-ssh"}
URLS = {
    "s3": "s3://team-bucket/tumour",
    "gcs": "gs://team-bucket/tumour",
    "azure": "azure://team-container/tumour",
    "ssh": "ssh://alice@storage.example.com:2222/srv/dvc",
}


def lock_names(text: str) -> list[str]:
    return [line.split("==")[0] for line in text.splitlines() if "==" in line]


@pytest.mark.parametrize(
    ("remote", "mlflow"),
    [("s3", "no"), ("gcs", "no"), ("azure", "no"), ("ssh", "no"), ("gcs", "yes")],
)
def test_plugin_lock_pins_the_plugin(tmp_path, env, remote, mlflow):
    bake(tmp_path, env, remote=remote, remote_url=URLS[remote], mlflow=mlflow)
    project = tmp_path / DEFAULT_SLUG
    base = (project / "requirements.lock").read_text(encoding="utf-8")
    plugin = (project / f"requirements-{remote}.lock").read_text(encoding="utf-8")

    assert f"url = {URLS[remote]}" in remote_section(project)
    assert not (project / "_remote_locks").exists()
    assert f"\n{PLUGINS[remote]}==" in f"\n{plugin}"
    assert "--hash=sha256:" in plugin
    assert set(lock_names(base)).isdisjoint(lock_names(plugin))
    metadata = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert any(
        dep.startswith(PLUGINS[remote] + ">=")
        for dep in metadata["project"]["dependencies"]
    )
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    assert f"-r requirements-{remote}.lock" in makefile


def test_s3_default_bucket_and_endpoint(tmp_path, env):
    result = bake(tmp_path, env, remote="s3", remote_endpoint_url="http://127.0.0.1:9")
    config = remote_section(tmp_path / DEFAULT_SLUG)
    assert f"url = s3://{DEFAULT_SLUG}/dvc-storage" in config
    assert "endpointurl = http://127.0.0.1:9" in config
    assert "is a default named after the project: create it" in result.stderr


INVALID_REMOTES = [
    (
        {"remote": "s3", "remote_url": "gs://bucket/path"},
        "remote_url 'gs://bucket/path' does not fit remote s3: use s3://BUCKET/PATH",
    ),
    (
        {"remote": "gcs", "remote_url": "s3://bucket"},
        "remote_url 's3://bucket' does not fit remote gcs: use gs://BUCKET/PATH",
    ),
    (
        {"remote": "azure", "remote_url": "https://acct.blob.core.windows.net/c"},
        "does not fit remote azure: use azure://CONTAINER/PATH",
    ),
    (
        {"remote": "ssh"},
        "remote_url is empty, but remote ssh has no default: give "
        "ssh://user@host[:port]/path",
    ),
    (
        {"remote": "ssh", "remote_url": "ssh://alice@host"},
        "remote_url 'ssh://alice@host' does not fit remote ssh",
    ),
    (
        {"remote": "ssh", "remote_url": "ssh://alice@host:99999/srv"},
        "a port from 1 to 65535",
    ),
    (
        {"remote": "ssh", "remote_url": "alice@host:/srv/dvc"},
        "remote_url 'alice@host:/srv/dvc' does not fit remote ssh",
    ),
    (
        {"remote": "local", "remote_url": "s3://bucket/path"},
        "remote_url 's3://bucket/path' is a URL, but remote local takes a folder path",
    ),
    (
        {"remote": "local", "remote_url": "dvc-storage"},
        "remote_url 'dvc-storage' is inside the project",
    ),
    (
        {"remote": "none", "remote_url": "/srv/dvc"},
        "remote_url '/srv/dvc' is set, but remote is none",
    ),
    (
        {"remote": "gcs", "remote_endpoint_url": "http://127.0.0.1:9000"},
        "remote_endpoint_url 'http://127.0.0.1:9000' applies to remote s3 only",
    ),
    (
        {"remote": "s3", "remote_endpoint_url": "127.0.0.1:9000"},
        "remote_endpoint_url '127.0.0.1:9000' is not an http:// or https:// URL",
    ),
    (
        {"remote": "s3", "remote_url": " s3://bucket/path"},
        "remote_url ' s3://bucket/path' starts or ends with spaces",
    ),
]


@pytest.mark.parametrize(("answers", "message"), INVALID_REMOTES)
def test_invalid_remote_rejected(tmp_path, env, answers, message):
    result = bake(tmp_path, env, check=False, **answers)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Nothing was written" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_unknown_remote_kind_rejected(tmp_path, env):
    result = bake(tmp_path, env, check=False, remote="ftp")
    assert result.returncode != 0
    assert "ftp provided for choice variable remote" in result.stderr


def test_every_remote_problem_reported_at_once(tmp_path, env):
    result = bake(
        tmp_path, env, check=False, remote="ssh", remote_endpoint_url="http://x"
    )
    assert "remote_url is empty, but remote ssh has no default" in result.stderr
    assert "applies to remote s3 only, not to remote ssh" in result.stderr


# --- Share through real servers: push, clone, pull, reproduce ----------------------


def share_and_clone(
    tmp_path: Path,
    env: dict[str, str],
    answers: dict[str, str],
    credentials: list[list[str]],
    clone_env: dict[str, str],
    clone_credentials: list[list[str]],
) -> tuple[Path, Path]:
    """Bake with ``answers``, run the pipeline, push; clone, pull. Return both.

    Credentials are `dvc remote modify --local` arguments, or variables in
    ``clone_env`` for the clone.
    """
    project = bake_into(tmp_path / "a", env, **answers)
    for arguments in credentials:
        dvc(project, env, "remote", "modify", "--local", "storage", *arguments)
    dvc(project, env, "repro")
    commit_all(project, env, "Run the pipeline")
    make(project, env, "push")

    copy = clone(project, tmp_path / "b", env)
    for arguments in clone_credentials:
        dvc(copy, env, "remote", "modify", "--local", "storage", *arguments)
    make(copy, clone_env, "pull")
    return project, copy


def assert_reproduced(project: Path, copy: Path, env: dict[str, str]) -> None:
    assert UP_TO_DATE in dvc(copy, env, "status").stdout
    assert "Running stage" not in dvc(copy, env, "repro").stdout
    assert UP_TO_DATE in dvc(copy, env, "status").stdout
    assert (copy / METRICS).read_bytes() == (project / METRICS).read_bytes()
    assert dvc(copy, env, "metrics", "diff").stdout.strip() == ""
    assert git(copy, env, "status", "--porcelain") == ""
    model = "models/model.skops"
    assert (copy / model).read_bytes() == (project / model).read_bytes()


@pytest.mark.slow
def test_share_through_s3_server(tmp_path, env, s3_endpoint):
    answers = {
        "remote": "s3",
        "remote_url": f"s3://{BUCKET}/tumour",
        "remote_endpoint_url": s3_endpoint,
    }
    credentials = [
        ["access_key_id", S3_KEY_ID],
        ["secret_access_key", S3_SECRET],
        ["region", "us-east-1"],
    ]
    # The clone takes its credentials from the environment instead.
    clone_env = dict(
        env,
        AWS_ACCESS_KEY_ID=S3_KEY_ID,
        AWS_SECRET_ACCESS_KEY=S3_SECRET,
        AWS_DEFAULT_REGION="us-east-1",
    )
    project, copy = share_and_clone(tmp_path, env, answers, credentials, clone_env, [])

    assert_reproduced(project, copy, clone_env)
    committed = git(project, env, "show", "HEAD:.dvc/config")
    assert f"endpointurl = {s3_endpoint}" in committed
    assert S3_SECRET not in committed
    assert S3_SECRET in (project / ".dvc/config.local").read_text(encoding="utf-8")
    assert not (copy / ".dvc/config.local").exists()
    # With the remote committed first, credentials in config.local break nothing.
    dvc(project, env, "data", "status")


@pytest.mark.slow
def test_share_through_ssh_server(tmp_path, env, ssh_server):
    port, key = ssh_server
    storage = tmp_path / "ssh-storage"
    url = f"ssh://{getpass.getuser()}@127.0.0.1:{port}{storage}"
    credentials = [["keyfile", str(key)], ["allow_agent", "false"]]
    answers = {"remote": "ssh", "remote_url": url}
    project, copy = share_and_clone(
        tmp_path, env, answers, credentials, env, credentials
    )

    # A clone without the key cannot log in, and DVC reports it.
    keyless = clone(project, tmp_path / "c", env)
    no_agent = {key: value for key, value in env.items() if key != "SSH_AUTH_SOCK"}
    denied = make(keyless, no_agent, "pull", check=False)
    assert denied.returncode != 0
    assert f"Permission denied for user {getpass.getuser()}" in denied.stderr
    assert_reproduced(project, copy, env)
    assert any(path.is_file() for path in storage.rglob("*"))
    assert str(key) not in git(project, env, "show", "HEAD:.dvc/config")


# --- The run-cache: a teammate's repro of a run someone already pushed -----------

SPLIT = "test_size: 0.2"
OTHER_SPLIT = "test_size: 0.25"


def lock_outs(lock_text: str, stage: str) -> list[dict]:
    return yaml.safe_load(lock_text)["stages"][stage]["outs"]


@pytest.mark.slow
def test_pulled_run_cache_restores_instead_of_rerunning(tmp_path, env):
    project = bake_into(tmp_path / "a", env)
    dvc(project, env, "repro")
    commit_all(project, env, "Run the pipeline")
    edit_params(project, SPLIT, OTHER_SPLIT)
    dvc(project, env, "repro")
    commit_all(project, env, "Hold out a quarter")
    tried = (project / "dvc.lock").read_text(encoding="utf-8")
    edit_params(project, OTHER_SPLIT, SPLIT)
    dvc(project, env, "repro")
    commit_all(project, env, "Hold out a fifth again")
    make(project, env, "push")

    copy = clone(project, tmp_path / "b", env)
    make(copy, env, "pull")
    edit_params(copy, SPLIT, OTHER_SPLIT)
    output = make(copy, env, "repro", "PULL=1").stdout
    lock = (copy / "dvc.lock").read_text(encoding="utf-8")
    for stage in ("prepare", "featurize", "train", "evaluate"):
        restored = f"Stage '{stage}' is cached - skipping run, checking out outputs"
        assert restored in output
        assert f"Running stage '{stage}'" not in output
        assert lock_outs(lock, stage) == lock_outs(tried, stage)


@pytest.mark.slow
def test_repro_pull_needs_a_reachable_remote(reproduced_copy, env):
    """Why `make repro` leaves out --pull unless asked: it fails offline."""
    modify = ["remote", "modify", "--local", "storage", "url"]
    dvc(reproduced_copy, env, *modify, "ssh://nobody@127.0.0.1:1/none")
    edit_params(reproduced_copy, SPLIT, OTHER_SPLIT)
    assert make(reproduced_copy, env, "repro", "PULL=1", check=False).returncode
    assert "Running stage 'prepare'" in make(reproduced_copy, env, "repro").stdout


# --- A clone without the data: what works, and the message for what does not -----


@pytest.fixture
def bare_clone(reproduced, tmp_path, env) -> Path:
    """A fresh clone of ``reproduced``, whose remote nobody has pushed to."""
    return clone(reproduced, tmp_path / "clone", env)


@pytest.mark.slow
def test_clone_compares_without_pulling(bare_clone, reproduced, env):
    rows = json.loads(dvc(bare_clone, env, "exp", "show", "--json").stdout)
    metrics = rows[0]["rev"] == "workspace" and rows[0]["data"]["metrics"]
    assert metrics[str(METRICS)]["data"]["test"]["accuracy"] > 0.5
    assert dvc(bare_clone, env, "metrics", "diff", "HEAD").stdout.strip() == ""
    assert dvc(bare_clone, env, "params", "diff", "HEAD").stdout.strip() == ""
    metrics_shown = json.loads(dvc(bare_clone, env, "metrics", "show", "--json").stdout)
    assert metrics_shown == json.loads(
        dvc(reproduced, env, "metrics", "show", "--json").stdout
    )
    edit_params(bare_clone, FOREST, LOGISTIC)
    changed = dvc(bare_clone, env, "params", "diff").stdout
    assert "train.model" in changed
    assert "logistic_regression" in changed


@pytest.mark.slow
def test_clone_repro_names_missing_data_and_pull(bare_clone, reproduced, env):
    # This clone's own, empty remote, so no other test's push can fill it.
    storage = bare_clone.parent / "empty-storage"
    modify = ["remote", "modify", "--local", "storage", "url", str(storage)]
    dvc(bare_clone, env, *modify)

    result = make(bare_clone, env, "repro", check=False)
    assert result.returncode != 0
    assert "the pipeline's input data is not in the workspace" in result.stderr
    assert f"  {RAW}\n" in result.stderr
    assert f"Fetch it from the DVC remote 'storage' ({storage})" in result.stderr
    assert "  make pull\n" in result.stderr
    assert "Running stage" not in result.stdout

    # No one has pushed yet, so the pull fails and names the missing files.
    pulled = make(bare_clone, env, "pull", check=False)
    assert pulled.returncode != 0
    assert RAW in pulled.stderr

    pusher = bare_clone.parent / "pusher" / DEFAULT_SLUG
    shutil.copytree(reproduced, pusher, symlinks=True)
    dvc(pusher, env, *modify)
    make(pusher, env, "push")
    make(bare_clone, env, "pull")
    assert UP_TO_DATE in make(bare_clone, env, "repro").stdout


def test_repro_without_remote_says_how_to_get_data(tmp_path, env):
    project = bake_into(tmp_path / "a", env, remote="none")
    copy = clone(project, tmp_path / "b", env)
    result = make(copy, env, "repro", check=False)
    assert result.returncode != 0
    assert f"  {RAW}\n" in result.stderr
    assert "This project has no DVC remote to fetch it from" in result.stderr
    assert "dvc remote add -d storage URL" in result.stderr


def test_repro_with_data_in_cache_says_checkout(baked_copy, env):
    (baked_copy / RAW).unlink()
    result = make(baked_copy, env, "repro", check=False)
    assert result.returncode != 0
    assert f"It is in the local cache: run `dvc checkout {RAW}`" in result.stderr


def test_push_without_remote_fails_with_dvc_message(tmp_path, env):
    bake(tmp_path, env, remote="none")
    result = make(tmp_path / DEFAULT_SLUG, env, "push", check=False)
    assert result.returncode != 0
    assert "no remote specified" in result.stderr.lower()


# --- Cache clean-up: gc keeps every branch, tag and experiment ---------------------


def cache_object(project: Path, digest: str) -> Path:
    return project / ".dvc/cache/files/md5" / digest[:2] / digest[2:]


def model_hash(project: Path) -> str:
    lock = (project / "dvc.lock").read_text(encoding="utf-8")
    outs = yaml.safe_load(lock)["stages"]["train"]["outs"]
    return next(out["md5"] for out in outs if out["path"] == "models/model.skops")


@pytest.mark.slow
def test_gc_keeps_committed_experiments(reproduced_copy, env):
    project = reproduced_copy
    identify(project, env)
    old_model = model_hash(project)
    run(["git", "tag", "baseline"], cwd=project, env=env)
    edit_params(project, FOREST, LOGISTIC)
    dvc(project, env, "repro")
    commit_all(project, env, "Switch to logistic regression")
    superseded = model_hash(project)
    edit_params(project, LOGISTIC, FOREST)
    edit_params(project, "n_estimators: 100", "n_estimators: 30")
    dvc(project, env, "repro")
    commit_all(project, env, "Use 30 trees")

    trees = "train.random_forest.n_estimators"
    dvc(project, env, "exp", "run", "--temp", "-n", "fewer", "-S", f"{trees}=20")
    dvc(project, env, "exp", "run", "--temp", "-n", "forked", "-S", f"{trees}=40")
    # One experiment stays an experiment; the other lives on as a branch only.
    dvc(project, env, "exp", "branch", "forked", "forked-branch")
    dvc(project, env, "exp", "remove", "forked")

    make(project, env, "gc", "FORCE=1")
    assert not cache_object(project, superseded).exists()
    assert cache_object(project, old_model).exists()  # tagged baseline

    for revision in ("main", "forked-branch", "baseline"):
        git(project, env, "checkout", "--quiet", revision)
        dvc(project, env, "checkout")
        assert UP_TO_DATE in dvc(project, env, "status").stdout, revision
    git(project, env, "checkout", "--quiet", "main")
    dvc(project, env, "checkout")
    dvc(project, env, "exp", "apply", "fewer")
    assert UP_TO_DATE in dvc(project, env, "status").stdout
    assert "Running stage" not in dvc(project, env, "repro").stdout


def test_gc_dry_run_removes_nothing(reproduced_copy, env):
    before = sorted(os.walk(reproduced_copy / ".dvc/cache"))
    result = make(reproduced_copy, env, "gc", "DRY=1")
    assert "--dry" in result.stdout
    assert sorted(os.walk(reproduced_copy / ".dvc/cache")) == before
