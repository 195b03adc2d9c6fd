"""Write outputs atomically and reproducibly.

Every file goes to a temporary name in its own folder and is renamed into place only
when complete, so a stage killed halfway never leaves a file that looks finished.
"""

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` and rename it onto ``path`` on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
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


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False, compression="zstd")


def read_parquet(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: it is an output of an earlier stage. "
            "Run `dvc repro` to build the pipeline in order."
        )
    return pd.read_parquet(path)
