"""Tests for reproducible saving, trusted loading and atomic writes in model_io.

Every test writes real skops files under tmp_path, and byte comparisons save in
separate Python processes.
"""

import copy
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from {{ cookiecutter.package_name }}.model_io import load_model, save_model

TEST_DIRECTORY = Path(__file__).resolve().parent

MODEL_NAMES = [
    "random_forest",
    "logistic_regression_pipeline",
    "mlp",
    "hist_gradient_boosting",
    "column_transformer_pipeline",
]

SAVE_SCRIPT = """
import sys
import warnings
from pathlib import Path

from {{ cookiecutter.package_name }}.model_io import save_model
from test_model_io import build_model

warnings.simplefilter("ignore")
model, _ = build_model(sys.argv[1])
save_model(model, Path(sys.argv[2]))
"""

UNTRUSTED_MODULE_SOURCE = '''
def double_values(values):
    """Return values times 2."""
    return values * 2
'''

UNTRUSTED_SAVE_SCRIPT = """
import sys
from pathlib import Path

import numpy as np
from sklearn.preprocessing import FunctionTransformer

import made_up_transforms
from {{ cookiecutter.package_name }}.model_io import save_model

model = FunctionTransformer(func=made_up_transforms.double_values)
model.fit(np.ones((4, 2)))
save_model(model, Path(sys.argv[1]))
"""


def build_model(name: str) -> tuple[Any, Any]:
    """Fit the named model on fixed data and return it with its training features."""
    if name == "column_transformer_pipeline":
        return _fit_column_transformer_pipeline()
    if name == "string_set_parameter":
        labels = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta"}
        features = np.ones((3, 2))
        return FunctionTransformer(kw_args={"labels": labels}).fit(features), features

    features, target = load_breast_cancer(return_X_y=True)
    estimators = {
        "random_forest": RandomForestClassifier(n_estimators=20, random_state=0),
        "logistic_regression_pipeline": make_pipeline(
            StandardScaler(), LogisticRegression()
        ),
        "mlp": MLPClassifier(max_iter=50, random_state=0),
        "hist_gradient_boosting": HistGradientBoostingClassifier(
            max_iter=20, random_state=0
        ),
    }
    return estimators[name].fit(features, target), features


def _fit_column_transformer_pipeline() -> tuple[Pipeline, pd.DataFrame]:
    frame = pd.DataFrame(
        {
            "age": [22.0, 35.0, np.nan, 51.0, 46.0, 29.0, np.nan, 63.0, 38.0, 41.0],
            "income": [28.0, 52.0, 61.0, np.nan, 75.0, 33.0, 45.0, 90.0, 58.0, 40.0],
            "city": [
                "Oslo",
                "Lima",
                None,
                "Oslo",
                "Pune",
                "Lima",
                "Pune",
                None,
                "Oslo",
                "Lima",
            ],
        }
    )
    target = np.array([0, 1, 0, 1, 1, 0, 0, 1, 1, 0])
    preprocessing = ColumnTransformer(
        [
            (
                "numeric",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                ["age", "income"],
            ),
            (
                "category",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                ["city"],
            ),
        ]
    )
    model = make_pipeline(preprocessing, LogisticRegression())
    return model.fit(frame, target), frame


