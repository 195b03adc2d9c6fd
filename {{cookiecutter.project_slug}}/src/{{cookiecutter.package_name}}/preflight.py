"""Checks that stop a Makefile target before it does something that fails later.

- ``sweep``: a queued experiment runs on a copy of the files Git tracks, as they are
  when it is queued (uncommitted edits included), so a file Git does not track yet
  is missing from every run. A new module under src/ then breaks each run with an
  ImportError. The check lists such files and stops the sweep.
- ``push NAME``: with no DVC remote, ``dvc exp push`` sends only the Git refs and
  still exits 0. DVC reads an experiment's remote from the ``.dvc/config`` committed
  in that experiment (and from ``.dvc/config.local`` and the global config), so a
  remote committed after the run uploads nothing either. The check resolves the
  remote as DVC will and stops the push when there is none.
- ``register``: a GTO version is a Git tag on HEAD, so the model that HEAD's
  dvc.lock pins must be the one in the workspace. The check stops when dvc.lock has
  uncommitted changes or the pipeline is not up to date.
- ``repro``: a fresh clone has the ``.dvc`` files but not the data they track, and
  ``dvc repro`` then stops with "missing data 'source'" and no fix. The check
  names each missing file and the fix: ``dvc checkout``, ``make pull`` from the
  DVC remote, or getting a remote first. It also repairs what a killed
  ``dvc repro`` leaves behind: an unreadable lock record, emptied ``.dvc`` files
  and unfinished temporary outputs.

Run as ``python -m {{ cookiecutter.package_name }}.preflight CHECK``; it exits 1 with
a message that names the problem and the fix.
"""

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from . import cli
from .errors import InputError

# Besides the deps that dvc.yaml lists, a queued run needs these from Git.
PIPELINE_FILES = ("dvc.yaml", "dvc.lock", "params.yaml", ".dvcignore")
SOURCE_DIRS = ("src/",)
INTERPOLATION = re.compile(r"\$\{\s*([\w.-]+)\s*\}")
# refs/exps/<first 2 hex digits of the baseline>/<the other 38>/<name>; DVC keeps
# other refs under refs/exps too, such as refs/exps/exec/EXEC_APPLY.
EXPERIMENT_REF = re.compile(r"^refs/exps/[0-9a-f]{2}/[0-9a-f]{38}/(?P<name>.+)$")


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=check)


def resolve(text: str, params: dict[str, Any]) -> str | None:
    """Replace each ``${a.b}`` in ``text`` with that value of params.yaml.

    Returns None when a key is missing, so the caller skips a path it cannot know.
    """
    missing = False

    def value(match: re.Match) -> str:
        nonlocal missing
        node: Any = params
        for part in match.group(1).split("."):
            if not isinstance(node, dict) or part not in node:
                missing = True
                return ""
            node = node[part]
        return str(node)

    resolved = INTERPOLATION.sub(value, text)
    return None if missing else resolved


