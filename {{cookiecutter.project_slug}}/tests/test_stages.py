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

from {{ cookiecutter.package_name }} import (
    evaluate,
    featurize,
    files,
    parallel,
    prepare,
    train,
)
from {{ cookiecutter.package_name }}.data import (
    DataError,
    check_features,
    check_target,
    infer_roles,
    read_raw,
)
from {{ cookiecutter.package_name }}.files import (
    atomic_dir,
    read_arrays,
    read_parquet,
    write_arrays,
    write_json,
    write_parquet,
)
from {{ cookiecutter.package_name }}.model_io import load_model, save_model
from {{ cookiecutter.package_name }}.params import (
    TASK,
    CategoricalParams,
    CsvParams,
    FeaturizeParams,
    GradientBoostingParams,
    LogisticRegressionParams,
    MLPParams,
    ParamsError,
    RandomForestParams,
    RidgeParams,
    TextParams,
    TrainParams,
)
from {{ cookiecutter.package_name }}.paths import TARGET

PROJECT = Path(__file__).parents[1]
PACKAGE = "{{ cookiecutter.package_name }}"
CSV = CsvParams(delimiter=",", encoding="utf-8")
RAW = Path("raw.csv")
classification_only = pytest.mark.skipif(
    TASK != "classification", reason="this project does regression"
)
regression_only = pytest.mark.skipif(
    TASK != "regression", reason="this project does classification"
)


