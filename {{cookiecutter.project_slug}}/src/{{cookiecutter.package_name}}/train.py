"""train: fit the estimator that params.yaml chooses, and log its training curve.

Every model holds out ``train.validation_fraction`` of the train split (stratified
when the project classifies) as a validation set: the curves compare the fitted part
with it step by step, and the MLP and gradient boosting stop early on it. The curves
show log loss and accuracy for classification, RMSE and R² for regression.

A forest's trees are fitted on every core, and on a Dask cluster's workers when
``DASK_SCHEDULER_ADDRESS`` is set, with the same trees either way. Its ``n_jobs`` is
1 again before it is scored and saved: it is saved inside the model, and a forest's
predict_proba on several threads can change the last digits of its scores between
runs (see ``parallel.py``).
"""

import copy
import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import cli, parallel
from .files import atomic_dir, normalize_text_outputs, read_arrays
from .model_io import save_model
from .params import TASK, TrainParams, load_params
from .paths import FEATURES_DIR, MODEL_FILE, TRAIN_ARRAYS, TRAIN_LIVE_DIR

log = logging.getLogger(__name__)

CURVE_POINTS = 10  # steps logged for a random forest, each adding a tenth of the trees
# A drop in validation loss smaller than this is no progress for early stopping
# (the tolerance scikit-learn's own early stopping uses by default).
MIN_IMPROVEMENT = 1e-4
# The curve scores the fitted part on at most this many of its rows: on large data,
# scoring all of them at every step would cost more than the fit.
CURVE_ROWS = 20_000
# Names of the logged curves: the loss on both parts, and a score on validation.
CURVE_NAMES = {
    "classification": ("log_loss", "accuracy"),
    "regression": ("rmse", "r2"),
}[TASK]


@dataclass(frozen=True)
class Split:
    features: Any  # a dense array or a sparse CSR matrix
    labels: np.ndarray


@dataclass(frozen=True)
class CurvePoint:
    """Scores after one step: an epoch, a boosting iteration or a batch of trees.

    The loss is log loss for classification and RMSE for regression; the score is
    accuracy or R².
    """

    step: int
    fit_loss: float
    validation_loss: float
    validation_score: float


