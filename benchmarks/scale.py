"""Time the baked pipeline on large tables and many text posts, stage by stage.

Run from the repository root with the template's environment:

    .venv/bin/python benchmarks/scale.py --kind tabular --sizes 10000 100000 \
        --repeat 3 --out build/bench/tabular.json
    .venv/bin/python benchmarks/scale.py --quick          # small sizes, both kinds
    .venv/bin/python benchmarks/scale.py --report build/bench/*.json

For each size it generates the data (seeded, kept in build/bench-data/), bakes a
project with the real cookiecutter, puts the file under data/raw/, sets params.yaml,
`dvc add`s the file and commits. Then, per repeat, it runs `dvc repro --force` with
every stage command wrapped by stage_meter.py (wall time and peak RSS per stage), and
the floor: the four stages' ``main()`` called in order in one Python process. It also
records the raw table's size in memory, the import time of every stage module, and,
for text, the test scores of a plain TF-IDF and random forest pipeline written here.
``--report`` prints the figures and the targets as Markdown.
"""

import argparse
import datetime
import importlib.metadata
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml
from harness import run

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE.parent
BIN = Path(sys.executable).parent
DATA_DIR = TEMPLATE / "build" / "bench-data"
STAGES = ("prepare", "featurize", "train", "evaluate")
PACKAGES = (
    "dvc",
    "dvclive",
    "scikit-learn",
    "pandas",
    "numpy",
    "scipy",
    "pyarrow",
    "skops",
    "cookiecutter",
)
# The text reference: DVC's example-get-started measured on this machine class
# (posts: seconds, peak MB), and the work it does.
TEXT_REFERENCE = {10_000: (15.0, 245), 20_000: (21.2, 266), 40_000: (31.9, 365)}
TEXT_FEATURES, TEXT_NGRAMS, TEXT_TREES = 200, (1, 2), 50
QUICK_SIZES = {"tabular": [2_000], "text": [1_000]}
# --all: kind, sizes, repeats, and whether to time the floor. The largest size of
# each kind runs once, and the floor is skipped at a million rows because it would
# double a run of over half an hour.
FULL_PLAN = (
    ("tabular", [10_000, 100_000], 3, True),
    ("tabular", [1_000_000], 1, False),
    ("text", [10_000, 20_000], 3, True),
    ("text", [40_000], 1, True),
)

FLOOR = """
import importlib, json, logging, resource, sys, time
sys.path.insert(0, "src")
logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
seconds = {}
for stage in STAGES:
    start = time.perf_counter()
    importlib.import_module("PACKAGE." + stage).main()
    seconds[stage] = round(time.perf_counter() - start, 3)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"stages": seconds, "peak_rss_mb": round(peak, 1)}))
"""


def environment() -> dict[str, str]:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    env.update(
        DVC_NO_ANALYTICS="1",
        GIT_AUTHOR_NAME="Benchmark",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="Benchmark",
        GIT_COMMITTER_EMAIL="bench@example.com",
    )
    env.pop("PYTHONPATH", None)
    return env


