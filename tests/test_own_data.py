"""Bring your own data: bakes with dataset=csv, files with every column role and
task, and the bad cases, each run through the real `dvc repro`."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import bake, dvc, run

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("own_data")]

WORDS = {
    "yes": ["ggplot2", "dplyr", "tibble", "factor", "vector"],
    "no": ["pandas", "numpy", "jquery", "android", "mysql"],
}
COMMON = ["how", "to", "read", "a", "file", "loop", "over", "rows", "plot", "data"]


@pytest.fixture(scope="session")
def csv_project(tmp_path_factory, env) -> Path:
    """A project baked with dataset=csv and no data yet. Read only."""
    output = tmp_path_factory.mktemp("csv")
    result = bake(output, env, dataset="csv", project_name="Own data")
    assert "no data yet. Copy your .csv or .parquet file to data/raw/data.csv" in (
        result.stderr
    )
    return output / "own-data"


@pytest.fixture(scope="session")
def regression_project(tmp_path_factory, env) -> Path:
    output = tmp_path_factory.mktemp("regression")
    bake(output, env, dataset="csv", task="regression", project_name="Own data")
    return output / "own-data"


def with_data(
    project: Path,
    tmp_path: Path,
    env: dict[str, str],
    frame: pd.DataFrame,
    target: str,
    columns: str = "{}",
    name: str = "data.csv",
) -> Path:
    """Copy ``project``, put ``frame`` in data/raw/ as the README describes, and set the
    target and the column roles in params.yaml."""
    copy = tmp_path / project.name
    shutil.copytree(project, copy, symlinks=True)
    raw = copy / "data/raw" / name
    if name.endswith(".parquet"):
        frame.to_parquet(raw, index=False)
    else:
        frame.to_csv(raw, index=False)
    params = copy / "params.yaml"
    text = params.read_text(encoding="utf-8")
    text = text.replace("raw: data/raw/data.csv", f"raw: data/raw/{name}")
    text = text.replace("target: target ", f"target: {target} ")
    text = text.replace("columns: {}", f"columns: {columns}")
    params.write_text(text, encoding="utf-8")
    dvc(copy, env, "add", "--quiet", f"data/raw/{name}")
    return copy


def metrics(project: Path) -> dict:
    path = project / "dvclive/evaluate/metrics.json"
    return json.loads(path.read_text(encoding="utf-8"))


def plot_errors(project: Path, env: dict[str, str]) -> list:
    shown = json.loads(dvc(project, env, "plots", "show", "--json").stdout)
    return shown.get("errors") or []


def mixed_frame(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """An id, a numeric, a categorical and a text column, with missing values; the
    label depends on all three."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(["yes", "no"], size=rows)
    is_yes = labels == "yes"
    size = rng.normal(size=rows) + is_yes
    city = np.where(
        rng.random(rows) < 0.7,
        np.where(is_yes, "paris", "lyon"),
        rng.choice(["nice", "brest", "lille"], size=rows),
    )
    notes = [
        " ".join(rng.choice(COMMON, size=6)) + " " + rng.choice(WORDS[label])
        for label in labels
    ]
    frame = pd.DataFrame(
        {"id": np.arange(1, rows + 1), "size": size, "city": city, "notes": notes}
    )
    frame.loc[::11, "size"] = np.nan
    frame.loc[::13, "city"] = None
    frame["label"] = labels
    return frame


