"""Save and load scikit-learn models as skops files whose bytes are reproducible.

DVC detects changed outputs by hashing file contents, so the same fitted model must
produce the same file in every process. ``skops.io.dumps`` (skops 0.16) does not do
this: it names zip members and the ``__id__`` fields of ``schema.json`` after Python
object ids, names ``bytes`` members with random UUIDs, stamps members with the
current time and writes set elements in hash order. The padding bytes of structured
arrays, such as the node array of ``sklearn.tree._tree.Tree``, can hold arbitrary
bytes once a model has been loaded. save_model rewrites the zip to remove all of
these differences. It also merges equal scalars (strings, numbers, None), since
whether two of them are one Python object depends on how the model was built: in
this process, or unpickled from a Dask worker.
"""

import io
import json
import os
import secrets
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import skops.io

from .errors import InputError
from .files import remove_stale_temporaries

TRUSTED_TYPES: list[str] = [
    # SimpleImputer stores the dtypes it was fitted on (_fit_dtype, _fill_dtype).
    "numpy.dtype",
    # HistGradientBoostingClassifier trees. skops does not trust this type by
    # default because a crafted file with out-of-range node indices can crash the
    # process at predict time.
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    # MLPClassifier optimizer state for solver="adam" (the default) and "sgd".
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    # Tree storage of RandomForest* and GradientBoosting* models, with the same
    # crafted-file risk as TreePredictor.
    "sklearn.tree._tree.Tree",
]
"""Types that load_model accepts beyond the ones skops 0.16 trusts by default.

skops already trusts scikit-learn estimators, builtins, numpy arrays and the loss
and binning classes of gradient boosting. Each entry here was reported by
``skops.io.get_untrusted_types`` for one of the supported models.
NOTE: HistGradientBoostingClassifier with ``categorical_features`` set also needs
``functools.partial`` and ``sklearn.utils.validation.check_array``, not listed here.
"""


class ModelFileError(InputError):
    """A model file is not a skops file or contains types that are not trusted."""


_SCHEMA_NAME = "schema.json"
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_ZIP_CREATE_SYSTEM_UNIX = 3
_ZIP_MEMBER_MODE = 0o644
# NOTE: Deflate output can change with the zlib build, so files are only promised
# to match between processes of one environment.
_ZIP_COMPRESS_LEVEL = 6
_JSON_SEPARATORS = (",", ":")


def save_model(model: Any, path: Path) -> None:
    """Save a fitted estimator or Pipeline to path as a reproducible skops file.

    The file is written to a temporary file in the same folder and then renamed, so
    path never contains a partial model. Missing parent folders are created.
    """
    path = Path(path)
    data = _canonicalize_skops_zip(skops.io.dumps(model))
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(path, data)


def load_model(path: Path) -> Any:
    """Load a model saved by save_model, allowing only skops defaults and TRUSTED_TYPES.

    Raises FileNotFoundError if path does not exist, and ModelFileError if the file
    is not a zip archive or contains types outside TRUSTED_TYPES.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"Model file not found: {path}. Run `dvc pull` to download it from the "
            "DVC remote, or `dvc repro` to train it."
        )

    try:
        untrusted_types = skops.io.get_untrusted_types(file=path)
    except zipfile.BadZipFile as error:
        raise ModelFileError(
            f"Model file {path} is not a skops file because it is not a valid zip "
            f"archive ({error}). Run `dvc repro` to save the model again."
        ) from error

    rejected_types = [name for name in untrusted_types if name not in TRUSTED_TYPES]
    if rejected_types:
        raise ModelFileError(
            f"Model file {path} contains types that are not trusted: "
            f"{', '.join(rejected_types)}. The model was not loaded because loading "
            "these types could run code. Retrain the model with a supported "
            "estimator, or review these types and add them to TRUSTED_TYPES in "
            "model_io.py."
        )

    return skops.io.load(path, trusted=TRUSTED_TYPES)


def _canonicalize_skops_zip(data: bytes) -> bytes:
    """Rewrite a skops zip so that its bytes depend only on the saved model."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        schema = json.loads(source.read(_SCHEMA_NAME))
        old_members = {
            name: source.read(name)
            for name in source.namelist()
            if name != _SCHEMA_NAME
        }

    renumbering = _Renumbering()
    new_schema = renumbering.rewrite(schema)
    new_members = _rename_members(old_members, renumbering.member_names)
    for name, content in new_members.items():
        if name.endswith(".npy"):
            new_members[name] = _clear_structured_padding(content)
    new_members[_SCHEMA_NAME] = json.dumps(
        new_schema, separators=_JSON_SEPARATORS, ensure_ascii=True
    ).encode("ascii")

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name in sorted(new_members):
            target.writestr(
                _fixed_zip_info(name),
                new_members[name],
                compresslevel=_ZIP_COMPRESS_LEVEL,
            )
    return buffer.getvalue()


