"""featurize: turn each column into numbers by its role, fitted on the train set only.

Numeric columns get their missing values imputed. Categorical columns are one-hot
encoded, with rare categories grouped and unseen ones mapped to that group. The text
columns, joined, become TF-IDF weights. The result stays sparse when most of it is
zeros. Scaling that only some models need (linear models, neural networks) is part of
the model in train, so changing the model never reruns this stage.
"""

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import cli
from .data import DataError
from .files import atomic_dir, read_parquet, write_arrays, write_json
from .params import FeaturizeParams, load_params
from .paths import (
    FEATURES_DIR,
    FEATURIZER_FILE,
    PREPARED_DIR,
    SCHEMA_FILE,
    TARGET,
    TEST_ARRAYS,
    TEST_FILE,
    TRAIN_ARRAYS,
    TRAIN_FILE,
)

log = logging.getLogger(__name__)

MISSING_CATEGORY = "(missing)"
# Below this share of non-zero values, the features are stored and used sparse.
SPARSE_BELOW = 0.3


@dataclass
class Featurizer:
    """The fitted parts; each is None when no column has its role."""

    numeric: list[str]
    categorical: list[str]
    text: list[str]
    imputer: Any = None
    encoder: Any = None
    vectorizer: Any = None

    def feature_names(self) -> list[str]:
        names = list(self.numeric)
        if self.encoder is not None:
            names += [str(name) for name in self.encoder.get_feature_names_out()]
        if self.vectorizer is not None:
            names += [
                f"text:{term}" for term in self.vectorizer.get_feature_names_out()
            ]
        return names


def columns_by_role(roles: dict[str, str]) -> dict[str, list[str]]:
    return {
        role: [name for name, given in roles.items() if given == role]
        for role in ("numeric", "categorical", "text")
    }