def run_python(
    script: str, arguments: list[str], hash_seed: str, extra_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a script in a new interpreter that can import model_io and this module."""
    python_path = [str(TEST_DIRECTORY), str(TEST_DIRECTORY.parent / "src")]
    if extra_path is not None:
        python_path.append(str(extra_path))
    if os.environ.get("PYTHONPATH"):
        python_path.append(os.environ["PYTHONPATH"])
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(python_path),
        "PYTHONHASHSEED": hash_seed,
    }
    return subprocess.run(
        [sys.executable, "-c", script, *arguments],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def save_in_subprocess(name: str, path: Path, hash_seed: str) -> None:
    result = run_python(SAVE_SCRIPT, [name, str(path)], hash_seed)
    assert result.returncode == 0, result.stderr


def read_schema(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("schema.json"))


def collect_nodes(value: Any) -> list[dict[str, Any]]:
    """Return every skops node in a schema, in document order."""
    if isinstance(value, list):
        return [node for item in value for node in collect_nodes(item)]
    if not isinstance(value, dict):
        return []
    nodes = [value] if "__loader__" in value else []
    for item in value.values():
        nodes.extend(collect_nodes(item))
    return nodes


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_save_same_bytes_across_processes(name: str, tmp_path: Path) -> None:
    first_path = tmp_path / "first.skops"
    second_path = tmp_path / "second.skops"

    # Different hash seeds change the iteration order of sets of strings.
    save_in_subprocess(name, first_path, hash_seed="1")
    save_in_subprocess(name, second_path, hash_seed="2")

    assert first_path.read_bytes() == second_path.read_bytes()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_load_predicts_like_original(name: str, tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    save_in_subprocess(name, path, hash_seed="1")
    original, features = build_model(name)

    loaded = load_model(path)

    assert type(loaded) is type(original)
    np.testing.assert_array_equal(
        loaded.predict_proba(features), original.predict_proba(features)
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_save_after_load_same_bytes(name: str, tmp_path: Path) -> None:
    # A loaded sklearn Tree has uninitialized padding bytes in its node array.
    original_path = tmp_path / "original.skops"
    resaved_path = tmp_path / "resaved.skops"
    model, _ = build_model(name)
    save_model(model, original_path)

    save_model(load_model(original_path), resaved_path)

    assert resaved_path.read_bytes() == original_path.read_bytes()


def test_save_sorts_set_elements(tmp_path: Path) -> None:
    first_path = tmp_path / "first.skops"
    second_path = tmp_path / "second.skops"
    save_in_subprocess("string_set_parameter", first_path, hash_seed="1")
    save_in_subprocess("string_set_parameter", second_path, hash_seed="2")

    loaded = load_model(first_path)

    assert first_path.read_bytes() == second_path.read_bytes()
    assert loaded.kw_args == {
        "labels": {"alpha", "beta", "gamma", "delta", "epsilon", "zeta"}
    }


def test_save_renumbers_ids_and_members(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    model, _ = build_model("random_forest")

    save_model(model, path)

    nodes = collect_nodes(read_schema(path))
    ids_in_order = list(dict.fromkeys(node["__id__"] for node in nodes))
    assert ids_in_order == list(range(1, len(ids_in_order) + 1))
    file_nodes = [node for node in nodes if "file" in node]
    assert file_nodes
    for node in file_nodes:
        assert node["file"] == f"{node['__id__']}.npy"
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    member_names = [info.filename for info in infos]
    assert member_names == sorted(member_names)
    assert set(member_names) == {node["file"] for node in file_nodes} | {"schema.json"}
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert info.external_attr == 0o644 << 16


def test_save_ignores_which_equal_scalars_are_shared(tmp_path: Path) -> None:
    """Trees unpickled one at a time, as from Dask workers, share no str or float
    objects with the forest. Trees fitted here do, and the bytes must not differ."""
    model, _ = build_model("random_forest")
    unpickled = copy.copy(model)
    unpickled.estimators_ = [
        pickle.loads(pickle.dumps(tree)) for tree in model.estimators_
    ]

    save_model(model, tmp_path / "fitted.skops")
    save_model(unpickled, tmp_path / "unpickled.skops")

    fitted_bytes = (tmp_path / "fitted.skops").read_bytes()
    assert (tmp_path / "unpickled.skops").read_bytes() == fitted_bytes


def test_save_clears_tree_node_padding(tmp_path: Path) -> None:
    first_path = tmp_path / "first.skops"
    resaved_path = tmp_path / "resaved.skops"
    model, _ = build_model("random_forest")
    save_model(model, first_path)

    save_model(load_model(first_path), resaved_path)

    # np.load of a structured array fills padding with arbitrary bytes, so the
    # records are read from the raw npy data.
    node_records = []
    with zipfile.ZipFile(resaved_path) as archive:
        for name in archive.namelist():
            if name.endswith(".npy"):
                node_records.extend(read_tree_node_records(archive.read(name)))
    assert len(node_records) == 20
    for dtype, records in node_records:
        field_end = max(
            offset + field_dtype.itemsize
            for field_dtype, offset in dtype.fields.values()
        )
        assert field_end < dtype.itemsize
        assert not records[:, field_end:].any()


def read_tree_node_records(
    npy_data: bytes,
) -> list[tuple[np.dtype, np.ndarray]]:
    """Return the dtype and raw record bytes of a Tree node array, or nothing."""
    stream = io.BytesIO(npy_data)
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        _, _, dtype = np.lib.format.read_array_header_1_0(stream)
    else:
        _, _, dtype = np.lib.format.read_array_header_2_0(stream)
    if dtype.names is None or "left_child" not in dtype.names:
        return []
    records = np.frombuffer(npy_data, dtype=np.uint8, offset=stream.tell())
    return [(dtype, records.reshape(-1, dtype.itemsize))]


def test_save_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "models" / "model.skops"
    model, _ = build_model("logistic_regression_pipeline")

    save_model(model, path)
    save_model(model, path)

    assert sorted(path.parent.iterdir()) == [path]


def test_failed_save_removes_temporary_file(tmp_path: Path) -> None:
    # os.replace cannot put a file over a non-empty directory, so the save fails
    # after the temporary file was written.
    path = tmp_path / "model.skops"
    path.mkdir()
    (path / "placeholder").touch()
    model, _ = build_model("logistic_regression_pipeline")

    with pytest.raises(OSError):
        save_model(model, path)

    assert sorted(tmp_path.iterdir()) == [path]


def test_load_rejects_untrusted_type(tmp_path: Path) -> None:
    module_directory = tmp_path / "modules"
    module_directory.mkdir()
    (module_directory / "made_up_transforms.py").write_text(UNTRUSTED_MODULE_SOURCE)
    path = tmp_path / "model.skops"
    result = run_python(
        UNTRUSTED_SAVE_SCRIPT, [str(path)], hash_seed="1", extra_path=module_directory
    )
    assert result.returncode == 0, result.stderr

    with pytest.raises(ValueError) as error_info:
        load_model(path)

    message = str(error_info.value)
    assert "made_up_transforms.double_values" in message
    assert str(path) in message
    assert "not loaded" in message
    assert "TRUSTED_TYPES" in message
    assert "made_up_transforms" not in sys.modules


def test_load_missing_file_message(tmp_path: Path) -> None:
    path = tmp_path / "missing.skops"

    with pytest.raises(FileNotFoundError) as error_info:
        load_model(path)

    message = str(error_info.value)
    assert str(path) in message
    assert "dvc pull" in message
    assert "dvc repro" in message


def test_load_rejects_non_zip_file(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    path.write_text("not a zip archive")

    with pytest.raises(ValueError, match="not a valid zip archive") as error_info:
        load_model(path)

    assert str(path) in str(error_info.value)
