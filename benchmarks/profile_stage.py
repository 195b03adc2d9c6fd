"""Profile one stage of a baked project with cProfile and print where the time goes.

Usage, from the repository root, after scale.py has baked and run the project:

    .venv/bin/python benchmarks/profile_stage.py build/bench/bench-tabular-100000 train

It calls the stage's ``main()`` in this process, as the floor does, so the project's
outputs are rewritten with the same content. It prints the functions with the most
cumulative time, then the peak RSS of the process.
"""

import argparse
import cProfile
import importlib
import logging
import os
import pstats
import resource
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="a baked project folder")
    parser.add_argument("stage", choices=("prepare", "featurize", "train", "evaluate"))
    parser.add_argument("--top", type=int, default=25, help="functions to print")
    args = parser.parse_args()

    os.chdir(args.project)
    sys.path.insert(0, "src")
    (package,) = [path.parent.name for path in Path("src").glob("*/prepare.py")]
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    stage = importlib.import_module(f"{package}.{args.stage}")

    profile = cProfile.Profile()
    profile.runcall(stage.main)
    stats = pstats.Stats(profile, stream=sys.stdout)
    stats.strip_dirs().sort_stats("cumulative").print_stats(args.top)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
