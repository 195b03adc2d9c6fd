"""train: fit the estimator that params.yaml chooses on the train features."""

import logging

import pandas as pd

from . import cli
from .files import atomic_dir, read_parquet
from .model_io import save_model
from .params import TrainParams, load_params
from .paths import FEATURES_DIR, MODEL_FILE, TARGET, TRAIN_FILE, TRAIN_LIVE_DIR

log = logging.getLogger(__name__)


def build_estimator(params: TrainParams):
    """Return an unfitted estimator for ``params.model``.

    ``n_jobs`` stays 1: it is saved inside the model, and a forest's predict_proba on
    several threads can change the last digits of its scores between runs. Parallel
    work belongs to ``dvc queue start -j N``, one experiment per core.
    """
    if params.model == "random_forest":
        from sklearn.ensemble import RandomForestClassifier

        forest = params.random_forest
        return RandomForestClassifier(
            n_estimators=forest.n_estimators,
            max_depth=forest.max_depth,
            min_samples_leaf=forest.min_samples_leaf,
            class_weight=params.class_weight,
            random_state=params.seed,
            n_jobs=1,
        )

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    linear = params.logistic_regression
    return make_pipeline(
        StandardScaler(),
        LogisticRegression(
            C=linear.C,
            max_iter=linear.max_iter,
            class_weight=params.class_weight,
            random_state=params.seed,
        ),
    )


def fit(train: pd.DataFrame, params: TrainParams):
    """Fit the chosen estimator on the feature columns of ``train``."""
    estimator = build_estimator(params)
    estimator.fit(train.drop(columns=[TARGET]), train[TARGET])
    return estimator


def main() -> None:
    params: TrainParams = load_params("train")["train"]
    train = read_parquet(FEATURES_DIR / TRAIN_FILE)

    model = fit(train, params)
    save_model(model, MODEL_FILE)

    from dvclive import Live

    with (
        atomic_dir(TRAIN_LIVE_DIR) as folder,
        Live(str(folder), dvcyaml=None, save_dvc_exp=False, report=None) as live,
    ):
        # Logged in key order: dvclive keeps that order in metrics.json.
        live.log_metric("classes", int(train[TARGET].nunique()), plot=False)
        live.log_metric("features", train.shape[1] - 1, plot=False)
        live.log_metric("rows", len(train), plot=False)
    log.info(
        "fitted %s on %d rows and %d features; saved %s",
        params.model,
        len(train),
        train.shape[1] - 1,
        MODEL_FILE,
    )


if __name__ == "__main__":
    cli.run(main)
