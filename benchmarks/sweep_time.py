"""Time a sweep of four queued experiments with one queue worker and with two.

Bakes the template with the defaults into a temporary folder, runs the pipeline and
commits, then for each worker count queues four random-forest runs
(n_estimators 50, 100, 150 and 200) and times `dvc queue start -j N` until no task
is queued or running. Each sweep uses its own train.seed, so no run is restored
from DVC's run cache.

    python benchmarks/sweep_time.py [--jobs 1 2] [--repeat 1]

Run it with the Python of the template's .venv, which has cookiecutter and DVC, on
an otherwise idle machine. Other work on the cores skews the figures, so each one is
printed with the 1-minute load average at its start and end.
"""

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import run

TEMPLATE = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SLUG = "tumour-classifier"
SIZES = "50,100,150,200"
POLL_SECONDS = 0.5
TIMEOUT_SECONDS = 1800


def environment(home: Path) -> dict[str, str]:
    """Return an environment with a fresh HOME, a Git identity and no analytics."""
    values = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GIT_", "DVC_", "VIRTUAL_ENV", "PYTHON"))
    }
    values.update(
        HOME=str(home),
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
        DVC_NO_ANALYTICS="1",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Benchmark",
        GIT_AUTHOR_EMAIL="benchmark@example.com",
        GIT_COMMITTER_NAME="Benchmark",
        GIT_COMMITTER_EMAIL="benchmark@example.com",
    )
    return values


def timed_sweep(project: Path, env: dict[str, str], jobs: int, seed: int) -> float:
    """Queue four runs, start ``jobs`` workers, and return the seconds until done."""
    dvc = BIN / "dvc"
    overrides = ["-S", f"train.random_forest.n_estimators={SIZES}"]
    run(
        [dvc, "exp", "run", "--queue", *overrides, "-S", f"train.seed={seed}"],
        project,
        env,
    )
    # The workers inherit the output of `dvc queue start`; a pipe would stay open
    # until they exit, so it goes to a file.
    log = project.parent / f"queue-{seed}.log"
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as output:
        subprocess.run(
            [dvc, "queue", "start", "--jobs", str(jobs)],
            cwd=project,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=True,
        )
    while time.monotonic() - started < TIMEOUT_SECONDS:
        status = run([dvc, "queue", "status"], project, env)
        if "Queued" not in status and "Running" not in status:
            elapsed = time.monotonic() - started
            if "Failed" in status:
                sys.exit(f"a queued run failed:\n{status}")
            return elapsed
        time.sleep(POLL_SECONDS)
    sys.exit(f"the queue was still busy after {TIMEOUT_SECONDS} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--jobs",
        type=int,
        nargs="+",
        default=[1, 2],
        help="queue worker counts to time (default: 1 2)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="sweeps per worker count (default: 1)"
    )
    args = parser.parse_args()

    # A queue worker can still be writing in the project as it shuts down.
    with tempfile.TemporaryDirectory(
        prefix="sweep-time-", ignore_cleanup_errors=True
    ) as folder:
        root = Path(folder)
        (root / "home").mkdir()
        env = environment(root / "home")
        run([BIN / "cookiecutter", "--no-input", "-o", root, TEMPLATE], root, env)
        project = root / SLUG
        run([BIN / "dvc", "repro"], project, env)
        run(["git", "add", "--all"], project, env)
        run(["git", "commit", "--quiet", "-m", "Run the pipeline"], project, env)

        seeds = itertools.count(1)
        print(f"4 queued experiments on {os.cpu_count()} cores; wall time in seconds")
        for jobs in args.jobs:
            figures = []
            for _ in range(args.repeat):
                load_before = os.getloadavg()[0]
                seconds = timed_sweep(project, env, jobs, next(seeds))
                load_after = os.getloadavg()[0]
                figures.append(
                    f"{seconds:.1f} (load {load_before:.1f}-{load_after:.1f})"
                )
            print(f"  -j {jobs}: {', '.join(figures)}")


if __name__ == "__main__":
    main()