def measured(command: list, cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run ``command``; return its wall time and the peak RSS in MB of its process tree.

    The peak is the largest RSS of the process or of any descendant it waited for.
    """
    log = cwd.parent / f"{cwd.name}.log"
    start = time.perf_counter()
    with open(log, "a", encoding="utf-8") as output:
        process = subprocess.Popen(
            [str(part) for part in command],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(
            f"{' '.join(map(str, command))} exited {process.returncode}: see {log}"
        )
    return seconds, usage.ru_maxrss / 1024


def machine() -> dict:
    info = {
        "nproc": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8")
    total_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    info["memory_gib"] = round(total_kb / 1024**2, 1)
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    info["cpu"] = model.group(1).strip() if model else platform.processor()
    info["packages"] = {name: importlib.metadata.version(name) for name in PACKAGES}
    return info


def load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


# Data -------------------------------------------------------------------------


def dataset(kind: str, size: int, suffix: str, env: dict[str, str]) -> Path:
    """Generate (once) and return the data file of ``size`` rows."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    name = "tabular" if kind == "tabular" else "posts"
    path = DATA_DIR / f"{name}-{size}{suffix}"
    if not path.exists():
        script = "gen_tabular.py" if kind == "tabular" else "gen_fake_posts.py"
        partial = path.with_name(f"partial-{path.name}")
        run([sys.executable, HERE / script, partial, size, 0], DATA_DIR, env)
        partial.replace(path)
    return path


def raw_memory(path: Path, env: dict[str, str]) -> dict:
    """Load the file with pandas' defaults; return its in-memory size and load time."""
    code = (
        "import sys, time, pandas as pd\n"
        "start = time.perf_counter()\n"
        "read = pd.read_parquet if sys.argv[1].endswith('.parquet') else pd.read_csv\n"
        "frame = read(sys.argv[1])\n"
        "seconds = time.perf_counter() - start\n"
        "print(frame.memory_usage(deep=True).sum(), seconds)\n"
    )
    size, seconds = run([sys.executable, "-c", code, path], DATA_DIR, env).split()
    return {
        "memory_mb": round(int(size) / 1024**2, 1),
        "file_mb": round(path.stat().st_size / 1024**2, 1),
        "read_seconds": round(float(seconds), 2),
    }


# Project ----------------------------------------------------------------------


def params_for(kind: str, raw: str) -> dict:
    """Return the params.yaml values that point a project at the benchmark data."""
    if kind == "tabular":
        return {
            "data.raw": raw,
            "data.target": "target_label",
            "evaluate.positive_class": "yes",
        }
    return {
        "data.raw": raw,
        "data.target": "label",
        "data.columns": {"id": "drop"},
        "featurize.text": {
            "max_features": TEXT_FEATURES,
            "ngram_range": list(TEXT_NGRAMS),
            "stop_words": "english",
        },
        "train.random_forest.n_estimators": TEXT_TREES,
        "evaluate.positive_class": None,
    }


def set_params(path: Path, values: dict) -> None:
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    for dotted, value in values.items():
        *parents, key = dotted.split(".")
        section = params
        for parent in parents:
            section = section.setdefault(parent, {})
        section[key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


def wrap_stages(project: Path, record: Path) -> None:
    """Put stage_meter.py in front of every stage command in dvc.yaml."""
    path = project / "dvc.yaml"
    text = path.read_text(encoding="utf-8")
    for stage in STAGES:
        command = f"python src/run_stage.py {stage}"
        meter = f"python {HERE / 'stage_meter.py'} {record} {stage} {command}"
        if f"cmd: {command}\n" not in text:
            sys.exit(f"dvc.yaml of {project} has no stage command `{command}`")
        text = text.replace(f"cmd: {command}\n", f"cmd: {meter}\n")
    path.write_text(text, encoding="utf-8")


def bake(kind: str, size: int, data: Path, workdir: Path, env: dict) -> Path:
    """Bake a project for ``data``, track the file with DVC and commit."""
    slug = f"bench-{kind}-{size}" + ("-parquet" if data.suffix == ".parquet" else "")
    project = workdir / slug
    shutil.rmtree(project, ignore_errors=True)
    log = workdir / f"{slug}.log"
    log.unlink(missing_ok=True)
    cookiecutter = [BIN / "cookiecutter", "--no-input", "--output-dir", workdir]
    answers = [f"project_name={slug}", f"dataset={template_dataset()}"]
    run([*cookiecutter, TEMPLATE, *answers], workdir, env)

    for tracked in sorted((project / "data" / "raw").glob("*.dvc")):
        run([BIN / "dvc", "remove", tracked.relative_to(project)], project, env)
        tracked.with_suffix("").unlink(missing_ok=True)
    data_file = data
    if template_dataset() != "csv" and kind == "tabular":
        data_file = numeric_only(data, env)
    raw = f"data/raw/{data_file.name}"
    shutil.copyfile(data_file, project / raw)
    set_params(project / "params.yaml", params_for(kind, raw))
    wrap_stages(project, workdir / f"{slug}.stages.jsonl")
    run([BIN / "dvc", "add", raw], project, env)
    run(["git", "add", "--all"], project, env)
    run(["git", "commit", "--quiet", "-m", "Use the benchmark data"], project, env)
    return project


def template_dataset() -> str:
    """Return ``csv`` when the template offers it, else the default dataset.

    A template without the csv choice gets the numeric columns of the table swapped
    into a default bake, so that older checkouts can still be timed.
    """
    answers = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    return "csv" if "csv" in answers["dataset"] else answers["dataset"][0]


def numeric_only(data: Path, env: dict[str, str]) -> Path:
    path = data.with_name(data.stem + "-numeric" + data.suffix)
    if not path.exists():
        code = (
            "import sys, pandas as pd\n"
            "frame = pd.read_csv(sys.argv[1])\n"
            "frame = frame.drop(columns=[c for c in frame if c.startswith('cat_')])\n"
            "frame.to_csv(sys.argv[2], index=False)\n"
        )
        run([sys.executable, "-c", code, data, path], DATA_DIR, env)
    return path


def package_of(project: Path) -> str:
    (package,) = [path.parent.name for path in (project / "src").glob("*/prepare.py")]
    return package


# Measurements -----------------------------------------------------------------


def pipeline(project: Path, workdir: Path, env: dict[str, str]) -> dict:
    """Run ``dvc repro --force`` from an empty run-cache; return times and peaks."""
    record = workdir / f"{project.name}.stages.jsonl"
    record.unlink(missing_ok=True)
    shutil.rmtree(project / ".dvc" / "cache" / "runs", ignore_errors=True)
    before = load()
    seconds, tree_peak = measured([BIN / "dvc", "repro", "--force"], project, env)
    lines = record.read_text(encoding="utf-8").splitlines()
    stages = {}
    for line in lines:
        entry = json.loads(line)
        stages[entry.pop("stage")] = entry
    return {
        "total_seconds": round(seconds, 2),
        "tree_peak_rss_mb": round(tree_peak, 1),
        "stages": stages,
        "load": [before, load()],
    }


def floor(project: Path, env: dict[str, str]) -> dict:
    """Call every stage's ``main()`` in order in one fresh Python process."""
    code = FLOOR.replace("STAGES", repr(STAGES)).replace("PACKAGE", package_of(project))
    before = load()
    start = time.perf_counter()
    output = run([sys.executable, "-c", code], project, env)
    seconds = time.perf_counter() - start
    result = json.loads(output.strip().splitlines()[-1])
    result["total_seconds"] = round(seconds, 2)
    result["load"] = [before, load()]
    return result


HEAVY = ("pandas", "numpy", "pyarrow", "sklearn", "scipy", "dvclive", "dvc", "skops")


def import_costs(project: Path, env: dict[str, str]) -> dict:
    """Time ``import pkg.stage`` per stage, and list the heavy packages it pulls in."""
    package = package_of(project)
    env = dict(env, PYTHONPATH="src")

    def wall(code: str) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            run([sys.executable, "-c", code], project, env)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    bare = wall("pass")
    costs = {"python_start_seconds": round(bare, 3)}
    for stage in STAGES:
        module = f"{package}.{stage}"
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        top, heavy = 0, {}
        for line in result.stderr.splitlines():
            match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| ( *)(\S+)", line)
            if not match:
                continue
            cumulative, indent, name = match.groups()
            if not indent:
                top += int(cumulative)
            root = name.split(".")[0]
            if root in HEAVY:
                seconds = round(int(cumulative) / 1e6, 3)
                heavy[root] = max(heavy.get(root, 0), seconds)
        costs[stage] = {
            "import_seconds": round(wall(f"import {module}") - bare, 3),
            "importtime_seconds": round(top / 1e6, 3),
            "heavy_packages": heavy,
        }
    return costs


def scores(project: Path) -> dict:
    """Return the test scores from the project's metrics file."""
    metrics = json.loads(
        (project / "dvclive" / "evaluate" / "metrics.json").read_text(encoding="utf-8")
    )
    test = metrics["test"]
    found = {"roc_auc": test.get("roc_auc")}
    found["average_precision"] = test.get("average_precision")
    if found["average_precision"] is None:
        found["average_precision"] = average_precision_from_curve(project)
        found["average_precision_source"] = "precision-recall plot data"
    return found


def average_precision_from_curve(project: Path) -> float | None:
    """Sum precision times the recall step over the precision-recall points."""
    folder = project / "dvclive" / "evaluate" / "plots" / "precision_recall"
    files = sorted(folder.glob("*.json"))
    if len(files) != 1:
        return None
    points = json.loads(files[0].read_text(encoding="utf-8"))
    total = 0.0
    for current, following in zip(points, points[1:], strict=False):
        total += (current["recall"] - following["recall"]) * current["precision"]
    return round(total, 6)


def text_reference(project: Path, data: Path, seed: int = 42) -> dict:
    """Score our re-implementation of a plain TF-IDF and forest on the same split.

    Title and body joined, word counts of the 200 most frequent words and bigrams
    (English stop words left out), TF-IDF weights, a 50-tree random forest. The train
    and test rows are the ones our prepare stage chose: the same seeded stratified
    split, checked against the titles in data/prepared/.
    """
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
    from sklearn.metrics import average_precision_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    posts = pd.read_csv(data)
    prepare = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    train_rows, test_rows = train_test_split(
        posts.index,
        test_size=prepare["prepare"]["test_size"],
        random_state=prepare["prepare"]["seed"],
        stratify=posts["label"],
    )
    parts = {}
    for split, rows in (("train", train_rows), ("test", test_rows)):
        chosen = posts.loc[sorted(rows)]
        prepared = pd.read_parquet(project / "data" / "prepared" / f"{split}.parquet")
        if chosen["title"].tolist() != prepared["title"].tolist():
            raise SystemExit(
                f"the reference's {split} rows differ from those in data/prepared/: "
                "prepare's split has changed, so change text_reference to match"
            )
        parts[split] = (chosen["title"] + " " + chosen["body"], chosen["label"])

    start = time.perf_counter()
    model = make_pipeline(
        CountVectorizer(
            stop_words="english", max_features=TEXT_FEATURES, ngram_range=TEXT_NGRAMS
        ),
        TfidfTransformer(),
        RandomForestClassifier(n_estimators=TEXT_TREES, random_state=seed, n_jobs=1),
    )
    model.fit(*parts["train"])
    text, labels = parts["test"]
    proba = model.predict_proba(text)[:, list(model.classes_).index(1)]
    return {
        "roc_auc": round(float(roc_auc_score(labels, proba)), 6),
        "average_precision": round(float(average_precision_score(labels, proba)), 6),
        "fit_predict_seconds": round(time.perf_counter() - start, 2),
    }


def benchmark(args: argparse.Namespace) -> dict:
    env = environment()
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    results = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout,
        "runs": [],
    }
    kinds = ["tabular", "text"] if args.quick else [args.kind]
    for kind in kinds:
        sizes = QUICK_SIZES[kind] if args.quick else args.sizes
        for position, size in enumerate(sizes):
            suffix = f".{args.format}" if kind == "tabular" else ".csv"
            data = dataset(kind, size, suffix, env)
            print(f"{kind} {size}: baking with {data.name}", flush=True)
            project = bake(kind, size, data, workdir, env)
            entry = {
                "kind": kind,
                "size": size,
                "format": suffix[1:],
                "dataset_answer": template_dataset(),
                "raw": raw_memory(data, env),
                "pipeline": [],
                "floor": [],
            }
            for repeat in range(args.repeat):
                entry["pipeline"].append(pipeline(project, workdir, env))
                if not args.no_floor:
                    entry["floor"].append(floor(project, env))
                floor_seconds = [run["total_seconds"] for run in entry["floor"]]
                print(
                    f"  run {repeat + 1}: dvc repro "
                    f"{entry['pipeline'][-1]['total_seconds']} s, floor "
                    f"{floor_seconds[-1:]} s, load "
                    f"{entry['pipeline'][-1]['load'][0][0]}",
                    flush=True,
                )
            entry["scores"] = scores(project)
            if kind == "text":
                entry["reference"] = text_reference(project, data)
            if position == 0 and not args.no_imports:
                entry["imports"] = import_costs(project, env)
            results["runs"].append(entry)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


# Report -----------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summary(entry: dict) -> dict:
    """Medians over repeats of the totals and of each stage's time and peak."""
    runs = entry["pipeline"]
    stages = {
        stage: {
            "seconds": median([run["stages"][stage]["seconds"] for run in runs]),
            "peak_rss_mb": median(
                [run["stages"][stage]["peak_rss_mb"] for run in runs]
            ),
        }
        for stage in STAGES
    }
    floors = entry["floor"]
    return {
        "total": median([run["total_seconds"] for run in runs]),
        "tree_peak": median([run["tree_peak_rss_mb"] for run in runs]),
        "stages": stages,
        "floor": median([run["total_seconds"] for run in floors]),
        "floor_stages": {
            stage: median([run["stages"][stage] for run in floors]) for stage in STAGES
        },
        "floor_peak": median([run["peak_rss_mb"] for run in floors]),
        "repeats": len(runs),
        "loads": sorted(
            {value for run in runs + floors for value in (run["load"][0][0],)}
        ),
    }


def number(value: float, spec: str) -> str:
    """Format ``value``, or return "-" for a figure that was not measured (NaN)."""
    return "-" if math.isnan(value) else format(value, spec)


def verdict(ok: bool) -> str:
    return "pass" if ok else "**fail**"


def report(paths: list[Path]) -> None:
    entries = {}
    for path in paths:
        for entry in json.loads(path.read_text(encoding="utf-8"))["runs"]:
            entries[(entry["kind"], entry["size"], entry["format"])] = entry
    sums = {key: summary(entry) for key, entry in entries.items()}

    print(
        "| data | rows | repeats | load (1 min) | dvc repro (s) | floor (s) | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for (kind, size, fmt), s in sorted(sums.items()):
        loads = ", ".join(f"{value:.1f}" for value in s["loads"])
        print(
            f"| {kind} ({fmt}) | {size:,} | {s['repeats']} | {loads} "
            f"| {s['total']:.1f} | {number(s['floor'], '.1f')} "
            f"| {number(s['total'] / s['floor'], '.2f')} |"
        )
    print()
    print(
        "| data | rows | " + " | ".join(STAGES) + " | dvc's own time (s) | "
        "floor per stage (s) |"
    )
    print("|---|---|" + "---|" * (len(STAGES) + 2))
    for (kind, size, fmt), s in sorted(sums.items()):
        cells = [
            f"{s['stages'][stage]['seconds']:.1f} s, "
            f"{s['stages'][stage]['peak_rss_mb']:.0f} MB"
            for stage in STAGES
        ]
        own = s["total"] - sum(s["stages"][stage]["seconds"] for stage in STAGES)
        floor_cells = " / ".join(
            number(s["floor_stages"][stage], ".1f") for stage in STAGES
        )
        print(
            f"| {kind} ({fmt}) | {size:,} | "
            + " | ".join(cells)
            + f" | {own:.1f} | {floor_cells} |"
        )
    print()
    print(
        "| data | rows | file (MB) | in memory (MB) | pandas read (s) | test ROC AUC "
        "| test AP | reference AUC / AP |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for key, entry in sorted(entries.items()):
        raw, found = entry["raw"], entry["scores"]
        ref = entry.get("reference")
        ref_text = (
            f"{ref['roc_auc']:.4f} / {ref['average_precision']:.4f}" if ref else "-"
        )
        print(
            f"| {key[0]} ({key[2]}) | {key[1]:,} | {raw['file_mb']} | "
            f"{raw['memory_mb']} | {raw['read_seconds']} | {found['roc_auc']:.4f} | "
            f"{found['average_precision']:.4f} | {ref_text} |"
        )
    print()
    targets(entries, sums)
    for key, entry in sorted(entries.items()):
        if "imports" in entry:
            print(f"\nImport cost, {key[0]}:\n")
            imports = entry["imports"]
            print(f"python start-up alone: {imports['python_start_seconds']:.3f} s\n")
            print(
                "| stage | import (s, wall) | -X importtime (s) | heavy packages (s) |"
            )
            print("|---|---|---|---|")
            for stage in STAGES:
                cost = imports[stage]
                heavy = ", ".join(
                    f"{k} {v:.2f}" for k, v in cost["heavy_packages"].items()
                )
                print(
                    f"| {stage} | {cost['import_seconds']:.2f} | "
                    f"{cost['importtime_seconds']:.2f} | {heavy} |"
                )


def targets(entries: dict, sums: dict) -> None:
    tab = {
        size: s
        for (kind, size, fmt), s in sums.items()
        if kind == "tabular" and fmt == "csv"
    }
    text = {size: s for (kind, size, _), s in sums.items() if kind == "text"}
    print("| target | figure | result |")
    print("|---|---|---|")
    if 100_000 in tab:
        ratio = tab[100_000]["total"] / tab[100_000]["floor"]
        print(
            f"| 1. dvc repro / floor at 100 000 rows ≤ 1.3 | {ratio:.2f} | "
            f"{verdict(ratio <= 1.3)} |"
        )
    for small, large in ((10_000, 100_000), (100_000, 1_000_000)):
        if small in tab and large in tab:
            pairs = [("total", tab[large]["total"] / tab[small]["total"])]
            pairs += [
                (
                    stage,
                    tab[large]["stages"][stage]["seconds"]
                    / tab[small]["stages"][stage]["seconds"],
                )
                for stage in STAGES
            ]
            for name, ratio in pairs:
                print(
                    f"| 2. {name}, {small:,} → {large:,} rows ≤ 12× | {ratio:.1f}× | "
                    f"{verdict(ratio <= 12)} |"
                )
    if 1_000_000 in tab:
        memory = entries[("tabular", 1_000_000, "csv")]["raw"]["memory_mb"]
        for stage in ("prepare", "featurize"):
            peak = tab[1_000_000]["stages"][stage]["peak_rss_mb"]
            print(
                f"| 3. {stage} peak at 1 000 000 rows ≤ 3 × {memory:.0f} MB | "
                f"{peak:.0f} MB ({peak / memory:.1f}×) | "
                f"{verdict(peak <= 3 * memory)} |"
            )
        for stage in ("train", "evaluate"):
            peak = tab[1_000_000]["stages"][stage]["peak_rss_mb"]
            print(
                f"| 3. {stage} peak at 1 000 000 rows ≤ 4096 MB | {peak:.0f} MB | "
                f"{verdict(peak <= 4096)} |"
            )
    for size, (seconds, peak_mb) in TEXT_REFERENCE.items():
        if size not in text:
            continue
        s = text[size]
        peak = max(s["stages"][stage]["peak_rss_mb"] for stage in STAGES)
        if size == 20_000:
            print(
                f"| 5. text {size:,}: dvc repro ≤ {seconds / 2:.1f} s | "
                f"{s['total']:.1f} s | {verdict(s['total'] <= seconds / 2)} |"
            )
        share = {20_000: 0.9, 40_000: 0.7}.get(size)
        if share:
            print(
                f"| 5. text {size:,}: peak ≤ {share:.0%} of {peak_mb} MB "
                f"= {share * peak_mb:.0f} MB | {peak:.0f} MB | "
                f"{verdict(peak <= share * peak_mb)} |"
            )
        entry = entries[("text", size, "csv")]
        ours, ref = entry["scores"], entry["reference"]
        for name in ("roc_auc", "average_precision"):
            print(
                f"| 5. text {size:,}: {name} ≥ reference {ref[name]:.4f} | "
                f"{ours[name]:.4f} | {verdict(ours[name] >= ref[name])} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("tabular", "text"), default="tabular")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per size")
    parser.add_argument(
        "--format", choices=("csv", "parquet"), default="csv", help="tabular file type"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, both kinds")
    parser.add_argument(
        "--all",
        action="store_true",
        help="every size of BENCHMARKS.md into --out's folder, then the report",
    )
    parser.add_argument("--no-imports", action="store_true", help="skip import times")
    parser.add_argument(
        "--no-floor", action="store_true", help="skip the one-process floor"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=TEMPLATE / "build" / "bench",
        help="folder of the baked projects",
    )
    parser.add_argument(
        "--out", type=Path, default=TEMPLATE / "build" / "bench" / "results.json"
    )
    parser.add_argument("--report", type=Path, nargs="+", help="results to print")
    args = parser.parse_args()

    if args.report:
        report(args.report)
        return
    if not args.all:
        benchmark(args)
        return
    outputs = []
    for kind, sizes, repeat, with_floor in FULL_PLAN:
        out = args.out.with_name(f"{kind}-{sizes[-1]}.json")
        outputs.append(out)
        settings = {"kind": kind, "sizes": sizes, "repeat": repeat, "out": out}
        settings["no_floor"] = args.no_floor or not with_floor
        benchmark(argparse.Namespace(**{**vars(args), **settings}))
    report(outputs)


if __name__ == "__main__":
    main()