def split_validation(features, labels: np.ndarray, fraction: float, seed: int):
    """Return the part to fit on and the validation part, stratified for classes."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(labels))
    stratify = labels if TASK == "classification" else None
    fit_rows, validation_rows = train_test_split(
        rows, test_size=fraction, random_state=seed, stratify=stratify
    )
    fit_rows.sort()
    validation_rows.sort()
    return (
        Split(features[fit_rows], labels[fit_rows]),
        Split(features[validation_rows], labels[validation_rows]),
    )


def is_sparse(features) -> bool:
    import scipy.sparse

    return scipy.sparse.issparse(features)


def head(part: Split, rows: int = CURVE_ROWS) -> Split:
    return Split(part.features[:rows], part.labels[:rows])


def predictions(model, features) -> np.ndarray:
    """Class probabilities for classification, predicted values for regression."""
    if TASK == "classification":
        return model.predict_proba(features)
    return model.predict(features)


def score(model, fit: Split, validation: Split, step: int) -> CurvePoint:
    sample = head(fit)
    return score_predictions(
        getattr(model, "classes_", None),
        predictions(model, sample.features),
        predictions(model, validation.features),
        sample,
        validation,
        step,
    )


def score_predictions(
    classes, fit_predicted, validation_predicted, fit, validation, step
):
    """Score predictions of the fitted part (or its head) and of validation."""
    from sklearn import metrics

    fit_labels = fit.labels[: len(fit_predicted)]
    if TASK == "regression":
        return CurvePoint(
            step=step,
            fit_loss=float(metrics.root_mean_squared_error(fit_labels, fit_predicted)),
            validation_loss=float(
                metrics.root_mean_squared_error(validation.labels, validation_predicted)
            ),
            validation_score=float(
                metrics.r2_score(validation.labels, validation_predicted)
            ),
        )
    predicted = np.asarray(classes)[validation_predicted.argmax(axis=1)]
    return CurvePoint(
        step=step,
        fit_loss=float(metrics.log_loss(fit_labels, fit_predicted, labels=classes)),
        validation_loss=float(
            metrics.log_loss(validation.labels, validation_predicted, labels=classes)
        ),
        validation_score=float(metrics.accuracy_score(validation.labels, predicted)),
    )


def fit_random_forest(params: TrainParams, fit: Split, validation: Split):
    """Grow the forest in ``CURVE_POINTS`` batches of trees, scoring after each."""
    from sklearn import ensemble

    forest = params.random_forest
    settings: dict[str, Any] = {
        "n_estimators": 0,
        "max_depth": forest.max_depth,
        "min_samples_leaf": forest.min_samples_leaf,
        "max_leaf_nodes": forest.max_leaf_nodes,
        "random_state": params.seed,
        "n_jobs": 1,
        "warm_start": True,
    }
    if TASK == "classification":
        model = ensemble.RandomForestClassifier(
            class_weight=params.class_weight, **settings
        )
    else:
        model = ensemble.RandomForestRegressor(**settings)
    points = range(1, CURVE_POINTS + 1)
    steps = sorted({max(1, forest.n_estimators * i // CURVE_POINTS) for i in points})
    curve = []
    for trees in steps:
        model.set_params(n_estimators=trees)
        parallel.fit_in_parallel(model, fit.features, fit.labels)
        curve.append(score(model, fit, validation, trees))
    model.set_params(warm_start=False)
    return model, curve


def _scaler(fit: Split):
    """Standardise features; sparse ones are only scaled, so zeros stay zeros."""
    from sklearn.preprocessing import StandardScaler

    return StandardScaler(with_mean=not is_sparse(fit.features))


def fit_logistic_regression(params: TrainParams, fit: Split, validation: Split):
    """Fit standardisation and logistic regression; the curve has a single step."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    linear = params.logistic_regression
    model = make_pipeline(
        _scaler(fit),
        LogisticRegression(
            C=linear.C,
            max_iter=linear.max_iter,
            class_weight=params.class_weight,
            random_state=params.seed,
        ),
    )
    model.fit(fit.features, fit.labels)
    return model, [score(model, fit, validation, 1)]


