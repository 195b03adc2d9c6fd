"""evaluate: score the model on both splits and write metrics and plot data."""

import logging
import math
import re
from typing import Any

import numpy as np
import pandas as pd

from . import cli
from .data import DataError
from .files import atomic_dir, normalize_text_outputs, read_parquet, write_json
from .model_io import load_model
from .params import EvaluateParams, load_params
from .paths import (
    EVALUATE_LIVE_DIR,
    FEATURES_DIR,
    MODEL_FILE,
    TARGET,
    TEST_FILE,
    TRAIN_FILE,
)
{%- if cookiecutter.mlflow == "yes" %}
from .tracking import log_run
{%- endif %}

log = logging.getLogger(__name__)

SPLITS = (("train", TRAIN_FILE), ("test", TEST_FILE))


def positive_index(classes: list[Any], positive_class: Any) -> int:
    """Return the column of ``predict_proba`` that binary metrics score as positive."""
    if positive_class is None:
        return len(classes) - 1
    for index, label in enumerate(classes):
        if label == positive_class or str(label) == str(positive_class):
            return index
    raise DataError(
        f"evaluate.positive_class in params.yaml is {positive_class!r}, which is not a "
        f"class of the target. The classes are: {_listing(classes)}; set it to one "
        "of them, or to null for the last one"
    )


def _listing(classes: list[Any]) -> str:
    """Return the classes for a message, as 0 rather than np.int64(0)."""
    plain = [item.item() if isinstance(item, np.generic) else item for item in classes]
    return ", ".join(repr(item) for item in plain)


def compute_metrics(
    y_true: np.ndarray, proba: np.ndarray, classes: list, positive: int
):
    """Return accuracy, balanced accuracy, F1, ROC AUC and log loss.

    A binary task scores F1 and ROC AUC for the positive class; a multiclass task
    macro-averages F1 and averages one-vs-rest ROC AUC over the classes.
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
        result["f1"] = metrics.f1_score(y_true, predicted, pos_label=label)
        result["roc_auc"] = metrics.roc_auc_score(y_true == label, proba[:, positive])
    else:
        result["f1"] = metrics.f1_score(
            y_true, predicted, average="macro", labels=classes
        )
        result["roc_auc"] = metrics.roc_auc_score(
            y_true, proba, multi_class="ovr", average="macro", labels=classes
        )
    return {name: float(value) for name, value in sorted(result.items())}


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
        roc[name] = [
            {"fpr": float(f), "tpr": float(t), "threshold": float(h)}
            for f, t, h in zip(fpr, tpr, thresholds, strict=True)
        ]
        precision, recall, thresholds = metrics.precision_recall_curve(
            is_class, proba[:, index]
        )
        precision_recall[name] = [
            {"precision": float(p), "recall": float(r), "threshold": float(h)}
            for p, r, h in zip(precision, recall, [*thresholds, math.inf], strict=True)
        ]
    return roc, precision_recall


def feature_importance(
    model, features: pd.DataFrame, labels: np.ndarray, top: int
) -> list[dict[str, Any]]:
    """Return the ``top`` features by importance, largest first.

    A forest reports impurity-based importance and a linear model the mean absolute
    coefficient over classes, on standardised features. Other models (the MLP,
    gradient boosting) get permutation importance on ``features``: the mean rise in
    log loss when a column is shuffled, over 5 seeded shuffles.
    """
    estimator = model.steps[-1][1] if hasattr(model, "steps") else model
    if hasattr(estimator, "feature_importances_"):
        values = np.asarray(estimator.feature_importances_, dtype=float)
    elif hasattr(estimator, "coef_"):
        values = np.abs(np.asarray(estimator.coef_, dtype=float)).mean(axis=0)
    else:
        from sklearn.inspection import permutation_importance

        result = permutation_importance(
            model, features, labels, scoring="neg_log_loss", n_repeats=5, random_state=0
        )
        values = np.asarray(result.importances_mean, dtype=float)
    feature_names = [str(column) for column in features.columns]
    order = sorted(range(len(values)), key=lambda i: (-values[i], feature_names[i]))
    return [
        {"feature": feature_names[i], "importance": float(values[i])}
        for i in order[:top]
    ]


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
    classes = list(model.classes_)
    positive = positive_index(classes, params.positive_class)

    frames = {split: read_parquet(FEATURES_DIR / name) for split, name in SPLITS}
    labels = {split: frame[TARGET].to_numpy() for split, frame in frames.items()}
    probas = {
        split: model.predict_proba(frame.drop(columns=[TARGET]))
        for split, frame in frames.items()
    }
    scores = {
        split: compute_metrics(labels[split], probas[split], classes, positive)
        for split in frames
    }
    roc, precision_recall = curves(labels["test"], probas["test"], classes, positive)
    predicted = np.asarray(classes)[probas["test"].argmax(axis=1)]
    test_features = frames["test"].drop(columns=[TARGET])
    importance = feature_importance(
        model, test_features, labels["test"], params.top_features
    )

    from dvclive import Live

    with atomic_dir(EVALUATE_LIVE_DIR) as folder:
        with Live(str(folder), dvcyaml=None, save_dvc_exp=False, report=None) as live:
            for split in sorted(scores):
                for name, value in scores[split].items():
                    live.log_metric(f"{split}/{name}", value, plot=False)
        normalize_text_outputs(folder)
        plots = folder / "plots"
        for label, points in roc.items():
            write_json(plots / "roc" / _file_name(label), points)
        for label, points in precision_recall.items():
            write_json(plots / "precision_recall" / _file_name(label), points)
        write_json(
            plots / "confusion_matrix.json", confusion_rows(labels["test"], predicted)
        )
        write_json(plots / "importance.json", importance)

    test = scores["test"]
    log.info(
        "test accuracy %.4f, ROC AUC %.4f, log loss %.4f on %d rows; written to %s",
        test["accuracy"],
        test["roc_auc"],
        test["log_loss"],
        len(labels["test"]),
        EVALUATE_LIVE_DIR,
    )
{%- if cookiecutter.mlflow == "yes" %}

    run_id = log_run(model, scores, test_features.head(5))
    log.info("logged MLflow run %s; browse it with `make mlflow-ui`", run_id)
{%- endif %}


if __name__ == "__main__":
    cli.run(main)