def stage_bodies(dvc_yaml: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield the definition of each stage in ``dvc_yaml``: for a stage written with
    ``foreach`` or ``matrix``, its ``do`` part."""
    for stage in (dvc_yaml.get("stages") or {}).values():
        if isinstance(stage, dict):
            yield stage.get("do", stage)


def resolved_paths(paths: list[str], params: dict[str, Any]) -> list[str]:
    """Return ``paths`` resolved from ``params``, sorted, without duplicates, trailing
    slashes, or paths that need a value params.yaml lacks (a loop variable)."""
    resolved = [resolve(path, params) for path in paths]
    return sorted({path.rstrip("/") for path in resolved if path})


def pipeline_inputs(dvc_yaml: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """Return the deps and params files of every stage in ``dvc_yaml``.

    Interpolated paths such as ``${data.raw}`` are resolved from ``params``. Stages
    written with ``foreach`` or ``matrix`` contribute the deps of their ``do`` part
    only when those need no loop variable.
    """
    inputs: list[str] = []
    for body in stage_bodies(dvc_yaml):
        for dep in body.get("deps") or []:
            if isinstance(dep, str):
                inputs.append(dep)
        for entry in body.get("params") or []:
            if isinstance(entry, dict):
                inputs.extend(str(name) for name in entry)
    return resolved_paths(inputs, params)


def blocking_untracked(untracked: list[str], inputs: list[str]) -> list[str]:
    """Return the untracked files that a queued run would miss.

    That is each file under src/, each pipeline file, each ``.dvc`` file, and each
    file that is a stage's dep or lies in a folder that is one.
    """
    blocking = []
    for path in untracked:
        if (
            path.startswith(SOURCE_DIRS)
            or path in PIPELINE_FILES
            or path.endswith(".dvc")
            or any(path == dep or path.startswith(dep + "/") for dep in inputs)
        ):
            blocking.append(path)
    return blocking


def is_code(path: str) -> bool:
    """Return whether ``path`` belongs in Git; other stage deps are data for DVC."""
    return (
        path.startswith(SOURCE_DIRS)
        or path in PIPELINE_FILES
        or path.endswith((".dvc", ".py"))
    )


def untracked_message(paths: list[str]) -> str:
    """Return the error for untracked ``paths``, with ``git add`` or ``dvc add``."""
    listing = "\n".join(f"  {path}" for path in paths)
    code = [path for path in paths if is_code(path)]
    data = [path for path in paths if not is_code(path)]
    fixes = []
    if code:
        fixes.append(f"  git add {' '.join(code)}")
    for path in data:
        fixes.append(f"  dvc add {path} && git add {path}.dvc")
    return (
        "these files are not tracked by Git, so every queued experiment would run "
        f"without them:\n{listing}\n"
        "A queued run gets the files that Git tracks, uncommitted edits included, "
        "but no untracked file.\n"
        "Track them, then run the sweep again:\n" + "\n".join(fixes)
    )


def check_sweep() -> None:
    if git("rev-parse", "--verify", "--quiet", "HEAD", check=False).returncode != 0:
        raise InputError(
            "the repository has no commit yet, and an experiment runs from one: "
            "commit the project first (git add --all && git commit)"
        )
    listed = git("ls-files", "--others", "--exclude-standard", "-z").stdout
    untracked = [path for path in listed.split("\0") if path]
    dvc_yaml = _read_yaml(Path("dvc.yaml"))
    params = _read_yaml(Path("params.yaml"))
    blocking = blocking_untracked(untracked, pipeline_inputs(dvc_yaml, params))
    if blocking:
        raise InputError(untracked_message(blocking))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except yaml.YAMLError as error:
        raise InputError(f"{path} is not valid YAML: {error}") from None
    return document if isinstance(document, dict) else {}


def experiment_commits(name: str, refs: list[str]) -> list[str]:
    """Return the commits of the experiment refs named ``name``.

    ``refs`` contains ``<commit> <ref name>`` lines from ``git for-each-ref``.
    """
    commits = []
    for line in refs:
        commit, _, ref = line.partition(" ")
        found = EXPERIMENT_REF.match(ref)
        if found and found.group("name") == name:
            commits.append(commit)
    return commits


def dvc_remote_of(commit: str | None, name: str | None) -> tuple[str | None, list[str]]:
    """Return the DVC remote that a push of ``commit`` uses, and every remote known.

    DVC's own config loader runs, on the ``.dvc/config`` of ``commit`` (the
    workspace's when None) plus ``.dvc/config.local`` and the global and system
    configs. ``name`` picks a remote; without it, the default one (``core.remote``).
    """
    from dvc.repo import Repo

    with Repo(".", rev=commit) as repo:
        remotes = sorted(repo.config["remote"])
        chosen = name or repo.config["core"].get("remote")
    return (chosen if chosen in remotes else None), remotes


def push_problem(
    name: str,
    dvc_remote: str | None,
    workspace_remote: str | None,
    experiment_remote: str | None,
    known_remotes: list[str],
) -> str | None:
    """Return why pushing experiment ``name`` would leave its outputs behind, or None.

    ``experiment_remote`` and ``known_remotes`` are what DVC resolves for the
    experiment's commit, and ``workspace_remote`` what it resolves for the workspace.
    """
    if experiment_remote:
        return None
    known = ", ".join(known_remotes) or "none"
    if dvc_remote:
        return (
            f"DVC remote '{dvc_remote}' is not configured for experiment {name} "
            f"(remotes it can use: {known}). Pick one of those, or define it in "
            ".dvc/config.local, which applies to every commit of this clone:\n"
            f"  dvc remote add --local {dvc_remote} URL"
        )
    if not known_remotes and not workspace_remote:
        return (
            "no DVC remote is configured, so `dvc exp push` would push only the Git "
            "refs and leave the model and data in this machine's cache (and still "
            "exit 0). Add a default remote, either committed for everyone (it then "
            "applies to experiments run after the commit) or for this clone only:\n"
            "  dvc remote add -d storage PATH_OR_URL && git add .dvc/config "
            '&& git commit -m "Add a DVC remote"\n'
            "  dvc remote add --local -d storage PATH_OR_URL"
        )
    later = f" (remote '{workspace_remote}' came later)" if workspace_remote else ""
    return (
        f"experiment {name} has no default DVC remote: DVC reads an experiment's "
        f"remote from the .dvc/config committed with it{later}, so `dvc exp push` "
        "would upload nothing and still exit 0. Make a remote apply to every commit "
        "of this clone, then push again:\n"
        "  dvc remote add --local -d NAME URL\n"
        f"or pick one that the experiment's commit sees ({known}) with DVC_REMOTE=NAME."
    )


def check_push(name: str, git_remote: str, dvc_remote: str | None) -> None:
    if git("remote", "get-url", git_remote, check=False).returncode != 0:
        raise InputError(
            f"Git remote '{git_remote}' not found. Add it with "
            f"`git remote add {git_remote} URL`, or pick another with "
            "GIT_REMOTE=NAME (`git remote -v` lists them)."
        )
    listed = git("for-each-ref", "--format=%(objectname) %(refname)", "refs/exps")
    commits = experiment_commits(name, listed.stdout.splitlines())
    if not commits:
        raise InputError(
            f"experiment '{name}' not found. `dvc exp list` shows the names of "
            "finished experiments; a queued run has one only once it succeeds."
        )
    workspace_remote, _ = dvc_remote_of(None, dvc_remote)
    for commit in commits:
        experiment_remote, known = dvc_remote_of(commit, dvc_remote)
        problem = push_problem(
            name, dvc_remote, workspace_remote, experiment_remote, known
        )
        if problem:
            raise InputError(problem)


def check_register() -> None:
    if git("ls-files", "--error-unmatch", "dvc.lock", check=False).returncode != 0:
        raise InputError(
            "dvc.lock is not committed, so no commit pins a model yet: run "
            "`dvc repro`, then commit (git add --all && git commit)"
        )
    changed = git("status", "--porcelain", "--", "dvc.lock", "params.yaml").stdout
    if changed.strip():
        raise InputError(
            "dvc.lock or params.yaml has uncommitted changes, but a version is a Git "
            "tag on HEAD and would not pin the model in the workspace. Commit first:"
            "\n  git add --all && git commit"
        )
    command = [sys.executable, "-m", "dvc", "status", "--quiet"]
    if subprocess.run(command, capture_output=True).returncode != 0:
        raise InputError(
            "the pipeline is not up to date (see `dvc status`), so HEAD's model does "
            "not match its code, data and params. Run `dvc repro`, commit, then "
            "register."
        )


def tracked_sources() -> dict[Path, str | None]:
    """Return each path that a committed ``.dvc`` file tracks, with its hash."""
    listed = git("ls-files", "-z", "--", "*.dvc").stdout
    sources = {}
    for name in filter(None, listed.split("\0")):
        dvc_file = Path(name)
        for out in _read_yaml(dvc_file).get("outs") or []:
            if isinstance(out, dict) and "path" in out:
                sources[dvc_file.parent / out["path"]] = out.get("md5")
    return sources


def missing_message(missing: list[Path], cached: list[Path]) -> str:
    """Return the fix for data sources that are missing from the workspace.

    ``cached`` are those whose content is in this clone's DVC cache.
    """
    from dvc.repo import Repo

    listing = "\n".join(f"  {path}" for path in missing)
    head = (
        f"the pipeline's input data is not in the workspace:\n{listing}\n"
        "DVC tracks it (Git holds only its .dvc file), so a fresh clone lacks it "
        "until it is fetched."
    )
    if len(cached) == len(missing):
        paths = " ".join(str(path) for path in missing)
        return f"{head} It is in the local cache: run `dvc checkout {paths}`."
    with Repo(".") as repo:
        name = repo.config["core"].get("remote")
        remote = repo.config["remote"].get(name) if name else None
    if remote:
        return (
            f"{head} Fetch it from the DVC remote '{name}' ({remote.get('url')}):\n"
            "  make pull\n"
            "If the pull reports missing files, whoever committed them has not "
            "pushed yet: ask them to run `make push`."
        )
    return (
        f"{head} This project has no DVC remote to fetch it from. Add the remote "
        "your team shares, then pull:\n"
        "  dvc remote add -d storage URL && git add .dvc/config "
        '&& git commit -m "Add the DVC remote"\n'
        "  make pull\n"
        "or copy the files from whoever has them to the paths above."
    )


def check_raw_data(sources: dict[Path, str | None]) -> None:
    """Stop when the file that data.raw names neither exists nor is tracked."""
    data = _read_yaml(Path("params.yaml")).get("data") or {}
    raw = data.get("raw")
    if not isinstance(raw, str) or Path(raw).exists() or Path(raw) in sources:
        return
    raise InputError(
        f"data.raw in params.yaml names {raw}, which does not exist. Copy your "
        f"data there and track it (`dvc add {raw}`), or set data.raw to the path "
        "of your file under data/raw/"
    )


def clear_broken_rwlock() -> None:
    """Remove DVC's record of running stages when a killed DVC run left it
    unreadable, which makes every later `dvc repro` fail until it is gone."""
    import json

    path = Path(".dvc/tmp/rwlock")
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except ValueError:
        path.unlink()
        print(
            f"preflight: removed {path}, which a DVC run that was killed left "
            "unreadable",
            file=sys.stderr,
        )


def restore_emptied_dvc_files() -> None:
    """Restore from Git each tracked .dvc file that a killed DVC run left empty.

    `dvc repro --force` rewrites the data's .dvc files in place. A kill at that
    moment leaves one empty, so DVC treats the data as untracked.
    """
    listed = git("ls-files", "-z", "--", "*.dvc").stdout
    for name in filter(None, listed.split("\0")):
        path = Path(name)
        if path.exists() and path.stat().st_size == 0:
            git("checkout", "--", name)
            print(
                f"preflight: restored {name} from Git; a DVC run that was killed "
                "left it empty",
                file=sys.stderr,
            )


def stage_outputs(dvc_yaml: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """Return the outs, metrics and plots paths of every stage in ``dvc_yaml``."""
    outputs: list[str] = []
    for body in stage_bodies(dvc_yaml):
        for kind in ("outs", "metrics", "plots"):
            for entry in body.get(kind) or []:
                if isinstance(entry, str):
                    outputs.append(entry)
                elif isinstance(entry, dict):
                    outputs.extend(str(name) for name in entry)
    return resolved_paths(outputs, params)


def stale_temporaries(outputs: list[str]) -> list[Path]:
    """Return the temporary files and folders that a killed stage left beside its
    outputs.

    A stage writes each output, and each folder holding one, under a temporary
    name ``.NAME.*.tmp`` beside it and renames it when complete. The next run of
    that stage removes what a killed run left, but DVC does not run a stage it
    can restore from the run-cache.
    """
    found: set[Path] = set()
    for output in outputs:
        path = Path(output)
        for part in (path, *path.parents):
            if part.name:
                found.update(part.parent.glob(f".{part.name}.*.tmp"))
    return sorted(found)


def clear_stale_temporaries() -> None:
    """Remove the temporary outputs of killed stages, unless DVC is running."""
    outputs = stage_outputs(
        _read_yaml(Path("dvc.yaml")), _read_yaml(Path("params.yaml"))
    )
    if not stale_temporaries(outputs):
        return
    import shutil

    from dvc.lock import LockError
    from dvc.repo import Repo

    with Repo(".") as repo:
        try:
            # A running stage writes under these names too, so they are removed under
            # DVC's lock, which `dvc repro` holds while it runs.
            with repo.lock:
                for path in stale_temporaries(outputs):
                    if path.is_dir() and not path.is_symlink():
                        shutil.rmtree(path)
                    else:
                        path.unlink(missing_ok=True)
                    print(
                        f"preflight: removed {path}, which a stage that was killed "
                        "left unfinished",
                        file=sys.stderr,
                    )
        except LockError:
            # Another DVC command is running, and `dvc repro` reports that itself.
            return


def check_repro() -> None:
    clear_broken_rwlock()
    restore_emptied_dvc_files()
    clear_stale_temporaries()
    sources = tracked_sources()
    check_raw_data(sources)
    missing = [path for path in sources if not path.exists()]
    if not missing:
        return
    from dvc.repo import Repo

    with Repo(".") as repo:
        cache = repo.cache.local
        cached = [
            path for path in missing if sources[path] and cache.exists(sources[path])
        ]
    raise InputError(missing_message(missing, cached))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m {{ cookiecutter.package_name }}.preflight",
        description="Check that a sweep, an experiment push, a model registration "
        "or a repro can succeed; exit 1 with the fix when it cannot.",
    )
    checks = parser.add_subparsers(dest="check", required=True)
    checks.add_parser("sweep", help="no untracked file that queued runs need")
    push = checks.add_parser("push", help="a Git remote, and a DVC remote for NAME")
    push.add_argument("name", help="the experiment to push")
    push.add_argument("--git-remote", default="origin", help="default: origin")
    push.add_argument("--dvc-remote", help="default: the default DVC remote")
    checks.add_parser("register", help="HEAD pins the model in the workspace")
    checks.add_parser("repro", help="the data that .dvc files track is present")
    args = parser.parse_args(argv)
    if args.check == "sweep":
        check_sweep()
    elif args.check == "repro":
        check_repro()
    elif args.check == "push":
        check_push(args.name, args.git_remote, args.dvc_remote)
    else:
        check_register()


if __name__ == "__main__":
    cli.run(main)
