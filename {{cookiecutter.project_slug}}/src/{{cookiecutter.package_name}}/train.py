"""train: fit the estimator that params.yaml chooses, and log its training curve.

Every model holds out ``train.validation_fraction`` of the train split, stratified,
as a validation set: the curves compare the fitted part with it step by step, and
the MLP and gradient boosting stop early on it.

``n_jobs`` stays 1: it is saved inside the model, and a forest's predict_proba on
several threads can change the last digits of its scores between runs. Parallel work
belongs to ``dvc queue start -j N``, one experiment per core, or to a Dask cluster:
with ``DASK_SCHEDULER_ADDRESS`` set, the forest's trees are fitted on its workers and
the saved model is the same (see ``parallel.py``).
"""

import copy
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import cli, parallel
from .files import atomic_dir, normalize_text_outputs, read_parquet
from .model_io import save_model
from .params import TrainParams, load_params
from .paths import FEATURES_DIR, MODEL_FILE, TARGET, TRAIN_FILE, TRAIN_LIVE_DIR

log = logging.getLogger(__name__)

CURVE_POINTS = 10  # steps logged for a random forest, each adding a tenth of the trees
# A drop in validation log loss smaller than this is no progress for early stopping
# (the tolerance scikit-learn's own early stopping uses by default).
MIN_IMPROVEMENT = 1e-4


@dataclass(frozen=True)
class Split:
    features: pd.DataFrame
    labels: np.ndarray


@dataclass(frozen=True)
class CurvePoint:
    """Scores after one step: an epoch, a boosting iteration or a batch of trees."""

    step: int
    fit_log_loss: float
    validation_log_loss: float
    validation_accuracy: float


def split_validation(train: pd.DataFrame, fraction: float, seed: int):
    """Return the part to fit on and the stratified validation part of ``train``."""
    from sklearn.model_selection import train_test_split

    fit_part, validation = train_test_split(
        train, test_size=fraction, random_state=seed, stratify=train[TARGET]
    )
    return _as_split(fit_part.sort_index()), _as_split(validation.sort_index())


def _as_split(frame: pd.DataFrame) -> Split:
    return Split(frame.drop(columns=[TARGET]), frame[TARGET].to_numpy())


def score(model, fit: Split, validation: Split, step: int) -> CurvePoint:
    return score_probabilities(
        model.classes_,
        model.predict_proba(fit.features),
        model.predict_proba(validation.features),
        fit,
        validation,
        step,
    )


def score_probabilities(classes, fit_proba, validation_proba, fit, validation, step):
    from sklearn.metrics import accuracy_score, log_loss

    predicted = np.asarray(classes)[validation_proba.argmax(axis=1)]
    return CurvePoint(
        step=step,
        fit_log_loss=float(log_loss(fit.labels, fit_proba, labels=classes)),
        validation_log_loss=float(
            log_loss(validation.labels, validation_proba, labels=classes)
        ),
        validation_accuracy=float(accuracy_score(validation.labels, predicted)),
    )


