"""featurize: fill missing feature values with statistics of the train set only."""

import logging

import pandas as pd

from . import cli
from .data import DataError
from .files import atomic_dir, read_parquet, write_json, write_parquet
from .params import FeaturizeParams, load_params
from .paths import (
    FEATURES_DIR,
    FEATURIZER_FILE,
    PREPARED_DIR,
    TARGET,
    TEST_FILE,
    TRAIN_FILE,
)

log = logging.getLogger(__name__)


def fit_fill_values(train: pd.DataFrame, strategy: str) -> dict[str, float]:
    """Return the value that replaces a missing value in each feature column."""
    features = train.drop(columns=[TARGET]).astype("float64")
    if strategy == "mean":
        values = features.mean()
    elif strategy == "median":
        values = features.median()
    else:
        values = features.mode(dropna=True).iloc[0]
    unfilled = [str(column) for column in values.index[values.isna()]]
    if unfilled:
        raise DataError(
            f"columns with no values in the train set: {', '.join(unfilled)}. Remove "
            "them from the raw data, or add rows that have values for them"
        )
    return {str(column): float(value) for column, value in values.items()}


def transform(frame: pd.DataFrame, fill_values: dict[str, float]) -> pd.DataFrame:
    """Return ``frame`` with float64 features, gaps filled, and the target last."""
    features = frame[list(fill_values)].astype("float64").fillna(fill_values)
    features[TARGET] = frame[TARGET].to_numpy()
    return features


def main() -> None:
    featurize: FeaturizeParams = load_params("featurize")["featurize"]

    train = read_parquet(PREPARED_DIR / TRAIN_FILE)
    test = read_parquet(PREPARED_DIR / TEST_FILE)
    fill_values = fit_fill_values(train, featurize.impute_strategy)
    train_features = transform(train, fill_values)
    test_features = transform(test, fill_values)

    missing = int(train.drop(columns=[TARGET]).isna().sum().sum())
    missing += int(test.drop(columns=[TARGET]).isna().sum().sum())
    with atomic_dir(FEATURES_DIR) as folder:
        write_parquet(folder / TRAIN_FILE, train_features)
        write_parquet(folder / TEST_FILE, test_features)
        write_json(
            folder / FEATURIZER_FILE.name,
            {"impute_strategy": featurize.impute_strategy, "fill_values": fill_values},
        )
    log.info(
        "featurized %d features; filled %d missing values with the train %s",
        len(fill_values),
        missing,
        featurize.impute_strategy,
    )


if __name__ == "__main__":
    cli.run(main)