class _Renumbering:
    """Renumbering of skops ``__id__`` values and member names in document order.

    A skops schema node is a dict with a ``__loader__`` key. Nodes sharing an
    ``__id__`` are one object, which the skops loader builds once, so ids are mapped
    one to one, except that all JSON scalar nodes of equal content get one id. A
    node's ``file`` field names the zip member with its data, and the member is
    renamed after the node's new id.
    """

    def __init__(self) -> None:
        self.ids: dict[tuple[str, Any], int] = {}
        self.member_names: dict[str, str] = {}

    def rewrite(self, value: Any) -> Any:
        """Return a copy of a schema value with new ids, member names and key order."""
        if isinstance(value, list):
            return [self.rewrite(item) for item in value]
        if not isinstance(value, dict):
            return value
        if "__loader__" in value:
            return self._rewrite_node(value)
        return {key: self.rewrite(value[key]) for key in sorted(value)}

    def _rewrite_node(self, node: dict[str, Any]) -> dict[str, Any]:
        # Pre-order numbering matches the text order of the output, because
        # "__id__" sorts before every key that contains child nodes.
        new_id = None
        if "__id__" in node:
            new_id = self._renumber_id(node)

        rewritten: dict[str, Any] = {}
        for key in sorted(node):
            value = node[key]
            if key == "__id__":
                rewritten[key] = new_id
            elif key == "file":
                rewritten[key] = self._rename_member(value, new_id)
            elif key == "content" and node["__loader__"] == "DictNode":
                # DictNode keys are the dict's own keys, and skops pairs them by
                # position with the "key_types" list, so their order must not change.
                rewritten[key] = {
                    name: self.rewrite(item) for name, item in value.items()
                }
            elif key == "content" and node["__loader__"] == "SetNode":
                rewritten[key] = [
                    self.rewrite(item) for item in sorted(value, key=_set_element_key)
                ]
            else:
                rewritten[key] = self.rewrite(value)
        return rewritten

    def _renumber_id(self, node: dict[str, Any]) -> int:
        old_id = node["__id__"]
        if not isinstance(old_id, int):
            raise TypeError(f"skops schema has a non-integer __id__: {old_id!r}")
        key = ("id", old_id)
        if node["__loader__"] == "JsonNode" and _is_json_scalar(node["content"]):
            # Scalars are immutable, so loading equal ones as one object is safe.
            key = ("scalar", node["content"])
        # Start at 1 because skops only memoizes nodes whose __id__ is truthy.
        return self.ids.setdefault(key, len(self.ids) + 1)

    def _rename_member(self, old_name: Any, new_id: int | None) -> str:
        if not isinstance(old_name, str) or new_id is None:
            raise RuntimeError(
                f"skops schema has a file reference {old_name!r} on a node without "
                "an __id__, so it cannot be renamed"
            )
        new_name = f"{new_id}{PurePosixPath(old_name).suffix}"
        self.member_names[old_name] = new_name
        return new_name


def _is_json_scalar(content: Any) -> bool:
    """Tell whether a JsonNode's content is a string, number, bool or null."""
    return isinstance(content, str) and not content.lstrip().startswith(("[", "{"))


def _set_element_key(element: Any) -> str:
    """Return a sort key for a set element that ignores the ids inside it."""
    return json.dumps(_strip_ids(element), sort_keys=True)


def _strip_ids(value: Any) -> Any:
    if isinstance(value, list):
        return [_strip_ids(item) for item in value]
    if isinstance(value, dict):
        return {
            key: _strip_ids(item)
            for key, item in value.items()
            if key not in ("__id__", "file")
        }
    return value


def _rename_members(
    old_members: dict[str, bytes], new_names: dict[str, str]
) -> dict[str, bytes]:
    """Return the members under their new names, checking that none is lost."""
    unreferenced = sorted(set(old_members) - set(new_names))
    if unreferenced:
        raise RuntimeError(
            f"skops output has zip members that schema.json does not reference: "
            f"{unreferenced}. This layout is not supported by model_io.py."
        )
    missing = sorted(set(new_names) - set(old_members))
    if missing:
        raise RuntimeError(
            f"skops schema.json references missing zip members: {missing}"
        )

    renamed: dict[str, bytes] = {}
    for old_name, new_name in new_names.items():
        content = old_members[old_name]
        # skops writes a separate UUID-named member each time it meets the same
        # bytes object, and those members get the same new name here.
        if new_name in renamed and renamed[new_name] != content:
            raise RuntimeError(
                f"skops zip members for one object differ in content: {new_name}"
            )
        renamed[new_name] = content
    return renamed


def _clear_structured_padding(npy_data: bytes) -> bytes:
    """Return npy data with the padding bytes between structured fields set to 0."""
    array = np.load(io.BytesIO(npy_data), allow_pickle=False)
    if array.dtype.names is None:
        return npy_data

    order = "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"
    cleared = np.zeros(array.shape, dtype=array.dtype, order=order)
    _copy_fields(array, cleared)
    buffer = io.BytesIO()
    np.save(buffer, cleared, allow_pickle=False)
    return buffer.getvalue()


def _copy_fields(source: np.ndarray, target: np.ndarray) -> None:
    """Copy structured data one field at a time so that padding bytes stay 0."""
    for name in source.dtype.names:
        if source[name].dtype.names is None:
            target[name] = source[name]
        else:
            _copy_fields(source[name], target[name])


def _fixed_zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = _ZIP_CREATE_SYSTEM_UNIX
    info.external_attr = _ZIP_MEMBER_MODE << 16
    return info


def _write_atomically(path: Path, data: bytes) -> None:
    """Write data to path through a fsynced temporary file and os.replace."""
    remove_stale_temporaries(path)
    temporary_path = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    # os.open with mode 0o666 applies the umask, unlike tempfile's fixed 0o600.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temporary_path, flags, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as temporary_file:
            temporary_file.write(data)
            temporary_file.flush()
            os.fsync(temporary_file.fileno())
        os.replace(temporary_path, path)
    except BaseException:
        temporary_path.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Persist a rename in directory, where the platform allows opening folders."""
    if os.name != "posix":
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
