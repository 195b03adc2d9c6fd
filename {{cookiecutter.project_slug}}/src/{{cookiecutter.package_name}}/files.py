"""Write outputs atomically and reproducibly.

Every file goes to a temporary name in its own folder and is renamed into place only
when complete, so a stage killed halfway never leaves a file that looks finished.
"""

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def remove_stale_temporaries(path: Path) -> None:
    """Remove the temporary files and folders ``.NAME.*.tmp`` beside ``path`` that a
    write killed before its rename left behind.

    DVC runs one stage per output at a time, so any such file or folder is stale.
    """
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` and rename it onto ``path`` on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path`` that replaces ``path`` on success.

    A stage whose output is a folder writes all its files there, so the folder appears
    complete or not at all.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = Path(
        tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    )
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def finite(value: Any) -> Any:
    """Replace NaN and infinities with None, so that strict JSON parsers accept it."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def write_json(path: Path, content: Any) -> None:
    """Write JSON with sorted keys, ``\\n`` line endings and finite numbers only."""
    text = json.dumps(finite(content), indent=2, sort_keys=True, allow_nan=False)
    write_bytes(path, (text + "\n").encode("utf-8"))


def normalize_text_outputs(folder: Path) -> None:
    """Rewrite JSON files with sorted keys and TSV files with ``\\n`` line endings.

    dvclive writes metrics.json in logging order and its step files with the
    platform's line separator; this makes their bytes the same on every platform.
    """
    for path in sorted(folder.rglob("*.json")):
        write_json(path, json.loads(path.read_text(encoding="utf-8")))
    for path in sorted(folder.rglob("*.tsv")):
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
        write_bytes(path, text.encode("utf-8"))


# Rows converted and written at a time by write_parquet: one row group each.
PARQUET_BATCH_ROWS = 131_072


def write_parquet(
    path: Path, frame: pd.DataFrame, rows: np.ndarray | None = None
) -> None:
    """Write the ``rows`` of ``frame`` (positions, or all rows when None) to ``path``.

    The rows are taken, converted to Arrow and written a batch at a time, so the
    set written is never copied whole beside ``frame``.
    """
    import pyarrow
    import pyarrow.parquet

    if rows is None:
        rows = np.arange(len(frame))
    schema = pyarrow.Schema.from_pandas(frame, preserve_index=False)
    with (
        atomic_path(path) as tmp,
        pyarrow.parquet.ParquetWriter(tmp, schema, compression="zstd") as writer,
    ):
        # An empty set still gets a file with the columns and no rows.
        for start in range(0, max(len(rows), 1), PARQUET_BATCH_ROWS):
            batch = frame.take(rows[start : start + PARQUET_BATCH_ROWS])
            writer.write_table(
                pyarrow.Table.from_pandas(batch, schema=schema, preserve_index=False)
            )
            del batch
    pyarrow.default_memory_pool().release_unused()


def read_parquet(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: it is an output of an earlier stage. "
            "Run `dvc repro` to build the pipeline in order."
        )
    import pyarrow.parquet

    # Each column is freed as soon as it is converted, so the file's data is not held
    # twice in memory at the end.
    table = pyarrow.parquet.read_table(path)
    frame = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    # Arrow's allocator keeps freed memory for reuse; give it back to the system.
    pyarrow.default_memory_pool().release_unused()
    return frame


# A fixed timestamp for zip members, so the same arrays give the same bytes.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class DenseChunks:
    """A float32 matrix of ``shape`` given as consecutive blocks of rows, so it can be
    written without ever being whole in memory."""

    shape: tuple[int, int]
    chunks: Iterable[np.ndarray]


def write_arrays(path: Path, features, labels: np.ndarray) -> None:
    """Write a feature matrix and its labels as an uncompressed ``.npz`` file.

    ``features`` is a dense array, a sparse matrix (stored as its CSR parts, so it
    stays sparse) or ``DenseChunks``. Members are written in a fixed order with a
    fixed timestamp: the same arrays give the same bytes. Text labels are stored as
    fixed-width Unicode, which needs no pickle.
    """
    import zipfile

    import scipy.sparse

    if scipy.sparse.issparse(features):
        csr = scipy.sparse.csr_array(features)
        csr.sort_indices()
        arrays = {
            "data": csr.data,
            "indices": csr.indices,
            "indptr": csr.indptr,
            "shape": np.asarray(csr.shape, dtype=np.int64),
        }
    elif isinstance(features, DenseChunks):
        arrays = {"dense": features}
    else:
        arrays = {"dense": np.ascontiguousarray(features)}
    if labels.dtype == object:
        labels = labels.astype(str)
    arrays["labels"] = labels
    with (
        atomic_path(path) as tmp,
        zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive,
    ):
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_TIME)
            with archive.open(info, "w", force_zip64=True) as member:
                if isinstance(array, DenseChunks):
                    _write_chunks(member, array)
                else:
                    np.lib.format.write_array(member, array, allow_pickle=False)


def _write_chunks(member, matrix: DenseChunks) -> None:
    """Write the .npy header of ``matrix``, then its rows block by block."""
    header = {"descr": "<f4", "fortran_order": False, "shape": matrix.shape}
    np.lib.format.write_array_header_1_0(member, header)
    rows = 0
    for chunk in matrix.chunks:
        member.write(np.ascontiguousarray(chunk, dtype="<f4").tobytes())
        rows += len(chunk)
    if rows != matrix.shape[0]:
        raise ValueError(f"wrote {rows} rows of a matrix of shape {matrix.shape}")


def read_arrays(path: Path):
    """Return the features (a CSR matrix or a dense array) and labels in ``path``."""
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: it is an output of an earlier stage. "
            "Run `dvc repro` to build the pipeline in order."
        )
    with np.load(path, allow_pickle=False) as arrays:
        labels = arrays["labels"]
        if "dense" in arrays.files:
            return arrays["dense"], labels
        import scipy.sparse

        parts = (arrays["data"], arrays["indices"], arrays["indptr"])
        return scipy.sparse.csr_matrix(parts, shape=tuple(arrays["shape"])), labels
