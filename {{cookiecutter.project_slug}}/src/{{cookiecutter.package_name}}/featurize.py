"""featurize: turn each column into numbers by its role, fitted on the train set only.

Numeric columns get their missing values imputed. Categorical columns are one-hot
encoded, with rare categories grouped and unseen ones mapped to that group. The text
columns, joined, become TF-IDF weights. The result is stored sparse when most of it
is zeros, and dense otherwise, which tree models fit several times faster. Scaling
that only some models need (linear models, neural networks) is part of the model in
train, so changing the model never reruns this stage.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import cli
from .data import DataError
from .files import (
    DenseChunks,
    atomic_dir,
    read_parquet,
    write_arrays,
    write_json,
)
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
# Below this share of non-zero values, the features are stored and used sparse. Tree
# models fit dense features much faster, so a table of numbers and a few one-hot
# encoded columns stays dense, as does TF-IDF of a few hundred terms of long posts.
SPARSE_BELOW = 0.1
# Train features that take more memory than this dense are stored sparse when that
# takes less.
DENSE_MAX_BYTES = 1024**3
# Rows transformed at a time.
CHUNK_ROWS = 100_000


@dataclass
class Featurizer:
    """The fitted parts; each is empty or None when no column has its role."""

    numeric: list[str]
    categorical: list[str]
    text: list[str]
    # The value that replaces a missing number, per numeric column.
    fill_values: dict[str, float] = field(default_factory=dict)
    # The categories of each categorical column in the train set, sorted. The encoder
    # is given their positions in these lists, not the strings, because integers are
    # far faster to encode than Python strings.
    levels: dict[str, list[str]] = field(default_factory=dict)
    encoder: Any = None
    vectorizer: Any = None
    # Whether the features are stored sparse, set by stored_sparse on the train set.
    sparse: bool = False

    def feature_names(self) -> list[str]:
        names = list(self.numeric)
        if self.encoder is not None:
            names += self._one_hot_names()
        if self.vectorizer is not None:
            names += [
                f"text:{term}" for term in self.vectorizer.get_feature_names_out()
            ]
        return names

    def _one_hot_names(self) -> list[str]:
        """Return ``column_category`` per one-hot column, and ``column_infrequent``
        for the group of rare and unseen categories."""
        names = []
        encoder = self.encoder
        for index, (name, known) in enumerate(self.levels.items()):
            rare = encoder.infrequent_categories_[index]
            grouped = set() if rare is None else set(rare.tolist())
            for code in encoder.categories_[index]:
                if int(code) not in grouped:
                    names.append(f"{name}_{known[int(code)]}")
            if grouped:
                names.append(f"{name}_infrequent")
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


def category_codes(frame: pd.DataFrame, levels: dict[str, list[str]]) -> np.ndarray:
    """Return each categorical value's position in ``levels``; -1 for one unseen.

    A missing value is the category ``MISSING_CATEGORY``.
    """
    codes = np.empty((len(frame), len(levels)), dtype=np.int32)
    for index, (name, known) in enumerate(levels.items()):
        values = frame[name].astype(str).fillna(MISSING_CATEGORY)
        codes[:, index] = pd.Index(known).get_indexer(values)
    return codes


def train_levels(frame: pd.DataFrame, columns: list[str]) -> dict[str, list[str]]:
    return {
        name: sorted(frame[name].astype(str).fillna(MISSING_CATEGORY).unique())
        for name in columns
    }


def fit_fill_values(numbers: pd.DataFrame, strategy: str) -> dict[str, float]:
    """Return the value that replaces a missing number in each column.

    pandas computes the statistics column by column without copying the table,
    several times faster and leaner than scikit-learn's SimpleImputer here.
    """
    if strategy == "mean":
        values = numbers.mean()
    elif strategy == "median":
        values = numbers.median()
    else:
        values = numbers.mode(dropna=True).iloc[0]
    empty = [str(name) for name in values.index[values.isna()]]
    if empty:
        raise DataError(
            f"columns with no values in the train set: {', '.join(empty)}. Remove "
            "them from the raw data, set their role to drop under data.columns in "
            "params.yaml, or add rows that have values for them"
        )
    return {str(name): float(value) for name, value in values.items()}


def fit(train: pd.DataFrame, roles: dict[str, str], params: FeaturizeParams):
    """Fit the fill values, the one-hot encoder and the TF-IDF vectorizer on
    ``train``."""
    return fit_with_text(train, roles, params)[0]


def fit_with_text(
    train: pd.DataFrame, roles: dict[str, str], params: FeaturizeParams
) -> tuple[Featurizer, Any]:
    """Fit as ``fit`` does, and also return the TF-IDF weights of the train set's
    text (None without text), so that its text is tokenized once."""
    text_features = None
    by_role = columns_by_role(roles)
    featurizer = Featurizer(by_role["numeric"], by_role["categorical"], by_role["text"])
    if featurizer.numeric:
        featurizer.fill_values = fit_fill_values(
            train[featurizer.numeric], params.impute_strategy
        )
    if featurizer.categorical:
        from sklearn.preprocessing import OneHotEncoder

        settings = params.categorical
        featurizer.levels = train_levels(train, featurizer.categorical)
        featurizer.encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=settings.min_frequency,
            max_categories=settings.max_categories,
            dtype=np.float32,
        )
        featurizer.encoder.fit(category_codes(train, featurizer.levels))
    if featurizer.text:
        from sklearn.feature_extraction.text import TfidfVectorizer

        settings = params.text
        featurizer.vectorizer = TfidfVectorizer(
            max_features=settings.max_features,
            ngram_range=tuple(settings.ngram_range),
            stop_words=settings.stop_words,
            dtype=np.float32,
        )
        try:
            text_features = featurizer.vectorizer.fit_transform(
                joined_text(train, featurizer.text)
            )
        except ValueError as error:
            raise DataError(
                no_words_message(featurizer.text, settings, error)
            ) from None
    featurizer.sparse = stored_sparse(featurizer, len(train), text_features)
    return featurizer, text_features


def no_words_message(columns: list[str], settings, error: ValueError) -> str:
    """Return the error for text columns in which the vectorizer found no term."""
    names = ", ".join(columns)
    subject = (
        f"the text column {names} has"
        if len(columns) == 1
        else f"the text columns {names} have"
    )
    fixes = "set their role to drop under data.columns in params.yaml"
    if settings.stop_words is not None:
        fixes = (
            "if they hold only common words, set featurize.text.stop_words to null "
            f"(it is {settings.stop_words}) in params.yaml; otherwise {fixes}"
        )
    return f"{subject} no words in the train set ({error}): {fixes}"


def stored_sparse(featurizer: Featurizer, rows: int, text_features) -> bool:
    """Tell whether the features of ``rows`` train rows are stored sparse.

    They are when under ``SPARSE_BELOW`` of the values are non-zero, or when they
    take over ``DENSE_MAX_BYTES`` dense and less sparse. A number or a category
    counts as one non-zero value per row and column, and ``text_features`` gives
    the non-zero TF-IDF weights.
    """
    width = len(featurizer.feature_names())
    non_zero = (len(featurizer.numeric) + len(featurizer.categorical)) * rows
    if text_features is not None:
        non_zero += text_features.nnz
    dense_bytes = rows * width * np.dtype(np.float32).itemsize
    # CSR keeps a float32 value and an int32 column index per non-zero value.
    sparse_bytes = non_zero * 8
    return non_zero < SPARSE_BELOW * rows * width or (
        dense_bytes > DENSE_MAX_BYTES and sparse_bytes < dense_bytes
    )


def transform(featurizer: Featurizer, frame: pd.DataFrame, text_features=None):
    """Return the features of ``frame``: a CSR matrix when sparse, else an array.

    ``text_features``, when given, are the TF-IDF weights of ``frame``'s text.
    """
    import scipy.sparse

    if not featurizer.sparse:
        chunks = dense_chunks(featurizer, frame, text_features).chunks
        return np.concatenate(list(chunks))
    parts = [
        scipy.sparse.hstack(
            _blocks(featurizer, frame, start, text_features),
            format="csr",
            dtype=np.float32,
        )
        for start in range(0, max(len(frame), 1), CHUNK_ROWS)
    ]
    return scipy.sparse.vstack(parts, format="csr", dtype=np.float32)


def dense_chunks(
    featurizer: Featurizer, frame: pd.DataFrame, text_features=None
) -> DenseChunks:
    """Return the dense features of ``frame``, computed ``CHUNK_ROWS`` rows at a
    time as they are read, so that the whole matrix is never in memory at once."""
    width = len(featurizer.feature_names())

    def chunks():
        for start in range(0, len(frame), CHUNK_ROWS):
            rows = np.zeros((min(CHUNK_ROWS, len(frame) - start), width), np.float32)
            column = 0
            for block in _blocks(featurizer, frame, start, text_features):
                if hasattr(block, "tocoo"):
                    coo = block.tocoo()
                    rows[coo.row, column + coo.col] = coo.data
                else:
                    rows[:, column : column + block.shape[1]] = block
                column += block.shape[1]
            yield rows

    return DenseChunks((len(frame), width), chunks())


def _blocks(
    featurizer: Featurizer, frame: pd.DataFrame, start: int, text_features
) -> list:
    """Return the numeric, one-hot and TF-IDF features of ``CHUNK_ROWS`` rows of
    ``frame`` from ``start``, in that order. The TF-IDF weights come from
    ``text_features`` when given."""
    part = frame.iloc[start : start + CHUNK_ROWS]
    blocks = []
    if featurizer.numeric:
        numbers = part[featurizer.numeric].astype(np.float32)
        blocks.append(numbers.fillna(featurizer.fill_values).to_numpy(np.float32))
    if featurizer.encoder is not None:
        codes = category_codes(part, featurizer.levels)
        blocks.append(featurizer.encoder.transform(codes))
    if text_features is not None:
        blocks.append(text_features[start : start + CHUNK_ROWS])
    elif featurizer.vectorizer is not None:
        text = joined_text(part, featurizer.text)
        blocks.append(featurizer.vectorizer.transform(text))
    return blocks


def description(featurizer: Featurizer) -> dict[str, Any]:
    """Return what was fitted, for featurizer.json: fill values, the categories
    kept and grouped, and the TF-IDF vocabulary with each term's weight."""
    fitted: dict[str, Any] = {}
    if featurizer.numeric:
        fitted["numeric"] = featurizer.fill_values
    if featurizer.encoder is not None:
        encoder = featurizer.encoder
        fitted["categorical"] = {}
        for index, (name, known) in enumerate(featurizer.levels.items()):
            rare = encoder.infrequent_categories_[index]
            fitted["categorical"][name] = {
                "categories": known,
                "grouped": [] if rare is None else [known[code] for code in rare],
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


def write_split(
    featurizer: Featurizer, frame: pd.DataFrame, path, text_features=None
) -> None:
    """Write the features and labels of ``frame``, dense ones a chunk at a time.

    ``text_features``, when given, are the TF-IDF weights of ``frame``'s text.
    """
    if featurizer.sparse:
        features = transform(featurizer, frame, text_features)
    else:
        features = dense_chunks(featurizer, frame, text_features)
    write_arrays(path, features, frame[TARGET].to_numpy())


def main() -> None:
    params: FeaturizeParams = load_params("featurize")["featurize"]

    schema = _read_schema()
    train = read_parquet(PREPARED_DIR / TRAIN_FILE)
    featurizer, text_features = fit_with_text(train, schema["roles"], params)
    names = featurizer.feature_names()
    missing = int(train.drop(columns=[TARGET]).isna().sum().sum())

    # One split at a time: the train table is freed before the test table is read.
    with atomic_dir(FEATURES_DIR) as folder:
        write_split(featurizer, train, folder / TRAIN_ARRAYS, text_features)
        del train, text_features
        write_split(
            featurizer, read_parquet(PREPARED_DIR / TEST_FILE), folder / TEST_ARRAYS
        )
        write_json(folder / FEATURIZER_FILE.name, description(featurizer))
        write_json(folder / SCHEMA_FILE, {**schema, "features": names})
    log.info(
        "featurized %d columns into %d %s features (%d numeric, %d categorical, "
        "%d text columns); %d missing values in the train set filled",
        len(schema["roles"]),
        len(names),
        "sparse" if featurizer.sparse else "dense",
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
