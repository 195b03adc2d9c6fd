"""Profile one stage of a baked project with cProfile and print where the time goes.

Usage, from the repository root, after scale.py has baked and run the project:

    .venv/bin/python benchmarks/profile_stage.py build/bench/bench-tabular-100000 train

It calls the stage's ``main()`` in this process, as the floor does, so the project's
outputs are rewritten with the same content. It prints the functions with the most
cumulative time, then the peak RSS of the process. With ``--memory`` it samples the
RSS every 20 ms instead, and prints the largest RSS seen at each line of the
project's code that was running, so the line that reaches the peak comes first.
"""

import argparse
import cProfile
import importlib
import logging
import os
import pstats
import resource
import sys
import threading
import time
from pathlib import Path

PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 1024**2


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * PAGE_MB


def location(frame, source: Path) -> str:
    """Return the innermost line of the project's code in ``frame``'s stack."""
    inner = f"{frame.f_code.co_name} ({Path(frame.f_code.co_filename).name})"
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if source in path.parents:
            return f"{path.name}:{frame.f_lineno} {frame.f_code.co_name}, in {inner}"
        frame = frame.f_back
    return inner


def sample_memory(stage_main, source: Path) -> dict[str, float]:
    """Run ``stage_main`` while a thread records the largest RSS per location."""
    peaks: dict[str, float] = {}
    done = threading.Event()
    main_thread = threading.get_ident()

    def sample() -> None:
        while not done.is_set():
            frame = sys._current_frames().get(main_thread)
            if frame is not None:
                where = location(frame, source)
                peaks[where] = max(peaks.get(where, 0.0), rss_mb())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        stage_main()
    finally:
        done.set()
        sampler.join()
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="a baked project folder")
    parser.add_argument("stage", choices=("prepare", "featurize", "train", "evaluate"))
    parser.add_argument("--top", type=int, default=25, help="functions to print")
    parser.add_argument(
        "--memory", action="store_true", help="sample RSS per line instead of time"
    )
    args = parser.parse_args()

    os.chdir(args.project)
    sys.path.insert(0, "src")
    (package,) = [path.parent.name for path in Path("src").glob("*/prepare.py")]
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    stage = importlib.import_module(f"{package}.{args.stage}")

    if args.memory:
        peaks = sample_memory(stage.main, Path("src").resolve())
        for where, peak in sorted(peaks.items(), key=lambda item: -item[1])[: args.top]:
            print(f"{peak:8.0f} MB  {where}")
        return

    profile = cProfile.Profile()
    profile.runcall(stage.main)
    stats = pstats.Stats(profile, stream=sys.stdout)
    stats.strip_dirs().sort_stats("cumulative").print_stats(args.top)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