def fit_random_forest(params: TrainParams, fit: Split, validation: Split):
    """Grow the forest in ``CURVE_POINTS`` batches of trees, scoring after each."""
    from sklearn.ensemble import RandomForestClassifier

    forest = params.random_forest
    model = RandomForestClassifier(
        n_estimators=0,
        max_depth=forest.max_depth,
        min_samples_leaf=forest.min_samples_leaf,
        class_weight=params.class_weight,
        random_state=params.seed,
        n_jobs=1,
        warm_start=True,
    )
    points = range(1, CURVE_POINTS + 1)
    steps = sorted({max(1, forest.n_estimators * i // CURVE_POINTS) for i in points})
    curve = []
    for trees in steps:
        model.set_params(n_estimators=trees)
        parallel.fit_in_parallel(model, fit.features, fit.labels)
        curve.append(score(model, fit, validation, trees))
    model.set_params(warm_start=False)
    return model, curve


def fit_logistic_regression(params: TrainParams, fit: Split, validation: Split):
    """Fit standardisation and logistic regression; the curve has a single step."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    linear = params.logistic_regression
    model = make_pipeline(
        StandardScaler(),
        LogisticRegression(
            C=linear.C,
            max_iter=linear.max_iter,
            class_weight=params.class_weight,
            random_state=params.seed,
        ),
    )
    model.fit(fit.features, fit.labels)
    return model, [score(model, fit, validation, 1)]


def fit_mlp(params: TrainParams, fit: Split, validation: Split):
    """Train a neural network one epoch at a time and keep the best epoch.

    With early stopping, training ends once validation log loss has not improved
    for ``patience`` epochs. scikit-learn's MLP ignores ``class_weight``.
    """
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    settings = params.mlp
    scaler = StandardScaler().fit(fit.features)
    scaled_fit = Split(scaler.transform(fit.features), fit.labels)
    scaled_validation = Split(scaler.transform(validation.features), validation.labels)
    network = MLPClassifier(
        hidden_layer_sizes=settings.hidden_layer_sizes,
        learning_rate_init=settings.learning_rate_init,
        alpha=settings.alpha,
        batch_size=min(settings.batch_size, len(fit.labels)),
        random_state=params.seed,
    )
    classes = np.unique(fit.labels)
    curve: list[CurvePoint] = []
    best, best_epoch, best_loss = network, 0, float("inf")
    for epoch in range(1, settings.max_epochs + 1):
        network.partial_fit(scaled_fit.features, scaled_fit.labels, classes=classes)
        point = score(network, scaled_fit, scaled_validation, epoch)
        curve.append(point)
        if not settings.early_stopping:
            continue
        if point.validation_log_loss < best_loss - MIN_IMPROVEMENT:
            best, best_epoch, best_loss = (
                copy.deepcopy(network),
                epoch,
                point.validation_log_loss,
            )
        elif epoch - best_epoch >= settings.patience:
            break
    if not settings.early_stopping:
        best = network
    model = Pipeline([("standardscaler", scaler), ("mlpclassifier", best)])
    return model, curve


def fit_gradient_boosting(params: TrainParams, fit: Split, validation: Split):
    """Fit histogram gradient boosting, scoring every iteration on both parts."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    settings = params.gradient_boosting
    model = HistGradientBoostingClassifier(
        max_iter=settings.max_iter,
        learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.max_leaf_nodes,
        min_samples_leaf=settings.min_samples_leaf,
        class_weight=params.class_weight,
        early_stopping=settings.early_stopping,
        n_iter_no_change=settings.patience,
        scoring="loss",
        random_state=params.seed,
    )
    model.fit(
        fit.features, fit.labels, X_val=validation.features, y_val=validation.labels
    )
    stages = zip(
        model.staged_predict_proba(fit.features),
        model.staged_predict_proba(validation.features),
        strict=True,
    )
    curve = [
        score_probabilities(
            model.classes_, fit_proba, validation_proba, fit, validation, step
        )
        for step, (fit_proba, validation_proba) in enumerate(stages, start=1)
    ]
    return model, curve


FITTERS = {
    "random_forest": fit_random_forest,
    "logistic_regression": fit_logistic_regression,
    "mlp": fit_mlp,
    "gradient_boosting": fit_gradient_boosting,
}


def fit(train: pd.DataFrame, params: TrainParams):
    """Fit the chosen estimator; return it with its training curve."""
    fit_part, validation = split_validation(
        train, params.validation_fraction, params.seed
    )
    return FITTERS[params.model](params, fit_part, validation)


def main() -> None:
    params: TrainParams = load_params("train")["train"]
    train = read_parquet(FEATURES_DIR / TRAIN_FILE)

    with parallel.dask_backend():
        model, curve = fit(train, params)
    save_model(model, MODEL_FILE)

    from dvclive import Live

    with atomic_dir(TRAIN_LIVE_DIR) as folder:
        with Live(str(folder), dvcyaml=None, save_dvc_exp=False, report=None) as live:
            for point in curve:
                live.step = point.step
                live.log_metric("fit/log_loss", point.fit_log_loss)
                live.log_metric("validation/log_loss", point.validation_log_loss)
                live.log_metric("validation/accuracy", point.validation_accuracy)
            live.log_metric("classes", int(train[TARGET].nunique()), plot=False)
            live.log_metric("features", train.shape[1] - 1, plot=False)
            live.log_metric("rows", len(train), plot=False)
        normalize_text_outputs(folder)

    last = curve[-1]
    log.info(
        "fitted %s on %d rows and %d features; training curve of %d step(s); "
        "validation log loss %.4f, accuracy %.4f; saved %s",
        params.model,
        len(train),
        train.shape[1] - 1,
        len(curve),
        last.validation_log_loss,
        last.validation_accuracy,
        MODEL_FILE,
    )


if __name__ == "__main__":
    cli.run(main)
