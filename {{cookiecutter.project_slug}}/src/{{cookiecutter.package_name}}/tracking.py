"""Log each evaluation to MLflow as well: params, metrics and the model.

DVC stays the source of truth, through dvc.lock, Git and the DVC cache. The MLflow
store is a view for teams that browse runs in its UI. The store is ``mlflow.db``
(SQLite) with artifacts in ``mlruns/``, both in the project root and kept out of Git.
"""

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from .model_io import TRUSTED_TYPES
from .paths import PARAMS_FILE

EXPERIMENT = "{{ cookiecutter.project_slug }}"
STORE_FILE = "mlflow.db"
ARTIFACTS_DIR = "mlruns"


def project_root(cwd: Path) -> Path:
    """Return the project that owns ``cwd``.

    Queued experiments run in a copy under ``.dvc/tmp/exps/``; their runs belong in
    the store of the project around that copy, which outlives it.
    """
    parts = cwd.parts
    if ".dvc" in parts:
        return Path(*parts[: parts.index(".dvc")])
    return cwd


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Return nested params as ``{"train.random_forest.n_estimators": 100, ...}``."""
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def git_commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True
    )
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def log_run(model, scores: dict[str, dict[str, float]], example) -> str:
    """Log one run with every param, the metrics and the model; return its run id.

    ``example`` contains a few rows of features, dense or sparse.
    """
    # This project runs offline; MLflow would otherwise send usage data.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow
    import mlflow.sklearn
    import sklearn
    import skops

    root = project_root(Path.cwd())
    mlflow.set_tracking_uri(f"sqlite:///{(root / STORE_FILE).as_posix()}")
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        artifacts = (root / ARTIFACTS_DIR).resolve().as_uri()
        mlflow.create_experiment(EXPERIMENT, artifact_location=artifacts)
    mlflow.set_experiment(EXPERIMENT)

    params = yaml.safe_load(PARAMS_FILE.read_text(encoding="utf-8"))
    with mlflow.start_run() as run:
        mlflow.set_tag("git_commit", git_commit())
        mlflow.log_params(flatten(params))
        mlflow.log_metrics(
            {
                f"{split}_{name}": value
                for split, values in scores.items()
                for name, value in values.items()
            }
        )
        mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format="skops",
            skops_trusted_types=TRUSTED_TYPES,
            input_example=example.toarray() if hasattr(example, "toarray") else example,
            pip_requirements=[
                f"scikit-learn=={sklearn.__version__}",
                f"skops=={skops.__version__}",
            ],
        )
    return run.info.run_id