def joined_text(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Return the text columns of each row joined by a newline; missing text is ''."""
    text = frame[columns[0]].fillna("").astype(str)
    for column in columns[1:]:
        text = text + "\n" + frame[column].fillna("").astype(str)
    return text


def categories(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame[columns].astype(object).fillna(MISSING_CATEGORY).astype(str)


def fit(train: pd.DataFrame, roles: dict[str, str], params: FeaturizeParams):
    """Fit the imputer, the one-hot encoder and the TF-IDF vectorizer on ``train``."""
    by_role = columns_by_role(roles)
    featurizer = Featurizer(by_role["numeric"], by_role["categorical"], by_role["text"])
    if featurizer.numeric:
        from sklearn.impute import SimpleImputer

        numbers = train[featurizer.numeric].astype(np.float32)
        empty = [name for name in featurizer.numeric if numbers[name].isna().all()]
        if empty:
            raise DataError(
                f"columns with no values in the train set: {', '.join(empty)}. Remove "
                "them from the raw data, set their role to drop under data.columns in "
                "params.yaml, or add rows that have values for them"
            )
        featurizer.imputer = SimpleImputer(strategy=params.impute_strategy)
        featurizer.imputer.fit(numbers)
    if featurizer.categorical:
        from sklearn.preprocessing import OneHotEncoder

        settings = params.categorical
        featurizer.encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=settings.min_frequency,
            max_categories=settings.max_categories,
            dtype=np.float32,
        )
        featurizer.encoder.fit(categories(train, featurizer.categorical))
    if featurizer.text:
        from sklearn.feature_extraction.text import TfidfVectorizer

        settings = params.text
        featurizer.vectorizer = TfidfVectorizer(
            max_features=settings.max_features,
            ngram_range=tuple(settings.ngram_range),
            dtype=np.float32,
        )
        try:
            featurizer.vectorizer.fit(joined_text(train, featurizer.text))
        except ValueError as error:
            raise DataError(
                f"the text columns {', '.join(featurizer.text)} have no words in the "
                f"train set ({error}): set their role to drop under data.columns in "
                "params.yaml"
            ) from None
    return featurizer


def transform(featurizer: Featurizer, frame: pd.DataFrame):
    """Return the features of ``frame``: a CSR matrix when sparse, else an array."""
    import scipy.sparse

    blocks = []
    if featurizer.imputer is not None:
        numbers = frame[featurizer.numeric].astype(np.float32)
        blocks.append(featurizer.imputer.transform(numbers).astype(np.float32))
    if featurizer.encoder is not None:
        blocks.append(
            featurizer.encoder.transform(categories(frame, featurizer.categorical))
        )
    if featurizer.vectorizer is not None:
        blocks.append(
            featurizer.vectorizer.transform(joined_text(frame, featurizer.text))
        )

    rows = len(frame)
    width = sum(block.shape[1] for block in blocks)
    non_zero = sum(
        block.nnz if scipy.sparse.issparse(block) else block.size for block in blocks
    )
    all_dense = not any(scipy.sparse.issparse(block) for block in blocks)
    if all_dense or non_zero >= SPARSE_BELOW * rows * width:
        return _dense(blocks, rows, width)
    return scipy.sparse.hstack(blocks, format="csr", dtype=np.float32)


def _dense(blocks: list, rows: int, width: int) -> np.ndarray:
    """Stack ``blocks`` into one float32 array without a dense copy of sparse ones."""
    import scipy.sparse

    result = np.zeros((rows, width), dtype=np.float32)
    start = 0
    for block in blocks:
        stop = start + block.shape[1]
        if scipy.sparse.issparse(block):
            coo = block.tocoo()
            result[coo.row, start + coo.col] = coo.data
        else:
            result[:, start:stop] = block
        start = stop
    return result


def description(featurizer: Featurizer) -> dict[str, Any]:
    """Return what was fitted, for featurizer.json: fill values, the categories
    kept and grouped, and the TF-IDF vocabulary with each term's weight."""
    fitted: dict[str, Any] = {}
    if featurizer.imputer is not None:
        fitted["numeric"] = {
            name: float(value)
            for name, value in zip(
                featurizer.numeric, featurizer.imputer.statistics_, strict=True
            )
        }
    if featurizer.encoder is not None:
        encoder = featurizer.encoder
        infrequent = encoder.infrequent_categories_
        fitted["categorical"] = {
            name: {
                "categories": [str(value) for value in levels],
                "grouped": [] if rare is None else [str(value) for value in rare],
            }
            for name, levels, rare in zip(
                featurizer.categorical, encoder.categories_, infrequent, strict=True
            )
        }
    if featurizer.vectorizer is not None:
        vectorizer = featurizer.vectorizer
        fitted["text"] = {
            "columns": featurizer.text,
            "vocabulary": {
                str(term): float(vectorizer.idf_[index])
                for term, index in sorted(vectorizer.vocabulary_.items())
            },
        }
    return fitted


def main() -> None:
    params: FeaturizeParams = load_params("featurize")["featurize"]

    schema = _read_schema()
    train = read_parquet(PREPARED_DIR / TRAIN_FILE)
    featurizer = fit(train, schema["roles"], params)
    train_features = transform(featurizer, train)
    train_labels = train[TARGET].to_numpy()
    missing = int(train.drop(columns=[TARGET]).isna().sum().sum())
    del train
    test = read_parquet(PREPARED_DIR / TEST_FILE)
    test_features = transform(featurizer, test)
    test_labels = test[TARGET].to_numpy()
    del test

    names = featurizer.feature_names()
    with atomic_dir(FEATURES_DIR) as folder:
        write_arrays(folder / TRAIN_ARRAYS, train_features, train_labels)
        write_arrays(folder / TEST_ARRAYS, test_features, test_labels)
        write_json(folder / FEATURIZER_FILE.name, description(featurizer))
        write_json(folder / SCHEMA_FILE, {**schema, "features": names})
    kind = "dense" if isinstance(train_features, np.ndarray) else "sparse"
    log.info(
        "featurized %d columns into %d %s features (%d numeric, %d categorical, "
        "%d text columns); %d missing values in the train set filled",
        len(schema["roles"]),
        len(names),
        kind,
        len(featurizer.numeric),
        len(featurizer.categorical),
        len(featurizer.text),
        missing,
    )


def _read_schema() -> dict[str, Any]:
    import json

    path = PREPARED_DIR / SCHEMA_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: it is an output of prepare. Run `dvc repro`."
        )
    return json.loads(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    cli.run(main)
