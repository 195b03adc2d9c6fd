"""Read the raw table and check it before any stage builds on it."""

import difflib
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .params import TASK, CsvParams
from .paths import TARGET

log = logging.getLogger(__name__)

# The largest float32: scikit-learn's tree models convert features to float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)
# Role inference. A text column has at least this many words per value on average.
# A column of short strings is categorical when it has at most this many distinct
# values, or when its distinct values number at most this share of its rows.
TEXT_MIN_WORDS = 3
CATEGORICAL_MAX_LEVELS = 20
CATEGORICAL_MAX_SHARE = 0.5


class DataError(InputError):
    """An input data file is missing or contains data the pipeline cannot use."""


def read_raw(path: Path, csv: CsvParams) -> pd.DataFrame:
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
    is_parquet = path.suffix == ".parquet"
    frame = _read_parquet(path) if is_parquet else _read_csv(path, csv)
    if len(frame) == 0:
        raise DataError(f"raw data file {path} has a header but no rows")
    return frame


def _read_csv(path: Path, csv: CsvParams) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, sep=csv.delimiter, encoding=csv.encoding)
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path} is not {csv.encoding} text ({error}). Set data.csv.encoding in "
            "params.yaml to the file's encoding (e.g. latin-1 or cp1252), or save the "
            "file as UTF-8"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path} has no header row: the first line must name the columns"
        ) from None
    except pd.errors.ParserError as error:
        raise DataError(
            f"{path} is not a valid CSV file with {csv.delimiter!r} between values: "
            f"{error}. Check data.csv.delimiter in params.yaml"
        ) from None
    if frame.shape[1] == 1:
        header = str(frame.columns[0])
        found = [sep for sep in (",", ";", "\t", "|") if sep in header]
        if found and found[0] != csv.delimiter:
            raise DataError(
                f"{path} reads as a single column named {header!r}: its values seem "
                f"to be separated by {found[0]!r}, not {csv.delimiter!r}. Set "
                f"data.csv.delimiter in params.yaml to {found[0]!r}"
            )
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow

    try:
        return pd.read_parquet(path)
    except (pyarrow.ArrowException, OSError) as error:
        raise DataError(f"{path} is not a valid Parquet file: {error}") from None


def check_target(frame: pd.DataFrame, target: str, path: Path) -> None:
    """Check that the target column exists and suits the project's task."""
    if target not in frame.columns:
        columns = [str(column) for column in frame.columns]
        raise DataError(
            f"{path} has no column {target!r}, which data.target in params.yaml "
            f"names.{_closest(target, columns)} Its columns: {', '.join(columns)}"
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
    if TASK == "regression":
        _check_numeric_target(labels, target, path)
        return
    if pd.api.types.is_float_dtype(labels) and not (labels % 1 == 0).all():
        raise DataError(
            f"target column {target!r} of {path} has fractional numbers such as "
            f"{labels[labels % 1 != 0].iloc[0]}, but this project classifies: the "
            "target must hold class names or whole numbers. To predict a number, "
            "bake a project with task=regression"
        )
    counts = labels.value_counts()
    if len(counts) < 2:
        raise DataError(
            f"target column {target!r} of {path} has a single class "
            f"({counts.index[0]!r}): classification needs at least two"
        )


def _check_numeric_target(labels: pd.Series, target: str, path: Path) -> None:
    if not pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(labels):
        example = labels[pd.to_numeric(labels, errors="coerce").isna()].iloc[0]
        raise DataError(
            f"target column {target!r} of {path} contains text such as {example!r}, but "
            "this project does regression: the target must be numbers. Fix those "
            "values, or bake a project with task=classification to predict classes"
        )
    if not np.isfinite(labels.to_numpy(dtype="float64")).all():
        raise DataError(
            f"target column {target!r} of {path} has infinite values: replace them "
            "or drop those rows"
        )
    if labels.nunique() < 2:
        raise DataError(
            f"target column {target!r} of {path} has the same value in every row: "
            "there is nothing to predict"
        )


def infer_roles(
    frame: pd.DataFrame, target: str, overrides: dict[str, str], path: Path
) -> dict[str, str]:
    """Return the role of each column except the target: numeric, categorical,
    text or drop. Roles in ``overrides`` (data.columns) replace the inferred ones."""
    columns = [str(column) for column in frame.columns if column != target]
    unknown = [name for name in overrides if name not in columns]
    if unknown:
        name = unknown[0]
        raise DataError(
            f"data.columns in params.yaml names column {name!r}, which {path} does "
            f"not have.{_closest(name, columns)} Its columns: {', '.join(columns)}"
        )
    if overrides.get(target) is not None:
        raise DataError(
            f"data.columns in params.yaml gives the target column {target!r} a role: "
            "remove it from data.columns"
        )

    roles, unclear = {}, []
    for column in frame.columns:
        if column == target:
            continue
        name = str(column)
        role = overrides.get(name) or _infer_role(frame[column])
        if role is None:
            unclear.append(name)
        roles[name] = role
    if unclear:
        raise DataError(
            f"cannot tell the role of columns {', '.join(unclear)} of {path}: they "
            "contain short text that is different in most rows, like an identifier or "
            "a name. Set each under data.columns in params.yaml to drop (an "
            f"identifier), categorical or text, e.g. {unclear[0]}: drop"
        )
    return roles


def _infer_role(values: pd.Series) -> str | None:
    """Infer a column's role from its values, or return None when it is unclear."""
    present = values.dropna()
    if pd.api.types.is_bool_dtype(values):
        return "numeric"
    if pd.api.types.is_numeric_dtype(values):
        is_identifier = (
            pd.api.types.is_integer_dtype(values)
            and len(present) > 1
            and present.is_unique
            and present.is_monotonic_increasing
        )
        return "drop" if is_identifier else "numeric"
    if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
        return None
    text = present.astype(str)
    if text.str.split().str.len().mean() >= TEXT_MIN_WORDS:
        return "text"
    distinct = text.nunique()
    if distinct <= max(CATEGORICAL_MAX_LEVELS, len(text) * CATEGORICAL_MAX_SHARE):
        return "categorical"
    return None


def check_features(frame: pd.DataFrame, roles: dict[str, str], path: Path) -> None:
    """Check the columns that featurize will use."""
    used = [name for name, role in roles.items() if role != "drop"]
    if not used:
        raise DataError(
            f"{path} has no feature columns left besides the target: every other "
            "column has the role drop. Change data.columns in params.yaml"
        )
    empty = [name for name in used if frame[name].isna().all()]
    if empty:
        raise DataError(
            f"{path} has columns with no values in any row: {', '.join(empty)}. "
            "Remove them from the file, or set their role to drop under data.columns "
            "in params.yaml"
        )
    numeric = [name for name in used if roles[name] == "numeric"]
    not_numeric = [
        name
        for name in numeric
        if not pd.api.types.is_numeric_dtype(frame[name])
        and not pd.api.types.is_bool_dtype(frame[name])
    ]
    if not_numeric:
        raise DataError(
            f"{path} has columns set to numeric that contain text: "
            f"{', '.join(not_numeric)}. Fix the values in the file, or set their role "
            "to categorical, text or drop under data.columns in params.yaml"
        )
    _check_finite(frame[numeric], path)


def _closest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


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
