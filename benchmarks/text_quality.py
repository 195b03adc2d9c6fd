"""Compare the text test scores with the reference's over several forest seeds.

One forest seed is one draw: on the benchmark posts, ROC AUC and average precision
move by one to two hundredths between seeds, as much as the gaps that scale.py
reports.
This runs both pipelines with the same seeds and prints the scores of each seed,
then their means and standard deviations.

    python benchmarks/text_quality.py build/bench/bench-text-20000 \\
        build/bench-data/posts-20000.csv --seeds 1 2 3 4 5

PROJECT is a text project that scale.py baked and ran, and DATA its posts. For each
seed, ``dvc exp run -S train.seed=SEED`` reruns train and evaluate (the seed also
picks the rows held out for the training curve), and the reference forest is fitted
with ``random_state=SEED`` on the same train rows. The workspace is restored to its
commit at the end.
"""

import argparse
import statistics
from pathlib import Path

from harness import run
from scale import BIN, environment, scores, text_reference

METRICS = ("roc_auc", "average_precision")


def ours(project: Path, seed: int, env: dict[str, str]) -> dict[str, float]:
    run([BIN / "dvc", "exp", "run", "-S", f"train.seed={seed}"], project, env)
    found = scores(project)
    return {name: found[name] for name in METRICS}


def line(row: dict[str, float]) -> str:
    auc, precision = row["roc_auc"], row["average_precision"]
    return f"ROC AUC {auc:.4f}, average precision {precision:.4f}"


def summary(rows: list[dict[str, float]], name: str) -> str:
    values = [row[name] for row in rows]
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    args = parser.parse_args()
    project, data = args.project.resolve(), args.data.resolve()
    env = environment()

    results = {"ours": [], "reference": []}
    try:
        for seed in args.seeds:
            results["ours"].append(ours(project, seed, env))
            reference = text_reference(project, data, seed)
            results["reference"].append({name: reference[name] for name in METRICS})
            print(
                f"seed {seed}: ours {line(results['ours'][-1])}, "
                f"reference {line(results['reference'][-1])}",
                flush=True,
            )
    finally:
        run(["git", "checkout", "--", "."], project, env)
        run([BIN / "dvc", "checkout", "--force"], project, env)

    print("\n| pipeline | ROC AUC | average precision |")
    print("|---|---|---|")
    for label, rows in results.items():
        auc, precision = summary(rows, "roc_auc"), summary(rows, "average_precision")
        print(f"| {label} | {auc} | {precision} |")
    print(f"seeds: {' '.join(map(str, args.seeds))}")


if __name__ == "__main__":
    main()
