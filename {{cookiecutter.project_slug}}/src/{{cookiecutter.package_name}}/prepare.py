"""prepare: read the raw table, decide each column's role, check it, and split it
into train and test sets."""

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from . import cli
from .data import DataError, check_features, check_target, infer_roles, read_raw
from .files import atomic_dir, write_json, write_parquet
from .params import TASK, DataParams, PrepareParams, load_params
from .paths import PREPARED_DIR, SCHEMA_FILE, TARGET, TEST_FILE, TRAIN_FILE

log = logging.getLogger(__name__)


def split_rows(
    frame: pd.DataFrame, target: str, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return the positions of the train rows and of the test rows, each in order.

    The split is stratified by ``target`` when the project classifies.
    """
    from sklearn.model_selection import train_test_split

    stratify = None
    if TASK == "classification":
        _check_class_sizes(frame[target], target, test_size)
        # Class numbers in sorted order split like the labels themselves, and fast.
        stratify = pd.factorize(frame[target], sort=True)[0]
    elif len(frame) < 2 or not 1 <= math.ceil(test_size * len(frame)) < len(frame):
        raise DataError(
            f"prepare.test_size {test_size} leaves no rows for one of the sets from "
            f"{len(frame)} rows: add data or choose a test_size between "
            f"{1 / len(frame):.3g} and {1 - 1 / len(frame):.3g}"
        )

    train_rows, test_rows = train_test_split(
        np.arange(len(frame)), test_size=test_size, random_state=seed, stratify=stratify
    )
    train_rows.sort()
    test_rows.sort()
    return train_rows, test_rows


def split(
    frame: pd.DataFrame, target: str, test_size: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``frame`` into train and test sets (see ``split_rows``).

    The target column is renamed to ``TARGET``. Rows keep their order within each set.
    """
    train_rows, test_rows = split_rows(frame, target, test_size, seed)
    renamed = frame.rename(columns={target: TARGET})
    return renamed.take(train_rows), renamed.take(test_rows)


def _check_class_sizes(labels: pd.Series, target: str, test_size: float) -> None:
    counts = labels.value_counts()
    rare = counts[counts < 2]
    if len(rare):
        raise DataError(
            f"class {rare.index[0]!r} of target column {target!r} has a single row; "
            "a stratified split needs at least two rows of every class. Add rows of "
            "that class or drop it"
        )
    n_test = math.ceil(test_size * len(labels))
    n_classes = len(counts)
    if n_test < n_classes or len(labels) - n_test < n_classes:
        raise DataError(
            f"prepare.test_size {test_size} puts {n_test} of {len(labels)} rows in the "
            f"test set, but each set needs at least one row of each of the {n_classes} "
            "classes. Choose a test_size that leaves both sets that many rows, or add "
            "data"
        )


def select_columns(frame: pd.DataFrame, roles: dict[str, str]) -> pd.DataFrame:
    """Keep the target and the used columns: numbers as float32, categories and text
    as strings.

    The models compute in float32, so numbers lose nothing they would use, and the
    table takes less memory. Categories become text so that 1 and "1" are the same
    level. Missing values stay missing; featurize decides how to fill them.
    """
    dropped = [name for name, role in roles.items() if role == "drop"]
    selected = frame.drop(columns=dropped)
    for name, role in roles.items():
        column = frame[name]
        if role == "numeric":
            selected[name] = column.astype("float32")
        elif role != "drop" and not pd.api.types.is_string_dtype(column):
            selected[name] = column.astype("str")
    return selected


def describe_roles(roles: dict[str, str]) -> str:
    """Return e.g. ``numeric 3 (a, b, c); drop 1 (id)`` for the log."""
    parts = []
    for role in ("numeric", "categorical", "text", "drop"):
        names = [name for name, given in roles.items() if given == role]
        if names:
            listed = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
            parts.append(f"{role} {len(names)} ({listed})")
    return "; ".join(parts)


def main() -> None:
    params = load_params("data", "prepare")
    data: DataParams = params["data"]
    prepare: PrepareParams = params["prepare"]

    raw_path = Path(data.raw)
    frame = read_raw(raw_path, data.csv)
    check_target(frame, data.target, raw_path)
    roles = infer_roles(frame, data.target, data.columns, raw_path)
    check_features(frame, roles, raw_path)
    log.info(
        "read %d rows and %d columns from %s", len(frame), frame.shape[1], raw_path
    )
    log.info(
        "column roles (override under data.columns in params.yaml): %s",
        describe_roles(roles),
    )

    frame = select_columns(frame, roles).rename(columns={data.target: TARGET})
    train_rows, test_rows = split_rows(frame, TARGET, prepare.test_size, prepare.seed)

    with atomic_dir(PREPARED_DIR) as folder:
        write_parquet(folder / TRAIN_FILE, frame, train_rows)
        write_parquet(folder / TEST_FILE, frame, test_rows)
        used = {name: role for name, role in roles.items() if role != "drop"}
        write_json(folder / SCHEMA_FILE, {"roles": used, "task": TASK})
    log.info(
        "prepared %d train / %d test rows in %s",
        len(train_rows),
        len(test_rows),
        PREPARED_DIR,
    )


if __name__ == "__main__":
    cli.run(main)
