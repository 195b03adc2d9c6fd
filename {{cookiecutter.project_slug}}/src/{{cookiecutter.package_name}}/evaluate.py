"""evaluate: score the model on both splits and write metrics and plot data.

Classification gets accuracy, balanced accuracy, F1, ROC AUC, average precision and
log loss, with ROC, precision-recall and confusion-matrix plots. Regression gets
RMSE, MAE and R², with a plot of predicted against actual values.
"""

import logging
import math
import re
from typing import Any

import numpy as np

from . import cli
from .files import atomic_dir, normalize_text_outputs, read_arrays, write_json
from .model_io import load_model
from .params import TASK, EvaluateParams, ParamsError, load_params
from .paths import (
    EVALUATE_LIVE_DIR,
    FEATURES_DIR,
    MODEL_FILE,
    SCHEMA_FILE,
    TEST_ARRAYS,
    TRAIN_ARRAYS,
)
{%- if cookiecutter.mlflow == "yes" %}
from .tracking import log_run
{%- endif %}

log = logging.getLogger(__name__)

SPLITS = (("train", TRAIN_ARRAYS), ("test", TEST_ARRAYS))
# Plot files stay small on large data: curves are thinned to about this many
# points, and the predicted-versus-actual plot shows this many test rows.
MAX_POINTS = 1000
# Permutation importance shuffles columns of at most this many test rows.
IMPORTANCE_ROWS = 2000


def positive_index(classes: list[Any], positive_class: Any) -> int:
    """Return the column of ``predict_proba`` that binary metrics score as positive."""
    if positive_class is None:
        return len(classes) - 1
    for index, label in enumerate(classes):
        if label == positive_class or str(label) == str(positive_class):
            return index
    raise ParamsError(
        f"evaluate.positive_class in params.yaml is {positive_class!r}, which is not a "
        f"class of the target. The classes are: {_listing(classes)}; set it to one "
        "of them, or to null for the last one"
    )


def _listing(classes: list[Any]) -> str:
    """Return the classes for a message, as 0 rather than np.int64(0)."""
    plain = [item.item() if isinstance(item, np.generic) else item for item in classes]
    return ", ".join(repr(item) for item in plain)


def classification_metrics(
    y_true: np.ndarray, proba: np.ndarray, classes: list, positive: int
):
    """Return accuracy, balanced accuracy, F1, ROC AUC, average precision, log loss.

    A binary task scores F1, ROC AUC and average precision for the positive class; a
    multiclass task macro-averages them over the classes (one-vs-rest).
    """
    from sklearn import metrics

    predicted = np.asarray(classes)[proba.argmax(axis=1)]
    y_true = np.asarray(y_true)
    result = {
        "accuracy": metrics.accuracy_score(y_true, predicted),
        "balanced_accuracy": metrics.balanced_accuracy_score(y_true, predicted),
        "log_loss": metrics.log_loss(y_true, proba, labels=classes),
    }
    if len(classes) == 2:
        label = classes[positive]
        is_positive = y_true == label
        result["f1"] = metrics.f1_score(y_true, predicted, pos_label=label)
        result["roc_auc"] = metrics.roc_auc_score(is_positive, proba[:, positive])
        result["average_precision"] = metrics.average_precision_score(
            is_positive, proba[:, positive]
        )
    else:
        result["f1"] = metrics.f1_score(
            y_true, predicted, average="macro", labels=classes
        )
        result["roc_auc"] = metrics.roc_auc_score(
            y_true, proba, multi_class="ovr", average="macro", labels=classes
        )
        one_hot = y_true[:, None] == np.asarray(classes)[None, :]
        result["average_precision"] = metrics.average_precision_score(
            one_hot, proba, average="macro"
        )
    return {name: float(value) for name, value in sorted(result.items())}


def regression_metrics(y_true: np.ndarray, predicted: np.ndarray):
    """Return RMSE, MAE and R²."""
    from sklearn import metrics

    result = {
        "mae": metrics.mean_absolute_error(y_true, predicted),
        "r2": metrics.r2_score(y_true, predicted),
        "rmse": metrics.root_mean_squared_error(y_true, predicted),
    }
    return {name: float(value) for name, value in result.items()}


def model_input(model, features):
    """Return ``features`` as ``model`` takes them: gradient boosting, dense only."""
    needs_dense = type(model).__name__.startswith("HistGradientBoosting")
    if needs_dense and hasattr(features, "toarray"):
        return features.toarray()
    return features


def thin(points: list[dict[str, Any]], limit: int = MAX_POINTS) -> list[dict[str, Any]]:
    """Keep about ``limit`` evenly spaced points, always the first and the last."""
    if len(points) <= limit:
        return points
    keep = np.unique(np.linspace(0, len(points) - 1, limit).round().astype(int))
    return [points[index] for index in keep]


def curves(y_true: np.ndarray, proba: np.ndarray, classes: list, positive: int):
    """Return ROC and precision-recall points per scored class.

    A binary task has one curve, for the positive class; a multiclass task one
    one-vs-rest curve per class. The end point at which no row is predicted positive
    has no threshold: scikit-learn gives it as infinity, and the JSON file as null.
    """
    from sklearn import metrics

    scored = [positive] if len(classes) == 2 else range(len(classes))
    roc, precision_recall = {}, {}
    y_true = np.asarray(y_true)
    for index in scored:
        name = str(classes[index])
        is_class = y_true == classes[index]
        fpr, tpr, thresholds = metrics.roc_curve(is_class, proba[:, index])
        roc[name] = thin(
            [
                {"fpr": float(f), "tpr": float(t), "threshold": float(h)}
                for f, t, h in zip(fpr, tpr, thresholds, strict=True)
            ]
        )
        precision, recall, thresholds = metrics.precision_recall_curve(
            is_class, proba[:, index]
        )
        precision_recall[name] = thin(
            [
                {"precision": float(p), "recall": float(r), "threshold": float(h)}
                for p, r, h in zip(
                    precision, recall, [*thresholds, math.inf], strict=True
                )
            ]
        )
    return roc, precision_recall