def train_params(model: str) -> TrainParams:
    return TrainParams(
        model=model,
        seed=0,
        class_weight=None,
        random_forest=RandomForestParams(
            n_estimators=10, max_depth=None, min_samples_leaf=1, max_leaf_nodes=None
        ),
        logistic_regression=LogisticRegressionParams(C=1.0, max_iter=200),
        ridge=RidgeParams(alpha=1.0),
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


def featurize_params(**text) -> FeaturizeParams:
    return FeaturizeParams(
        impute_strategy="median",
        categorical=CategoricalParams(min_frequency=2, max_categories=None),
        text=TextParams(
            **{"max_features": 50, "ngram_range": (1, 1), "stop_words": None, **text}
        ),
    )


def arrays(frame: pd.DataFrame):
    """Return the features and labels of a frame of numeric features."""
    return frame.drop(columns=[TARGET]).to_numpy(), frame[TARGET].to_numpy()


@classification_only
def test_split_is_stratified_and_renames_target(binary_frame):
    train_set, test_set = prepare.split(binary_frame, "label", test_size=0.25, seed=0)
    assert len(test_set) == 10
    assert len(train_set) == 30
    assert test_set[TARGET].value_counts().to_dict() == {"no": 5, "yes": 5}
    assert "label" not in train_set.columns


@classification_only
def test_split_rejects_class_with_one_row(binary_frame):
    frame = pd.concat([binary_frame, binary_frame.head(1).assign(label="rare")])
    with pytest.raises(
        DataError, match="class 'rare' of target column 'label' has a single row"
    ):
        prepare.split(frame, "label", test_size=0.25, seed=0)


@classification_only
def test_split_rejects_tiny_test_set(binary_frame):
    with pytest.raises(DataError, match="puts 1 of 40 rows in the test set"):
        prepare.split(binary_frame, "label", test_size=0.01, seed=0)


def test_missing_target_column_suggests_name(binary_frame):
    with pytest.raises(DataError, match="has no column 'lable'.*Did you mean 'label'"):
        check_target(binary_frame, "lable", RAW)


@classification_only
def test_single_class_target_rejected(binary_frame):
    with pytest.raises(DataError, match="has a single class \\('no'\\)"):
        check_target(binary_frame.assign(label="no"), "label", RAW)


def test_missing_target_values_rejected(binary_frame):
    frame = binary_frame.astype({"label": object})
    frame.loc[3, "label"] = None
    with pytest.raises(
        DataError, match="has 1 missing values \\(first at file lines 5\\)"
    ):
        check_target(frame, "label", RAW)


@classification_only
def test_fractional_target_rejected(binary_frame):
    frame = binary_frame.assign(
        label=np.where(binary_frame["label"] == "yes", 2.5, 1.0)
    )
    with pytest.raises(
        DataError, match="has fractional numbers such as 2.5.*regression"
    ):
        check_target(frame, "label", RAW)


@regression_only
def test_text_target_rejected_for_regression(binary_frame):
    with pytest.raises(DataError, match="contains text such as 'no'.*must be numbers"):
        check_target(binary_frame, "label", RAW)


def test_roles_are_inferred(binary_frame):
    frame = binary_frame.assign(
        id=range(40),
        colour=["red", "blue", None, "green"] * 10,
        note=["a long note about the row"] * 40,
    )
    roles = infer_roles(frame, "label", {}, RAW)
    assert roles == {
        "signal": "numeric",
        "noise": "numeric",
        "id": "drop",
        "colour": "categorical",
        "note": "text",
    }


def test_role_overrides_win(binary_frame):
    frame = binary_frame.assign(id=range(40))
    roles = infer_roles(frame, "label", {"id": "categorical"}, RAW)
    assert roles["id"] == "categorical"


def test_unknown_column_in_roles_suggests_name(binary_frame):
    with pytest.raises(
        DataError, match="names column 'sigal', which raw.csv does not have.*'signal'"
    ):
        infer_roles(binary_frame, "label", {"sigal": "drop"}, RAW)


def test_unclear_role_names_column_and_fix(binary_frame):
    frame = binary_frame.assign(code=[f"C{index:03d}" for index in range(40)])
    with pytest.raises(
        DataError, match="cannot tell the role of columns code.*e.g. code: drop"
    ):
        infer_roles(frame, "label", {}, RAW)


def test_empty_column_rejected(binary_frame):
    frame = binary_frame.assign(blank=np.nan)
    roles = infer_roles(frame, "label", {}, RAW)
    with pytest.raises(DataError, match="no values in any row: blank"):
        check_features(frame, roles, RAW)


def test_text_in_numeric_column_rejected(binary_frame):
    frame = binary_frame.assign(colour="red")
    with pytest.raises(DataError, match="set to numeric that contain text: colour"):
        check_features(frame, {"signal": "numeric", "colour": "numeric"}, RAW)


@pytest.mark.parametrize("value", [np.inf, -np.inf, 1e39])
def test_infinite_values_rejected(binary_frame, value):
    frame = binary_frame.copy()
    frame.loc[6, "noise"] = value
    roles = {"signal": "numeric", "noise": "numeric"}
    with pytest.raises(DataError, match="columns noise \\(first at file line 8\\)"):
        check_features(frame, roles, RAW)


def test_read_raw_missing_file_says_dvc_pull(tmp_path):
    with pytest.raises(DataError, match="not found.*dvc pull"):
        read_raw(tmp_path / "data.csv", CSV)


def test_read_raw_empty_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"")
    with pytest.raises(DataError, match="is empty \\(0 bytes\\)"):
        read_raw(path, CSV)


def test_read_raw_header_only(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b,label\n", encoding="utf-8")
    with pytest.raises(DataError, match="has a header but no rows"):
        read_raw(path, CSV)


def test_read_raw_bad_parquet(tmp_path):
    path = tmp_path / "data.parquet"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError, match="is not a valid Parquet file"):
        read_raw(path, CSV)