def posts(rows: int = 300, seed: int = 1) -> pd.DataFrame:
    """Posts with a title, an HTML body and a 0/1 label, like StackOverflow's."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(rows) < 0.35).astype(int)
    titles, bodies = [], []
    for label in labels:
        words = WORDS["yes" if label else "no"]
        titles.append(" ".join([*rng.choice(COMMON, size=4), rng.choice(words)]))
        sentences = [
            " ".join([*rng.choice(COMMON, size=8), rng.choice(words)]) for _ in range(3)
        ]
        bodies.append("<p>" + ". ".join(sentences) + ".</p>")
    return pd.DataFrame(
        {"id": np.arange(rows), "title": titles, "body": bodies, "label": labels}
    )


def test_every_role_feeds_a_binary_classifier(csv_project, tmp_path, env):
    project = with_data(csv_project, tmp_path, env, mixed_frame(), "label")
    result = dvc(project, env, "repro")

    assert (
        "column roles (override under data.columns in params.yaml): numeric 1 (size);"
        " categorical 1 (city); text 1 (notes); drop 1 (id)" in result.stderr
    )
    scores = metrics(project)["test"]
    assert scores["roc_auc"] > 0.9
    assert scores["average_precision"] > 0.9
    fitted = json.loads(
        (project / "data/features/featurizer.json").read_text(encoding="utf-8")
    )
    assert "size" in fitted["numeric"]
    assert "paris" in fitted["categorical"]["city"]["categories"]
    assert "ggplot2" in fitted["text"]["vocabulary"]
    assert plot_errors(project, env) == []


def test_same_data_gives_the_same_bytes(csv_project, tmp_path, env):
    project = with_data(csv_project, tmp_path, env, mixed_frame(), "label")
    dvc(project, env, "repro")
    first = (project / "dvc.lock").read_text(encoding="utf-8")
    dvc(project, env, "repro", "--force")
    assert (project / "dvc.lock").read_text(encoding="utf-8") == first


def test_changing_the_model_keeps_the_features(csv_project, tmp_path, env):
    project = with_data(csv_project, tmp_path, env, mixed_frame(), "label")
    dvc(project, env, "repro")
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    params.write_text(
        text.replace("model: random_forest", "model: logistic_regression"),
        encoding="utf-8",
    )
    result = dvc(project, env, "repro")
    assert "Stage 'featurize' didn't change, skipping" in result.stdout
    assert "Running stage 'train'" in result.stdout


# On these posts, words and pairs give about 280 terms with 13% of the weights
# non-zero, stored dense. Up to three words give 1000 terms with about 5% non-zero,
# stored sparse.
@pytest.mark.parametrize(
    ("model", "ngram_range", "storage"),
    [
        ("gradient_boosting", "[1, 2]", "dense"),
        ("gradient_boosting", "[1, 3]", "sparse"),
        ("mlp", "[1, 2]", "dense"),
        ("mlp", "[1, 3]", "sparse"),
    ],
)
def test_text_posts_classify_with_every_model(
    csv_project, tmp_path, env, model, ngram_range, storage
):
    project = with_data(csv_project, tmp_path, env, posts(), "label")
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    text = text.replace("model: random_forest", f"model: {model}")
    text = text.replace("ngram_range: [1, 2]", f"ngram_range: {ngram_range}")
    params.write_text(text, encoding="utf-8")
    result = dvc(project, env, "repro")

    assert "text 2 (title, body); drop 1 (id)" in result.stderr
    assert f"{storage} features" in result.stderr
    assert metrics(project)["test"]["roc_auc"] > 0.9


def test_numeric_labels_with_three_classes(csv_project, tmp_path, env):
    frame = mixed_frame(rows=360).drop(columns=["notes"])
    frame["label"] = np.arange(len(frame)) % 3 + 1
    frame["size"] = frame["label"] * 2.0 + np.random.default_rng(3).normal(
        0, 0.3, len(frame)
    )
    project = with_data(csv_project, tmp_path, env, frame, "label")
    dvc(project, env, "repro")

    assert metrics(project)["test"]["accuracy"] > 0.9
    roc_folder = project / "dvclive/evaluate/plots/roc"
    roc = sorted(path.name for path in roc_folder.iterdir())
    assert roc == ["1.json", "2.json", "3.json"]
    assert plot_errors(project, env) == []


def test_regression_from_parquet(regression_project, tmp_path, env):
    rng = np.random.default_rng(4)
    frame = mixed_frame(rows=300).drop(columns=["label"])
    frame["price"] = (
        10 * frame["size"].fillna(0)
        + np.where(frame["city"] == "paris", 5.0, 0.0)
        + rng.normal(0, 0.5, len(frame))
    )
    project = with_data(
        regression_project, tmp_path, env, frame, "price", name="homes.parquet"
    )
    result = dvc(project, env, "repro")

    assert "validation rmse" in result.stderr
    scores = metrics(project)
    assert set(scores["test"]) == {"mae", "r2", "rmse"}
    assert scores["test"]["r2"] > 0.8
    points = json.loads(
        (project / "dvclive/evaluate/plots/predicted_vs_actual.json").read_text(
            encoding="utf-8"
        )
    )
    assert set(points[0]) == {"actual", "predicted"}
    assert (project / "dvclive/train/plots/metrics/validation/r2.tsv").exists()
    assert plot_errors(project, env) == []


def test_regression_rejects_a_text_target(regression_project, tmp_path, env):
    frame = mixed_frame().rename(columns={"label": "price"})
    project = with_data(regression_project, tmp_path, env, frame, "price")
    result = dvc(project, env, "repro", check=False)
    assert result.returncode != 0
    message = "target column 'price' of data/raw/data.csv contains text such as"
    assert message in result.stderr
    assert "bake a project with task=classification" in result.stderr


BAD_CASES = [
    (
        "unknown column in params",
        lambda frame: frame,
        "{sise: numeric}",
        "data.columns in params.yaml names column 'sise', which data/raw/data.csv "
        "does not have. Did you mean 'size'?",
    ),
    (
        "target with missing values",
        lambda frame: frame.assign(label=frame["label"].where(frame.index != 4)),
        "{}",
        "target column 'label' of data/raw/data.csv has 1 missing values (first at "
        "file lines 6): fill them in or drop those rows",
    ),
    (
        "role cannot be inferred",
        lambda frame: frame.assign(email=[f"user{i}@example.com" for i in frame.index]),
        "{}",
        "cannot tell the role of columns email of data/raw/data.csv",
    ),
    (
        "text in a numeric column",
        lambda frame: frame,
        "{city: numeric}",
        "has columns set to numeric that contain text: city",
    ),
]


@pytest.mark.parametrize(
    ("change", "columns", "message"),
    [case[1:] for case in BAD_CASES],
    ids=[case[0] for case in BAD_CASES],
)
def test_bad_data_stops_prepare_with_the_fix(
    csv_project, tmp_path, env, change, columns, message
):
    project = with_data(
        csv_project, tmp_path, env, change(mixed_frame()), "label", columns
    )
    result = dvc(project, env, "repro", check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert not (project / "data/prepared").exists()


def test_prepare_without_data_names_fix(csv_project, env):
    result = run(
        ["python", "src/run_stage.py", "prepare"], cwd=csv_project, env=env, check=False
    )
    assert result.returncode == 1
    assert "raw data file data/raw/data.csv not found" in result.stderr
    assert "run `dvc add data/raw/data.csv`" in result.stderr