def fit_ridge(params: TrainParams, fit: Split, validation: Split):
    """Fit standardisation and ridge regression; the curve has a single step."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(_scaler(fit), Ridge(alpha=params.ridge.alpha))
    model.fit(fit.features, fit.labels)
    return model, [score(model, fit, validation, 1)]


def fit_mlp(params: TrainParams, fit: Split, validation: Split):
    """Train a neural network one epoch at a time and keep the best epoch.

    With early stopping, training ends once validation loss has not improved for
    ``patience`` epochs. scikit-learn's MLP ignores ``class_weight``.
    """
    from sklearn import neural_network
    from sklearn.pipeline import Pipeline

    settings = params.mlp
    scaler = _scaler(fit).fit(fit.features)
    scaled_fit = Split(scaler.transform(fit.features), fit.labels)
    scaled_validation = Split(scaler.transform(validation.features), validation.labels)
    options = {
        "hidden_layer_sizes": settings.hidden_layer_sizes,
        "learning_rate_init": settings.learning_rate_init,
        "alpha": settings.alpha,
        "batch_size": min(settings.batch_size, len(fit.labels)),
        "random_state": params.seed,
    }
    if TASK == "classification":
        network = neural_network.MLPClassifier(**options)
        extra = {"classes": np.unique(fit.labels)}
    else:
        network = neural_network.MLPRegressor(**options)
        extra = {}
    curve: list[CurvePoint] = []
    best, best_epoch, best_loss = network, 0, float("inf")
    for epoch in range(1, settings.max_epochs + 1):
        network.partial_fit(scaled_fit.features, scaled_fit.labels, **extra)
        point = score(network, scaled_fit, scaled_validation, epoch)
        curve.append(point)
        if not settings.early_stopping:
            continue
        if point.validation_loss < best_loss - MIN_IMPROVEMENT:
            best, best_epoch, best_loss = (
                copy.deepcopy(network),
                epoch,
                point.validation_loss,
            )
        elif epoch - best_epoch >= settings.patience:
            break
    if not settings.early_stopping:
        best = network
    name = "mlpclassifier" if TASK == "classification" else "mlpregressor"
    model = Pipeline([("standardscaler", scaler), (name, best)])
    return model, curve


def fit_gradient_boosting(params: TrainParams, fit: Split, validation: Split):
    """Fit histogram gradient boosting, scoring every iteration on both parts.

    It takes dense features only: sparse ones are made dense first.
    """
    from sklearn import ensemble

    if is_sparse(fit.features):
        fit = Split(fit.features.toarray(), fit.labels)
        validation = Split(validation.features.toarray(), validation.labels)
    settings = params.gradient_boosting
    options = {
        "max_iter": settings.max_iter,
        "learning_rate": settings.learning_rate,
        "max_leaf_nodes": settings.max_leaf_nodes,
        "min_samples_leaf": settings.min_samples_leaf,
        "early_stopping": settings.early_stopping,
        "n_iter_no_change": settings.patience,
        "scoring": "loss",
        "random_state": params.seed,
    }
    if TASK == "classification":
        model = ensemble.HistGradientBoostingClassifier(
            class_weight=params.class_weight, **options
        )
        staged = model.staged_predict_proba
    else:
        model = ensemble.HistGradientBoostingRegressor(**options)
        staged = model.staged_predict
    model.fit(
        fit.features, fit.labels, X_val=validation.features, y_val=validation.labels
    )
    sample = head(fit)
    stages = zip(staged(sample.features), staged(validation.features), strict=True)
    curve = [
        score_predictions(
            getattr(model, "classes_", None),
            fit_predicted,
            validation_predicted,
            sample,
            validation,
            step,
        )
        for step, (fit_predicted, validation_predicted) in enumerate(stages, start=1)
    ]
    return model, curve


FITTERS = {
    "random_forest": fit_random_forest,
    "logistic_regression": fit_logistic_regression,
    "ridge": fit_ridge,
    "mlp": fit_mlp,
    "gradient_boosting": fit_gradient_boosting,
}


def fit(features, labels: np.ndarray, params: TrainParams):
    """Fit the chosen estimator; return it with its training curve."""
    fit_part, validation = split_validation(
        features, labels, params.validation_fraction, params.seed
    )
    return FITTERS[params.model](params, fit_part, validation)


def main() -> None:
    params: TrainParams = load_params("train")["train"]
    features, labels = read_arrays(FEATURES_DIR / TRAIN_ARRAYS)

    with parallel.dask_backend():
        model, curve = fit(features, labels, params)
    save_model(model, MODEL_FILE)

    from dvclive import Live

    loss, score_name = CURVE_NAMES
    with atomic_dir(TRAIN_LIVE_DIR) as folder:
        with Live(str(folder), dvcyaml=None, save_dvc_exp=False, report=None) as live:
            for point in curve:
                live.step = point.step
                live.log_metric(f"fit/{loss}", point.fit_loss)
                live.log_metric(f"validation/{loss}", point.validation_loss)
                live.log_metric(f"validation/{score_name}", point.validation_score)
            if TASK == "classification":
                live.log_metric("classes", len(np.unique(labels)), plot=False)
            live.log_metric("features", features.shape[1], plot=False)
            live.log_metric("rows", len(labels), plot=False)
        normalize_text_outputs(folder)

    last = curve[-1]
    # train_test_split rounds the held-out share up.
    validation_rows = math.ceil(len(labels) * params.validation_fraction)
    log.info(
        "fitted %s on %d of %d train rows (%d held out for validation) and %d "
        "features; training curve of %d step(s); validation %s %.4f, %s %.4f; saved %s",
        params.model,
        len(labels) - validation_rows,
        len(labels),
        validation_rows,
        features.shape[1],
        len(curve),
        loss,
        last.validation_loss,
        score_name,
        last.validation_score,
        MODEL_FILE,
    )


if __name__ == "__main__":
    cli.run(main)
