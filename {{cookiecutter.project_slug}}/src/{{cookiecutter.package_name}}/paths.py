"""Paths that the stages read and write, relative to the project root.

dvc.yaml lists the same paths as each stage's deps and outs; keep the two in step.
"""

from pathlib import Path

PARAMS_FILE = Path("params.yaml")

PREPARED_DIR = Path("data/prepared")
FEATURES_DIR = Path("data/features")
MODEL_FILE = Path("models/model.skops")
TRAIN_LIVE_DIR = Path("dvclive/train")
EVALUATE_LIVE_DIR = Path("dvclive/evaluate")

TRAIN_FILE = "train.parquet"
TEST_FILE = "test.parquet"
# Features and labels, in FEATURES_DIR: sparse matrices stay sparse in these.
TRAIN_ARRAYS = "train.npz"
TEST_ARRAYS = "test.npz"
# Column roles, beside the prepared data and the features.
SCHEMA_FILE = "schema.json"
FEATURIZER_FILE = FEATURES_DIR / "featurizer.json"

# prepare renames the column named by data.target to this, so later stages do not
# read the data section of params.yaml and do not rerun when only it changes.
TARGET = "target"
