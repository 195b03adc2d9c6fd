import json
import math
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }} import evaluate, featurize, prepare, train
from {{ cookiecutter.package_name }}.data import DataError, check_columns, read_raw
from {{ cookiecutter.package_name }}.files import write_json
from {{ cookiecutter.package_name }}.model_io import load_model, save_model
from {{ cookiecutter.package_name }}.params import (
    GradientBoostingParams,
    LogisticRegressionParams,
    MLPParams,
    RandomForestParams,
    TrainParams,
)
from {{ cookiecutter.package_name }}.paths import TARGET

PROJECT = Path(__file__).parents[1]
PACKAGE = "{{ cookiecutter.package_name }}"


def train_params(model: str) -> TrainParams:
    return TrainParams(
        model=model,
        seed=0,
        class_weight=None,
        random_forest=RandomForestParams(
            n_estimators=10, max_depth=None, min_samples_leaf=1
        ),
        logistic_regression=LogisticRegressionParams(C=1.0, max_iter=200),
        validation_fraction=0.2,
        mlp=MLPParams(
            hidden_layer_sizes=(8,),
            learning_rate_init=0.01,
            alpha=0.0001,
            batch_size=16,
            max_epochs=30,
            early_stopping=True,
            patience=3,
        ),
        gradient_boosting=GradientBoostingParams(
            max_iter=20,
            learning_rate=0.1,
            max_leaf_nodes=8,
            min_samples_leaf=5,
            early_stopping=True,
            patience=3,
        ),
    )


def test_split_is_stratified_and_renames_target(binary_frame):
    train_set, test_set = prepare.split(binary_frame, "label", test_size=0.25, seed=0)
    assert len(test_set) == 10
    assert len(train_set) == 30
    assert test_set[TARGET].value_counts().to_dict() == {"no": 5, "yes": 5}
    assert "label" not in train_set.columns


def test_split_rejects_class_with_one_row(binary_frame):
    frame = pd.concat([binary_frame, binary_frame.head(1).assign(label="rare")])
    with pytest.raises(
        DataError, match="class 'rare' of target column 'label' has a single row"
    ):
        prepare.split(frame, "label", test_size=0.25, seed=0)


def test_split_rejects_tiny_test_set(binary_frame):
    with pytest.raises(DataError, match="puts 1 of 40 rows in the test set"):
        prepare.split(binary_frame, "label", test_size=0.01, seed=0)


def test_missing_target_column_suggests_name(binary_frame):
    with pytest.raises(DataError, match="has no column 'lable'.*Did you mean 'label'"):
        check_columns(binary_frame, "lable", Path("raw.csv"))


def test_single_class_target_rejected(binary_frame):
    with pytest.raises(DataError, match="has a single class \\('no'\\)"):
        check_columns(binary_frame.assign(label="no"), "label", Path("raw.csv"))


def test_missing_target_values_rejected(binary_frame):
    frame = binary_frame.astype({"label": object})
    frame.loc[3, "label"] = None
    with pytest.raises(
        DataError, match="has 1 missing values \\(first at file lines 5\\)"
    ):
        check_columns(frame, "label", Path("raw.csv"))


def test_fractional_target_rejected(binary_frame):
    frame = binary_frame.assign(
        label=np.where(binary_frame["label"] == "yes", 2.5, 1.0)
    )
    with pytest.raises(DataError, match="has fractional numbers such as 2.5"):
        check_columns(frame, "label", Path("raw.csv"))


def test_empty_column_rejected(binary_frame):
    with pytest.raises(DataError, match="no values in any row: blank"):
        check_columns(binary_frame.assign(blank=np.nan), "label", Path("raw.csv"))


def test_text_column_rejected(binary_frame):
    with pytest.raises(DataError, match="not numeric: colour"):
        check_columns(binary_frame.assign(colour="red"), "label", Path("raw.csv"))


@pytest.mark.parametrize("value", [np.inf, -np.inf, 1e39])
def test_infinite_values_rejected(binary_frame, value):
    frame = binary_frame.copy()
    frame.loc[6, "noise"] = value
    with pytest.raises(DataError, match="columns noise \\(first at file line 8\\)"):
        check_columns(frame, "label", Path("raw.csv"))


def test_read_raw_missing_file_says_dvc_pull(tmp_path):
    with pytest.raises(DataError, match="not found.*dvc pull"):
        read_raw(tmp_path / "data.csv")


def test_read_raw_empty_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"")
    with pytest.raises(DataError, match="is empty \\(0 bytes\\)"):
        read_raw(path)


def test_read_raw_header_only(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b,label\n", encoding="utf-8")
    with pytest.raises(DataError, match="has a header but no rows"):
        read_raw(path)


def test_read_raw_bad_parquet(tmp_path):
    path = tmp_path / "data.parquet"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError, match="is not a valid Parquet file"):
        read_raw(path)


def test_fill_values_come_from_train_only(multiclass_features):
    train_set = multiclass_features.copy()
    train_set.loc[0, "signal"] = np.nan
    test_set = multiclass_features.head(3).copy()
    test_set["signal"] = np.nan
    fill_values = featurize.fit_fill_values(train_set, "median")
    filled = featurize.transform(test_set, fill_values)
    assert fill_values["signal"] == pytest.approx(train_set["signal"].median())
    assert filled["signal"].tolist() == [fill_values["signal"]] * 3
    assert filled.columns[-1] == TARGET


MODELS = ["random_forest", "logistic_regression", "mlp", "gradient_boosting"]


