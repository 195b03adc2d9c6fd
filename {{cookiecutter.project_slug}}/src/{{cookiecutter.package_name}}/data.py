"""Read the raw table and check it before any stage builds on it."""

import difflib
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .paths import TARGET

log = logging.getLogger(__name__)

# The largest float32: scikit-learn's tree models convert features to float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)


class DataError(InputError):
    """An input data file is missing or contains data the pipeline cannot use."""


def read_raw(path: Path) -> pd.DataFrame:
    """Read a .csv or .parquet file, with a message for each way it can be unusable."""
    if not path.exists():
        raise DataError(
            f"raw data file {path} not found. If the project has a DVC remote, run "
            f"`dvc pull {path}`; if the file is in the local cache, run `dvc checkout "
            f"{path}`; for a new file, copy it there and run `dvc add {path}`."
        )
    if path.stat().st_size == 0:
        raise DataError(
            f"raw data file {path} is empty (0 bytes): replace it with the data"
        )
    frame = _read_parquet(path) if path.suffix == ".parquet" else _read_csv(path)
    if len(frame) == 0:
        raise DataError(f"raw data file {path} has a header but no rows")
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, encoding="utf-8")
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path} is not UTF-8 text ({error}); save it as UTF-8 CSV"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path} has no header row: the first line must name the columns"
        ) from None
    except pd.errors.ParserError as error:
        raise DataError(f"{path} is not a valid CSV file: {error}") from None


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow

    try:
        return pd.read_parquet(path)
    except (pyarrow.ArrowException, OSError) as error:
        raise DataError(f"{path} is not a valid Parquet file: {error}") from None


def check_columns(frame: pd.DataFrame, target: str, path: Path) -> None:
    """Check the target and feature columns; report the first kind of problem found."""
    if target not in frame.columns:
        columns = [str(column) for column in frame.columns]
        close = difflib.get_close_matches(target, columns, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DataError(
            f"{path} has no column {target!r}, which data.target in params.yaml "
            f"names.{hint} Its columns: {', '.join(columns)}"
        )
    if target != TARGET and TARGET in frame.columns:
        raise DataError(
            f"{path} has a feature column named {TARGET!r}, a name the pipeline "
            "keeps for the target: rename that column in the file"
        )

    labels = frame[target]
    missing = labels.isna()
    if missing.any():
        rows = ", ".join(str(row + 2) for row in labels.index[missing][:5])
        raise DataError(
            f"target column {target!r} of {path} has {int(missing.sum())} missing "
            f"values (first at file lines {rows}): fill them in or drop those rows"
        )
    if pd.api.types.is_float_dtype(labels) and not (labels % 1 == 0).all():
        raise DataError(
            f"target column {target!r} of {path} has fractional numbers such as "
            f"{labels[labels % 1 != 0].iloc[0]}, but the pipeline classifies: the "
            "target must hold class names or whole numbers"
        )
    counts = labels.value_counts()
    if len(counts) < 2:
        raise DataError(
            f"target column {target!r} of {path} has a single class "
            f"({counts.index[0]!r}): classification needs at least two"
        )

    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise DataError(f"{path} has no feature columns besides the target {target!r}")
    empty = [
        str(column) for column in features.columns if features[column].isna().all()
    ]
    if empty:
        raise DataError(
            f"{path} has columns with no values in any row: {', '.join(empty)}. "
            "Remove them from the file"
        )
    not_numeric = [
        str(column)
        for column in features.columns
        if not pd.api.types.is_numeric_dtype(features[column])
    ]
    if not_numeric:
        raise DataError(
            f"{path} has columns that are not numeric: {', '.join(not_numeric)}. "
            "The featurize stage takes numeric features only: convert them to numbers "
            "or remove them from the file"
        )
    _check_finite(features, path)


def _check_finite(features: pd.DataFrame, path: Path) -> None:
    """Reject infinities and values too large for float32, which the tree models use."""
    numbers = features.select_dtypes("number")
    too_large = numbers.abs() > FLOAT32_MAX
    columns = [str(column) for column in numbers.columns[too_large.any()]]
    if columns:
        first_row = too_large.any(axis=1).idxmax()
        raise DataError(
            f"{path} has infinite values or values beyond ±{FLOAT32_MAX:.3g} in "
            f"columns {', '.join(columns)} (first at file line {first_row + 2}). "
            "Replace them in the file or drop those rows"
        )