def predicted_vs_actual(
    y_true: np.ndarray, predicted: np.ndarray, limit: int = MAX_POINTS
) -> list[dict[str, float]]:
    """Return up to ``limit`` evenly spaced test rows as actual/predicted pairs."""
    rows = np.unique(np.linspace(0, len(y_true) - 1, limit).round().astype(int))
    return [
        {"actual": float(y_true[row]), "predicted": float(predicted[row])}
        for row in rows
    ]


def feature_importance(
    model, features, labels: np.ndarray, names: list[str], top: int
) -> list[dict[str, Any]]:
    """Return the ``top`` features by importance, largest first.

    A forest reports impurity-based importance and a linear model the mean absolute
    coefficient (over classes), on standardised features. Other models (the MLP,
    gradient boosting) get permutation importance on up to ``IMPORTANCE_ROWS`` test
    rows: the mean rise in loss when a column is shuffled, over 5 seeded shuffles.
    """
    estimator = model.steps[-1][1] if hasattr(model, "steps") else model
    if hasattr(estimator, "feature_importances_"):
        values = np.asarray(estimator.feature_importances_, dtype=float)
    elif hasattr(estimator, "coef_"):
        coefficients = np.atleast_2d(np.asarray(estimator.coef_, dtype=float))
        values = np.abs(coefficients).mean(axis=0)
    else:
        from sklearn.inspection import permutation_importance

        rows = features[:IMPORTANCE_ROWS]
        if hasattr(rows, "toarray"):
            rows = rows.toarray()
        scoring = (
            "neg_log_loss"
            if TASK == "classification"
            else "neg_root_mean_squared_error"
        )
        result = permutation_importance(
            model,
            rows,
            labels[:IMPORTANCE_ROWS],
            scoring=scoring,
            n_repeats=5,
            random_state=0,
        )
        values = np.asarray(result.importances_mean, dtype=float)
    order = sorted(range(len(values)), key=lambda i: (-values[i], names[i]))
    return [{"feature": names[i], "importance": float(values[i])} for i in order[:top]]


def confusion_rows(y_true: np.ndarray, predicted: np.ndarray) -> list[dict[str, str]]:
    return [
        {"actual": str(actual), "predicted": str(guess)}
        for actual, guess in zip(y_true, predicted, strict=True)
    ]


def _file_name(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label) + ".json"


def main() -> None:
    params: EvaluateParams = load_params("evaluate")["evaluate"]
    model = load_model(MODEL_FILE)
    names = _feature_names()
    data = {split: read_arrays(FEATURES_DIR / name) for split, name in SPLITS}
    features = {split: model_input(model, pair[0]) for split, pair in data.items()}
    labels = {split: pair[1] for split, pair in data.items()}

    plots: dict[str, Any] = {}
    if TASK == "classification":
        classes = list(model.classes_)
        positive = positive_index(classes, params.positive_class)
        probas = {split: model.predict_proba(features[split]) for split in data}
        scores = {
            split: classification_metrics(
                labels[split], probas[split], classes, positive
            )
            for split in data
        }
        roc, precision_recall = curves(
            labels["test"], probas["test"], classes, positive
        )
        for label, points in roc.items():
            plots[f"roc/{_file_name(label)}"] = points
        for label, points in precision_recall.items():
            plots[f"precision_recall/{_file_name(label)}"] = points
        predicted = np.asarray(classes)[probas["test"].argmax(axis=1)]
        plots["confusion_matrix.json"] = confusion_rows(labels["test"], predicted)
        test = scores["test"]
        summary = (
            f"accuracy {test['accuracy']:.4f}, ROC AUC {test['roc_auc']:.4f}, "
            f"average precision {test['average_precision']:.4f}"
        )
    else:
        predicted_by_split = {split: model.predict(features[split]) for split in data}
        scores = {
            split: regression_metrics(labels[split], predicted_by_split[split])
            for split in data
        }
        plots["predicted_vs_actual.json"] = predicted_vs_actual(
            labels["test"], predicted_by_split["test"]
        )
        test = scores["test"]
        summary = f"RMSE {test['rmse']:.4g}, MAE {test['mae']:.4g}, R² {test['r2']:.4f}"
    plots["importance.json"] = feature_importance(
        model, features["test"], labels["test"], names, params.top_features
    )

    from dvclive import Live

    with atomic_dir(EVALUATE_LIVE_DIR) as folder:
        with Live(str(folder), dvcyaml=None, save_dvc_exp=False, report=None) as live:
            for split in sorted(scores):
                for name, value in scores[split].items():
                    live.log_metric(f"{split}/{name}", value, plot=False)
        normalize_text_outputs(folder)
        for name, content in plots.items():
            write_json(folder / "plots" / name, content)

    log.info(
        "test %s on %d rows; written to %s",
        summary,
        len(labels["test"]),
        EVALUATE_LIVE_DIR,
    )
{%- if cookiecutter.mlflow == "yes" %}

    run_id = log_run(model, scores, features["test"][:5])
    log.info("logged MLflow run %s; browse it with `make mlflow-ui`", run_id)
{%- endif %}


def _feature_names() -> list[str]:
    import json

    path = FEATURES_DIR / SCHEMA_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: it is an output of featurize. Run `dvc repro`."
        )
    return json.loads(path.read_text(encoding="utf-8"))["features"]


if __name__ == "__main__":
    cli.run(main)