def test_read_raw_semicolons_name_the_delimiter(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a;b;label\n1;2;x\n", encoding="utf-8")
    with pytest.raises(DataError, match="separated by ';', not ','.*delimiter"):
        read_raw(path, CSV)
    semicolons = CsvParams(delimiter=";", encoding="utf-8")
    assert list(read_raw(path, semicolons).columns) == ["a", "b", "label"]


def test_read_raw_wrong_encoding_names_the_param(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes("city,label\nBrüssel,x\n".encode("latin-1"))
    with pytest.raises(DataError, match="is not utf-8 text.*data.csv.encoding"):
        read_raw(path, CSV)
    latin = CsvParams(delimiter=",", encoding="latin-1")
    assert read_raw(path, latin)["city"].tolist() == ["Brüssel"]


def mixed_frame() -> pd.DataFrame:
    """Rows with a numeric, a categorical and a text column, and missing values."""
    return pd.DataFrame(
        {
            "size": [1.0, np.nan, 3.0, 5.0, 7.0, np.nan],
            "colour": ["red", "red", "blue", None, "blue", "green"],
            "note": ["big red box", "small red box", "", None, "blue box", "tiny"],
            TARGET: ["a", "a", "b", "b", "b", "a"],
        }
    )


ROLES = {"size": "numeric", "colour": "categorical", "note": "text"}


def test_featurizer_fits_on_train_only():
    train_set = mixed_frame()
    fitted = featurize.fit(train_set, ROLES, featurize_params())
    unseen = pd.DataFrame(
        {"size": [np.nan], "colour": ["purple"], "note": ["purple box"], TARGET: ["a"]}
    )
    row = featurize.transform(fitted, unseen)
    row = row.toarray() if hasattr(row, "toarray") else row
    names = fitted.feature_names()
    values = dict(zip(names, row[0].tolist(), strict=True))
    assert values["size"] == 4.0  # the train median
    # min_frequency 2: green and the missing value are rare; purple joins them
    assert values["colour_infrequent"] == 1.0
    assert "text:purple" not in names
    assert values["text:box"] > 0


def word_frame(words_per_row: int, rows: int = 40) -> pd.DataFrame:
    """Rows of ``words_per_row`` distinct words each, from a vocabulary of 40."""
    vocabulary = [f"w{number:02d}" for number in range(40)]
    notes = [
        " ".join(vocabulary[(row + step) % 40] for step in range(words_per_row))
        for row in range(rows)
    ]
    return pd.DataFrame({"note": notes, TARGET: ["a", "b"] * (rows // 2)})


def test_text_under_a_tenth_non_zero_is_sparse():
    frame = word_frame(words_per_row=3)
    fitted = featurize.fit(frame, {"note": "text"}, featurize_params())

    assert fitted.sparse
    assert hasattr(featurize.transform(fitted, frame), "toarray")


def test_text_of_many_terms_per_row_is_dense():
    frame = word_frame(words_per_row=8)
    fitted = featurize.fit(frame, {"note": "text"}, featurize_params())
    features = featurize.transform(fitted, frame)

    assert not fitted.sparse
    assert isinstance(features, np.ndarray)
    assert features.shape == (40, 40)
    assert np.count_nonzero(features) == 40 * 8


def test_large_dense_features_stay_sparse(monkeypatch):
    monkeypatch.setattr(featurize, "DENSE_MAX_BYTES", 40 * 40 * 4 - 1)
    fitted = featurize.fit(word_frame(8), {"note": "text"}, featurize_params())

    assert fitted.sparse


def test_large_numbers_stay_dense(monkeypatch):
    monkeypatch.setattr(featurize, "DENSE_MAX_BYTES", 1)
    frame = pd.DataFrame({"size": np.arange(40.0), TARGET: ["a", "b"] * 20})
    fitted = featurize.fit(frame, {"size": "numeric"}, featurize_params())

    assert not fitted.sparse


def test_train_text_weights_reused_exactly(tmp_path):
    frame = word_frame(words_per_row=8)
    fitted, text_features = featurize.fit_with_text(
        frame, {"note": "text"}, featurize_params()
    )

    featurize.write_split(fitted, frame, tmp_path / "once.npz", text_features)
    featurize.write_split(fitted, frame, tmp_path / "again.npz")

    assert (tmp_path / "once.npz").read_bytes() == (tmp_path / "again.npz").read_bytes()


def test_text_of_only_stop_words_names_the_param():
    frame = pd.DataFrame({"note": ["the and of", "a the"] * 4, TARGET: ["a", "b"] * 4})

    with pytest.raises(DataError) as raised:
        featurize.fit(frame, {"note": "text"}, featurize_params(stop_words="english"))

    message = str(raised.value)
    assert message.startswith("the text column note has no words in the train set")
    assert "set featurize.text.stop_words to null (it is english)" in message
    assert "set their role to drop under data.columns" in message


def test_empty_text_columns_get_drop_fix():
    frame = pd.DataFrame(
        {"note": ["", "!"] * 4, "memo": ["?", ""] * 4, TARGET: ["a", "b"] * 4}
    )

    with pytest.raises(DataError) as raised:
        featurize.fit(frame, {"note": "text", "memo": "text"}, featurize_params())

    message = str(raised.value)
    assert message.startswith("the text columns note, memo have no words")
    assert "stop_words" not in message
    assert message.endswith("set their role to drop under data.columns in params.yaml")


def test_stop_words_left_out():
    frame = pd.DataFrame(
        {"note": ["the red box", "a blue box of tea"] * 4, TARGET: ["a", "b"] * 4}
    )
    every_word = featurize.fit(frame, {"note": "text"}, featurize_params())
    dropped = featurize.fit(
        frame, {"note": "text"}, featurize_params(stop_words="english")
    )

    assert "text:the" in every_word.feature_names()
    assert "text:the" not in dropped.feature_names()
    assert "text:of" not in dropped.feature_names()
    assert "text:red" in dropped.feature_names()


def test_featurizer_description_lists_vocabulary():
    fitted = featurize.fit(mixed_frame(), ROLES, featurize_params())
    described = featurize.description(fitted)
    assert described["numeric"] == {"size": 4.0}
    assert described["categorical"]["colour"]["grouped"] == ["(missing)", "green"]
    assert sorted(described["text"]["vocabulary"]) == sorted(
        term.removeprefix("text:")
        for term in fitted.feature_names()
        if term.startswith("text:")
    )


def test_bigrams_follow_ngram_range():
    fitted = featurize.fit(
        mixed_frame(), {"note": "text"}, featurize_params(ngram_range=(1, 2))
    )
    assert "text:red box" in fitted.feature_names()


def test_killed_run_leftovers_are_removed(tmp_path):
    stale = tmp_path / ".features.abc123.tmp"
    stale.mkdir()
    (stale / "half.npz").write_bytes(b"partial")

    with atomic_dir(tmp_path / "features") as folder:
        (folder / "done.txt").write_text("complete", encoding="utf-8")

    assert not stale.exists()
    assert (tmp_path / "features" / "done.txt").exists()


def test_dense_features_stream_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(featurize, "CHUNK_ROWS", 4)
    frame = mixed_frame()
    roles = {"size": "numeric", "colour": "categorical"}
    fitted = featurize.fit(frame, roles, featurize_params())
    assert not fitted.sparse

    featurize.write_split(fitted, frame, tmp_path / "split.npz")

    written, labels = read_arrays(tmp_path / "split.npz")
    assert written.tolist() == featurize.transform(fitted, frame).tolist()
    assert labels.tolist() == frame[TARGET].tolist()


def test_parquet_rows_written_in_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "PARQUET_BATCH_ROWS", 3)
    frame = pd.DataFrame(
        {
            "size": np.arange(10, dtype="float32"),
            "colour": pd.Series(list("abcdefghij"), dtype="str"),
            TARGET: [0, 1] * 5,
        }
    )
    rows = np.array([0, 2, 3, 5, 6, 7, 9])

    write_parquet(tmp_path / "part.parquet", frame, rows)
    write_parquet(tmp_path / "again.parquet", frame, rows)

    expected = frame.take(rows).reset_index(drop=True)
    pd.testing.assert_frame_equal(read_parquet(tmp_path / "part.parquet"), expected)
    assert (tmp_path / "part.parquet").read_bytes() == (
        tmp_path / "again.parquet"
    ).read_bytes()


def test_parquet_of_no_rows_keeps_the_columns(tmp_path):
    frame = pd.DataFrame({"size": np.arange(4, dtype="float32"), TARGET: [0, 1, 0, 1]})

    write_parquet(tmp_path / "none.parquet", frame, np.array([], dtype=np.int64))

    written = read_parquet(tmp_path / "none.parquet")
    assert list(written.columns) == ["size", TARGET]
    assert len(written) == 0
    assert written["size"].dtype == np.float32


def test_arrays_round_trip_with_the_same_bytes(tmp_path):
    fitted = featurize.fit(mixed_frame(), ROLES, featurize_params())
    features = featurize.transform(fitted, mixed_frame())
    labels = mixed_frame()[TARGET].to_numpy()
    first, second = tmp_path / "first.npz", tmp_path / "second.npz"
    write_arrays(first, features, labels)
    write_arrays(second, features, labels)
    assert first.read_bytes() == second.read_bytes()
    loaded, loaded_labels = read_arrays(first)
    assert (abs(loaded - features)).max() == 0
    assert loaded_labels.tolist() == labels.tolist()


CLASSIFIERS = ["random_forest", "logistic_regression", "mlp", "gradient_boosting"]
REGRESSORS = ["random_forest", "ridge", "mlp", "gradient_boosting"]


@classification_only
@pytest.mark.parametrize("model", CLASSIFIERS)
def test_models_score_well_on_separable_data(multiclass_features, model):
    features, labels = arrays(multiclass_features)
    fitted, curve = train.fit(features, labels, train_params(model))
    assert curve[-1].validation_score > 0.8
    proba = fitted.predict_proba(features)
    classes = list(fitted.classes_)
    scores = evaluate.classification_metrics(labels, proba, classes, 2)
    assert set(scores) == {
        "accuracy",
        "average_precision",
        "balanced_accuracy",
        "f1",
        "log_loss",
        "roc_auc",
    }
    assert scores["accuracy"] > 0.9
    assert scores["roc_auc"] > 0.9


@classification_only
@pytest.mark.parametrize("model", CLASSIFIERS)
def test_models_take_sparse_features(multiclass_features, model):
    import scipy.sparse

    features, labels = arrays(multiclass_features)
    sparse = scipy.sparse.csr_matrix(features)
    fitted, curve = train.fit(sparse, labels, train_params(model))
    predicted = fitted.predict(evaluate.model_input(fitted, sparse))
    assert (predicted == labels).mean() >= 0.7


def regression_data():
    rng = np.random.default_rng(2)
    signal = rng.normal(0, 1, 80)
    noise = rng.normal(0, 1, 80)
    values = 3 * signal + rng.normal(0, 0.1, 80)
    return np.column_stack([signal, noise]), values


@regression_only
@pytest.mark.parametrize("model", REGRESSORS)
def test_regressors_fit_a_linear_signal(model):
    features, values = regression_data()
    fitted, curve = train.fit(features, values, train_params(model))
    assert curve[-1].validation_score > 0.7  # R²
    scores = evaluate.regression_metrics(values, fitted.predict(features))
    assert set(scores) == {"mae", "r2", "rmse"}
    assert scores["r2"] > 0.8


def test_regression_metrics_values():
    scores = evaluate.regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1, 2, 5]))
    assert scores["mae"] == pytest.approx(2 / 3)
    assert scores["rmse"] == pytest.approx(math.sqrt(4 / 3))


def test_predicted_vs_actual_is_thinned():
    values = np.arange(5000, dtype=float)
    points = evaluate.predicted_vs_actual(values, values + 1, limit=100)
    assert len(points) == 100
    assert points[0] == {"actual": 0.0, "predicted": 1.0}
    assert points[-1]["actual"] == 4999.0


def test_binary_metrics_score_positive_class():
    y_true = np.array(["no", "no", "yes", "yes"], dtype=object)
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8]])
    scores = evaluate.classification_metrics(y_true, proba, ["no", "yes"], positive=1)
    assert scores["accuracy"] == 0.75
    assert scores["f1"] == pytest.approx(0.8)
    assert scores["roc_auc"] == 1.0
    assert scores["average_precision"] == 1.0


