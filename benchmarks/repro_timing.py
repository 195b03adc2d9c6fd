"""Time a cold and a no-op `dvc repro` of a freshly baked default project.

Run from the repository root with the template's environment:
    .venv/bin/python benchmarks/repro_timing.py [--runs 3]
It prints the median wall time of each, and per stage of the cold run.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=3, help="repetitions of each timing"
    )
    args = parser.parse_args()

    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    env["DVC_NO_ANALYTICS"] = "1"
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder)
        bake = [BIN / "cookiecutter", "--no-input", "--output-dir", output, TEMPLATE]
        bake_seconds = timed([str(part) for part in bake], output, env)
        project = output / "tumour-classifier"
        dvc = str(BIN / "dvc")

        cold, noop = [], []
        stages = {name: [] for name in ("prepare", "featurize", "train", "evaluate")}
        for _ in range(args.runs):
            shutil.rmtree(project / ".dvc" / "cache" / "runs", ignore_errors=True)
            cold.append(timed([dvc, "repro", "--force"], project, env))
            noop.append(timed([dvc, "repro"], project, env))
            for stage, seconds in stages.items():
                command = [sys.executable, "src/run_stage.py", stage]
                seconds.append(timed(command, project, env))

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(
        f"bake with hooks (git init, dvc init, dvc add, commit): {bake_seconds:.2f} s"
    )
    median_cold = statistics.median(cold)
    print(f"cold dvc repro --force, median of {args.runs}: {median_cold:.2f} s")
    print(f"no-op dvc repro, median of {args.runs}: {statistics.median(noop):.2f} s")
    for stage, seconds in stages.items():
        print(f"  {stage} run alone, median: {statistics.median(seconds):.2f} s")


if __name__ == "__main__":
    main()
