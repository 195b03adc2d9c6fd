"""prepare: read the raw table, check it, and split it into train and test sets."""

import logging
import math
from pathlib import Path

import pandas as pd

from . import cli
from .data import DataError, check_columns, read_raw
from .files import atomic_dir, write_parquet
from .params import DataParams, PrepareParams, load_params
from .paths import PREPARED_DIR, TARGET, TEST_FILE, TRAIN_FILE

log = logging.getLogger(__name__)


def split(
    frame: pd.DataFrame, target: str, test_size: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``frame`` into train and test sets, stratified by ``target``.

    The target column is renamed to ``TARGET``. Rows keep their order within each set.
    """
    from sklearn.model_selection import train_test_split

    counts = frame[target].value_counts()
    rare = counts[counts < 2]
    if len(rare):
        raise DataError(
            f"class {rare.index[0]!r} of target column {target!r} has a single row; "
            "a stratified split needs at least two rows of every class. Add rows of "
            "that class or drop it"
        )
    n_test = math.ceil(test_size * len(frame))
    n_classes = len(counts)
    if n_test < n_classes or len(frame) - n_test < n_classes:
        raise DataError(
            f"prepare.test_size {test_size} puts {n_test} of {len(frame)} rows in the "
            f"test set, but each set needs at least one row of each of the {n_classes} "
            "classes. Choose a test_size that leaves both sets that many rows, or add "
            "data"
        )

    renamed = frame.rename(columns={target: TARGET})
    train, test = train_test_split(
        renamed, test_size=test_size, random_state=seed, stratify=renamed[TARGET]
    )
    return train.sort_index(), test.sort_index()


def main() -> None:
    params = load_params("data", "prepare")
    data: DataParams = params["data"]
    prepare: PrepareParams = params["prepare"]

    raw_path = Path(data.raw)
    frame = read_raw(raw_path)
    check_columns(frame, data.target, raw_path)
    log.info(
        "read %d rows and %d columns from %s", len(frame), frame.shape[1], raw_path
    )

    train, test = split(frame, data.target, prepare.test_size, prepare.seed)

    with atomic_dir(PREPARED_DIR) as folder:
        write_parquet(folder / TRAIN_FILE, train)
        write_parquet(folder / TEST_FILE, test)
    log.info(
        "prepared %d train / %d test rows in %s", len(train), len(test), PREPARED_DIR
    )


if __name__ == "__main__":
    cli.run(main)