@pytest.mark.parametrize(
    "classes", [[0, 1], [False, True], [1.0, 2.0]], ids=["int", "bool", "float"]
)
def test_binary_metrics_accept_non_text_labels(classes):
    labels = np.array(classes)
    y_true = labels[[0, 0, 1, 1]]
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8]])
    scores = evaluate.classification_metrics(y_true, proba, list(labels), positive=1)
    assert scores["accuracy"] == 0.75
    assert scores["roc_auc"] == 1.0
    roc, _ = evaluate.curves(y_true, proba, list(labels), positive=1)
    assert list(roc) == [str(classes[1])]


def test_numeric_classes_named_plainly():
    with pytest.raises(ParamsError, match="The classes are: 0, 1;"):
        evaluate.positive_index(list(np.array([0, 1])), 5)


def test_unknown_positive_class_lists_classes():
    with pytest.raises(
        ParamsError, match="is 'maybe', which is not a class.*'no', 'yes'"
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


@classification_only
@pytest.mark.parametrize("model", CLASSIFIERS)
def test_feature_importance_ranks_signal_first(multiclass_features, model):
    features, labels = arrays(multiclass_features)
    fitted, _ = train.fit(features, labels, train_params(model))
    names = ["signal", "noise"]
    ranking = evaluate.feature_importance(fitted, features, labels, names, top=2)
    assert ranking[0]["feature"] == "signal"
    assert ranking[0]["importance"] >= ranking[1]["importance"]


@regression_only
@pytest.mark.parametrize("model", REGRESSORS)
def test_regression_importance_ranks_signal_first(model):
    features, values = regression_data()
    fitted, _ = train.fit(features, values, train_params(model))
    names = ["signal", "noise"]
    ranking = evaluate.feature_importance(fitted, features, values, names, top=2)
    assert ranking[0]["feature"] == "signal"


@classification_only
def test_forest_curve_has_ten_steps(multiclass_features):
    _, curve = train.fit(*arrays(multiclass_features), train_params("random_forest"))
    assert [point.step for point in curve] == list(range(1, 11))


@classification_only
def test_mlp_stops_early(multiclass_features):
    params = replace(
        train_params("mlp"),
        mlp=replace(train_params("mlp").mlp, learning_rate_init=0.1, max_epochs=500),
    )
    _, curve = train.fit(*arrays(multiclass_features), params)
    assert len(curve) < params.mlp.max_epochs
    assert [point.step for point in curve] == list(range(1, len(curve) + 1))


@classification_only
def test_boosting_curve_follows_iterations(multiclass_features):
    fitted, curve = train.fit(
        *arrays(multiclass_features), train_params("gradient_boosting")
    )
    assert len(curve) == fitted.n_iter_


@classification_only
def test_saved_model_loads_and_repeats_bytes(multiclass_features, tmp_path):
    features, labels = arrays(multiclass_features)
    fitted, _ = train.fit(features, labels, train_params("random_forest"))
    first, second = tmp_path / "first.skops", tmp_path / "second.skops"
    save_model(fitted, first)
    save_model(fitted, second)
    assert first.read_bytes() == second.read_bytes()
    loaded = load_model(first)
    assert np.array_equal(
        loaded.predict_proba(features), fitted.predict_proba(features)
    )


@classification_only
def test_killed_save_leftover_removed(multiclass_features, tmp_path):
    features, labels = arrays(multiclass_features)
    fitted, _ = train.fit(features, labels, train_params("random_forest"))
    stale = tmp_path / ".model.skops.0123456789abcdef.tmp"
    stale.write_bytes(b"partial")

    save_model(fitted, tmp_path / "model.skops")

    assert not stale.exists()
    assert [path.name for path in tmp_path.iterdir()] == ["model.skops"]


@classification_only
def test_forest_on_every_core_same_bytes(multiclass_features, tmp_path):
    from sklearn.ensemble import RandomForestClassifier

    features, labels = arrays(multiclass_features)
    alone = RandomForestClassifier(n_estimators=8, random_state=3, n_jobs=1)
    alone.fit(features, labels)
    every_core = RandomForestClassifier(n_estimators=8, random_state=3, n_jobs=1)
    parallel.fit_in_parallel(every_core, features, labels)

    assert every_core.get_params()["n_jobs"] == 1
    save_model(alone, tmp_path / "alone.skops")
    save_model(every_core, tmp_path / "every_core.skops")
    assert (tmp_path / "alone.skops").read_bytes() == (
        tmp_path / "every_core.skops"
    ).read_bytes()


def stage_imports(stage: str) -> set[str]:
    """Return the project files that importing a stage module loads."""
    code = (
        f"import sys, {PACKAGE}.{stage}\n"
        f"print(*(name for name in sys.modules if name == '{PACKAGE}' "
        f"or name.startswith('{PACKAGE}.')))"
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
