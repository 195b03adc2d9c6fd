"""Push or pull every file that the run-cache's records name: ``push`` or ``pull``.

`dvc push --run-cache` uploads the records and the outputs of the commits pushed,
but not the outputs kept out of the cache (``cache: false``): dvclive's metrics and
plots, which are committed to Git instead. A teammate's `dvc repro --pull` then
finds a record of train or evaluate whose files it cannot fetch, and runs the stage
again. This script sends and fetches those files too, and the outputs of runs never
committed.
`make push` and `make pull` run it after DVC's own command.

NOTE: it uses DVC's Python API (``Repo.cloud``), which DVC does not document as
stable; it was written against DVC 3.67.
"""

import json
import sys
from pathlib import Path

import yaml
from dvc.repo import Repo
from dvc_data.hashfile.hash_info import HashInfo

USAGE = "usage: python scripts/share_runs.py push|pull"


def named_outputs(runs: Path) -> set[HashInfo]:
    """Return the hash of every output that a run-cache record under ``runs`` names."""
    hashes = set()
    for record in sorted(runs.rglob("*")):
        if not record.is_file():
            continue
        entry = yaml.safe_load(record.read_text(encoding="utf-8")) or {}
        for out in entry.get("outs", []):
            if out.get("md5"):
                hashes.add(HashInfo("md5", out["md5"]))
    return hashes


def with_folder_contents(repo: Repo, hashes: set[HashInfo]) -> set[HashInfo]:
    """Add the files listed by each folder's manifest (a ``.dir`` object) in the
    local cache to ``hashes``."""
    result = set(hashes)
    for folder in hashes:
        if not folder.value.endswith(".dir"):
            continue
        manifest = Path(repo.cache.local.oid_to_path(folder.value))
        if manifest.exists():
            for entry in json.loads(manifest.read_text(encoding="utf-8")):
                result.add(HashInfo("md5", entry["md5"]))
    return result


def main(direction: str) -> int:
    repo = Repo(".")
    runs = Path(repo.stage_cache.cache_dir)
    hashes = named_outputs(runs) if runs.is_dir() else set()
    if not hashes:
        print(f"share_runs: the run-cache names no outputs; nothing to {direction}")
        return 0
    if direction == "push":
        result = repo.cloud.push(with_folder_contents(repo, hashes))
    else:
        # A folder's manifest arrives first; it names the files to fetch next.
        first = repo.cloud.pull(hashes)
        contents = with_folder_contents(repo, hashes) - hashes
        result = repo.cloud.pull(contents) if contents else first
        result = type(first)(
            first.transferred | result.transferred, first.failed | result.failed
        )
    done = "pushed" if direction == "push" else "pulled"
    print(f"share_runs: {len(result.transferred)} file(s) {done}")
    if result.failed:
        # Records made elsewhere whose files never reached the remote: the stages
        # they describe run again instead of being restored.
        print(
            f"share_runs: {len(result.failed)} file(s) named by the run-cache are "
            "not on the remote; `dvc repro` runs those stages again",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("push", "pull"):
        sys.exit(USAGE)
    sys.exit(main(sys.argv[1]))