@pytest.mark.parametrize("model", MODELS)
def test_models_score_well_on_separable_data(multiclass_features, model):
    fitted, curve = train.fit(multiclass_features, train_params(model))
    assert curve[-1].validation_accuracy > 0.8
    features = multiclass_features.drop(columns=[TARGET])
    proba = fitted.predict_proba(features)
    classes = list(fitted.classes_)
    scores = evaluate.compute_metrics(
        multiclass_features[TARGET].to_numpy(), proba, classes, 2
    )
    assert set(scores) == {"accuracy", "balanced_accuracy", "f1", "log_loss", "roc_auc"}
    assert scores["accuracy"] > 0.9
    assert scores["roc_auc"] > 0.9


def test_binary_metrics_score_positive_class():
    y_true = np.array(["no", "no", "yes", "yes"], dtype=object)
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8]])
    scores = evaluate.compute_metrics(y_true, proba, ["no", "yes"], positive=1)
    assert scores["accuracy"] == 0.75
    assert scores["f1"] == pytest.approx(0.8)
    assert scores["roc_auc"] == 1.0


@pytest.mark.parametrize(
    "classes", [[0, 1], [False, True], [1.0, 2.0]], ids=["int", "bool", "float"]
)
def test_binary_metrics_accept_non_text_labels(classes):
    labels = np.array(classes)
    y_true = labels[[0, 0, 1, 1]]
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8]])
    scores = evaluate.compute_metrics(y_true, proba, list(labels), positive=1)
    assert scores["accuracy"] == 0.75
    assert scores["roc_auc"] == 1.0
    roc, _ = evaluate.curves(y_true, proba, list(labels), positive=1)
    assert list(roc) == [str(classes[1])]


def test_numeric_classes_named_plainly():
    with pytest.raises(DataError, match="The classes are: 0, 1;"):
        evaluate.positive_index(list(np.array([0, 1])), 5)


def test_unknown_positive_class_lists_classes():
    with pytest.raises(
        DataError, match="is 'maybe', which is not a class.*'no', 'yes'"
    ):
        evaluate.positive_index(["no", "yes"], "maybe")


def test_curves_have_finite_json(tmp_path):
    y_true = np.array(["a", "b", "c", "a", "b", "c"], dtype=object)
    proba = np.eye(3)[[0, 1, 2, 1, 1, 2]] * 0.8 + 0.2 / 3
    roc, precision_recall = evaluate.curves(y_true, proba, ["a", "b", "c"], positive=2)
    assert sorted(roc) == ["a", "b", "c"]
    assert sorted(precision_recall) == ["a", "b", "c"]
    path = tmp_path / "roc.json"
    write_json(path, roc["a"])
    text = path.read_text(encoding="utf-8")
    points = json.loads(text, parse_constant=lambda name: pytest.fail(f"found {name}"))
    assert points[0]["threshold"] is None
    assert all(math.isfinite(point["fpr"]) for point in points)


@pytest.mark.parametrize("model", MODELS)
def test_feature_importance_ranks_signal_first(multiclass_features, model):
    fitted, _ = train.fit(multiclass_features, train_params(model))
    features = multiclass_features.drop(columns=[TARGET])
    labels = multiclass_features[TARGET].to_numpy()
    ranking = evaluate.feature_importance(fitted, features, labels, top=2)
    assert ranking[0]["feature"] == "signal"
    assert ranking[0]["importance"] >= ranking[1]["importance"]


def test_forest_curve_has_ten_steps(multiclass_features):
    _, curve = train.fit(multiclass_features, train_params("random_forest"))
    assert [point.step for point in curve] == list(range(1, 11))


def test_mlp_stops_early(multiclass_features):
    params = replace(
        train_params("mlp"),
        mlp=replace(train_params("mlp").mlp, learning_rate_init=0.1, max_epochs=500),
    )
    _, curve = train.fit(multiclass_features, params)
    assert len(curve) < params.mlp.max_epochs
    assert [point.step for point in curve] == list(range(1, len(curve) + 1))


def test_boosting_curve_follows_iterations(multiclass_features):
    fitted, curve = train.fit(multiclass_features, train_params("gradient_boosting"))
    assert len(curve) == fitted.n_iter_


def test_saved_model_loads_and_repeats_bytes(multiclass_features, tmp_path):
    fitted, _ = train.fit(multiclass_features, train_params("random_forest"))
    first, second = tmp_path / "first.skops", tmp_path / "second.skops"
    save_model(fitted, first)
    save_model(fitted, second)
    assert first.read_bytes() == second.read_bytes()
    features = multiclass_features.drop(columns=[TARGET])
    loaded = load_model(first)
    assert np.array_equal(
        loaded.predict_proba(features), fitted.predict_proba(features)
    )


def stage_imports(stage: str) -> set[str]:
    """Return the project files that importing a stage module loads."""
    code = (
        f"import sys, {PACKAGE}.{stage}\n"
        f"print(*(name for name in sys.modules if name.startswith('{PACKAGE}')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT / "src",
        capture_output=True,
        text=True,
        check=True,
    )
    names = result.stdout.split()
    return {
        f"src/{PACKAGE}/__init__.py"
        if name == PACKAGE
        else f"src/{name.replace('.', '/')}.py"
        for name in names
    }


@pytest.mark.parametrize("stage", ["prepare", "featurize", "train", "evaluate"])
def test_dvc_yaml_lists_every_imported_module(stage):
    pipeline = yaml.safe_load((PROJECT / "dvc.yaml").read_text(encoding="utf-8"))
    deps = set(pipeline["stages"][stage]["deps"])
    code_deps = {dep for dep in deps if re.fullmatch(rf"src/{PACKAGE}/\w+\.py", dep)}
    assert code_deps == stage_imports(stage)
    assert "src/run_stage.py" in deps
