import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.paths import TARGET


@pytest.fixture
def binary_frame() -> pd.DataFrame:
    """40 rows with two features; the first separates the labels 'no' and 'yes'."""
    rng = np.random.default_rng(0)
    labels = np.array(["no", "yes"] * 20)
    signal = np.where(labels == "yes", 1.0, -1.0) + rng.normal(0, 0.5, 40)
    return pd.DataFrame(
        {"signal": signal, "noise": rng.normal(0, 1, 40), "label": labels}
    )


@pytest.fixture
def multiclass_features() -> pd.DataFrame:
    """60 rows of featurized data with three classes."""
    rng = np.random.default_rng(1)
    labels = np.repeat(["a", "b", "c"], 20)
    centre = {"a": 0.0, "b": 3.0, "c": 6.0}
    signal = np.array([centre[label] for label in labels]) + rng.normal(0, 0.7, 60)
    return pd.DataFrame(
        {"signal": signal, "noise": rng.normal(0, 1, 60), TARGET: labels}
    )
