"""Write a seeded synthetic table for the scale benchmarks.

Usage: python benchmarks/gen_tabular.py OUTPUT N [SEED]

OUTPUT ends in .csv or .parquet. The table has 20 numeric columns (num_01 ...
num_20), 5 categorical columns of string levels (cat_colour, cat_region, cat_device,
cat_channel, cat_product: 4 to 40 levels, the last levels rare), 5% of the values of
every feature column missing, and a target column ``target_label`` of "yes" and
"no". The label depends on 8 numeric and 3 categorical columns through a logistic
model with noise, so a model can learn it but not perfectly.
"""

import sys

import numpy as np
import pandas as pd

MISSING_SHARE = 0.05
N_NUMERIC = 20
# name -> number of levels. Level k (from 0) is drawn with weight 1 / (k + 1) ** 1.5,
# so the last levels of the larger columns appear in 2 to 4 rows in a thousand.
CATEGORIES = {
    "cat_colour": 4,
    "cat_region": 12,
    "cat_device": 6,
    "cat_channel": 25,
    "cat_product": 40,
}
TARGET = "target_label"


def numeric_columns(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Mix the shapes of real tables: normal, skewed, bounded and count columns."""
    columns = {}
    for index in range(N_NUMERIC):
        kind = index % 4
        if kind == 0:
            values = rng.normal(loc=index, scale=1 + index / 10, size=n)
        elif kind == 1:
            values = rng.lognormal(mean=1.0, sigma=0.8, size=n)
        elif kind == 2:
            values = rng.uniform(-5, 5, size=n)
        else:
            values = rng.poisson(lam=3 + index, size=n).astype("float64")
        columns[f"num_{index + 1:02d}"] = values
    return columns


def categorical_codes(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    codes = {}
    for name, levels in CATEGORIES.items():
        weights = 1 / np.arange(1, levels + 1) ** 1.5
        codes[name] = rng.choice(levels, size=n, p=weights / weights.sum())
    return codes


def labels(
    rng: np.random.Generator,
    seed: int,
    numeric: dict[str, np.ndarray],
    codes: dict[str, np.ndarray],
) -> np.ndarray:
    """Draw yes/no from a logistic model of some columns, about half yes.

    The category effects come from a generator of their own, seeded with the
    table's seed, so tables of every size share one model.
    """
    n = len(next(iter(numeric.values())))
    model_rng = np.random.default_rng([seed, 1])
    logit = np.full(n, -0.4)
    for weight, name in zip(
        (1.2, -0.9, 0.8, 0.7, -0.6, 0.5, 0.4, -0.3),
        (
            "num_01",
            "num_02",
            "num_03",
            "num_04",
            "num_06",
            "num_07",
            "num_11",
            "num_12",
        ),
        strict=True,
    ):
        values = numeric[name]
        logit += weight * (values - values.mean()) / values.std()
    for name in ("cat_region", "cat_channel", "cat_device"):
        effects = model_rng.normal(scale=0.8, size=CATEGORIES[name])
        logit += effects[codes[name]]
    logit += rng.normal(scale=0.5, size=n)
    probability = 1 / (1 + np.exp(-logit))
    return np.where(rng.random(n) < probability, "yes", "no")


def table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    numeric = numeric_columns(rng, n)
    codes = categorical_codes(rng, n)
    target = labels(rng, seed, numeric, codes)

    frame = pd.DataFrame(numeric)
    for name, code in codes.items():
        levels = np.array([f"{name[4:]}_{k:02d}" for k in range(CATEGORIES[name])])
        frame[name] = levels[code].astype(object)
    for name in frame.columns:
        missing = rng.random(n) < MISSING_SHARE
        frame.loc[missing, name] = None if frame[name].dtype == object else np.nan
    frame[TARGET] = target
    return frame


def main() -> None:
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.split("\n\n")[1])
    output, n = sys.argv[1], int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) == 4 else 0
    frame = table(n, seed)
    if output.endswith(".parquet"):
        frame.to_parquet(output, index=False)
    else:
        frame.to_csv(output, index=False, float_format="%.6g", lineterminator="\n")


if __name__ == "__main__":
    main()
