"""Load params.yaml and validate the sections a stage reads, before any heavy work.

Each section is a frozen dataclass. A field's metadata contains the check and the text
that describes the allowed values, so an error can name the key, the value found and
what is allowed, and every problem in the file is reported at once.
"""

import difflib
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError
from .paths import PARAMS_FILE

# The project's task, chosen when it was baked. The plots in dvc.yaml and the metrics
# follow it.
TASK = "{{ cookiecutter.task }}"
TASKS = ("classification", "regression")
MODELS = {
    "classification": (
        "random_forest",
        "logistic_regression",
        "mlp",
        "gradient_boosting",
    ),
    "regression": ("random_forest", "ridge", "mlp", "gradient_boosting"),
}[TASK]
IMPUTE_STRATEGIES = ("mean", "median", "most_frequent")
CLASS_WEIGHTS = (None, "balanced")
STOP_WORDS = (None, "english")
ROLES = ("numeric", "categorical", "text", "drop")
MAX_SEED = 2**32 - 1


class ParamsError(InputError):
    """params.yaml is missing, unreadable or contains values a stage cannot use."""


def _rule(
    allowed: str,
    check: Callable[[Any], bool] | None = None,
    default=MISSING,
    task: str | None = None,
):
    """Describe a field: the allowed values, their check, and the one task it is for."""
    metadata = {"allowed": allowed, "check": check, "task": task}
    return field(default=default, metadata=metadata)


def _seed():
    return _rule(f"an integer from 0 to {MAX_SEED}", lambda v: 0 <= v <= MAX_SEED)


def _positive_int(what: str = "an integer of at least 1"):
    return _rule(what, lambda v: v >= 1)


def _is_encoding(name: str) -> bool:
    import codecs

    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


@dataclass(frozen=True)
class CsvParams:
    delimiter: str = _rule(
        'a single character, e.g. "," or ";" or "\\t" for tabs',
        lambda v: len(v) == 1,
    )
    encoding: str = _rule(
        "a text encoding Python knows, e.g. utf-8 or latin-1", _is_encoding
    )


@dataclass(frozen=True)
class DataParams:
    raw: str = _rule(
        "a path under data/raw/ ending in .csv or .parquet",
        lambda v: v.startswith("data/raw/") and v.endswith((".csv", ".parquet")),
    )
    target: str = _rule("the name of the column to predict", lambda v: v != "")
    csv: CsvParams = _rule("a mapping")
    columns: dict[str, str] = _rule(
        f"a mapping of column names to roles ({', '.join(ROLES)}), e.g. id: drop"
    )


@dataclass(frozen=True)
class PrepareParams:
    test_size: float = _rule("a number between 0 and 1, exclusive", lambda v: 0 < v < 1)
    seed: int = _seed()


@dataclass(frozen=True)
class CategoricalParams:
    min_frequency: int = _positive_int(
        "an integer of at least 1: rarer categories are grouped as one"
    )
    max_categories: int | None = _rule(
        "null (no limit) or an integer of at least 2", lambda v: v is None or v >= 2
    )


@dataclass(frozen=True)
class TextParams:
    max_features: int = _positive_int("an integer of at least 1: terms kept")
    ngram_range: tuple[int, ...] = _rule(
        "a list of two integers [shortest, longest], 1 <= shortest <= longest, "
        "e.g. [1, 2] for words and word pairs",
        lambda v: len(v) == 2 and 1 <= v[0] <= v[1],
    )
    stop_words: str | None = _rule(
        "null (keep every word) or english", lambda v: v in STOP_WORDS, default=None
    )


@dataclass(frozen=True)
class FeaturizeParams:
    impute_strategy: str = _rule(
        f"one of {', '.join(IMPUTE_STRATEGIES)}", lambda v: v in IMPUTE_STRATEGIES
    )
    categorical: CategoricalParams = _rule("a mapping")
    text: TextParams = _rule("a mapping")


@dataclass(frozen=True)
class RandomForestParams:
    n_estimators: int = _positive_int()
    max_depth: int | None = _rule(
        "null (no limit) or an integer of at least 1", lambda v: v is None or v >= 1
    )
    min_samples_leaf: int = _positive_int()
    max_leaf_nodes: int | None = _rule(
        "null (no limit) or an integer of at least 2: bounds each tree's size, and "
        "so the model's memory, on large data",
        lambda v: v is None or v >= 2,
    )


@dataclass(frozen=True)
class LogisticRegressionParams:
    C: float = _rule("a number greater than 0", lambda v: v > 0)
    max_iter: int = _positive_int()


@dataclass(frozen=True)
class MLPParams:
    hidden_layer_sizes: tuple[int, ...] = _rule(
        "a list of layer widths, each at least 1, e.g. [64, 32]",
        lambda v: len(v) >= 1 and all(width >= 1 for width in v),
    )
    learning_rate_init: float = _rule("a number greater than 0", lambda v: v > 0)
    alpha: float = _rule("a number of at least 0 (L2 penalty)", lambda v: v >= 0)
    batch_size: int = _positive_int()
    max_epochs: int = _positive_int()
    early_stopping: bool = _rule("true or false")
    patience: int = _positive_int("an integer of at least 1: epochs without progress")


@dataclass(frozen=True)
class GradientBoostingParams:
    max_iter: int = _positive_int()
    learning_rate: float = _rule("a number greater than 0", lambda v: v > 0)
    max_leaf_nodes: int = _rule("an integer of at least 2", lambda v: v >= 2)
    min_samples_leaf: int = _positive_int()
    early_stopping: bool = _rule("true or false")
    patience: int = _positive_int(
        "an integer of at least 1: iterations without progress"
    )


@dataclass(frozen=True)
class RidgeParams:
    alpha: float = _rule("a number of at least 0 (L2 penalty)", lambda v: v >= 0)


@dataclass(frozen=True)
class TrainParams:
    model: str = _rule(
        f"one of {', '.join(MODELS)} (for {TASK})", lambda v: v in MODELS
    )
    seed: int = _seed()
    validation_fraction: float = _rule(
        "a number greater than 0 and at most 0.5", lambda v: 0 < v <= 0.5
    )
    random_forest: RandomForestParams = _rule("a mapping")
    mlp: MLPParams = _rule("a mapping")
    gradient_boosting: GradientBoostingParams = _rule("a mapping")
    class_weight: str | None = _rule(
        "null (every class weighs the same) or balanced",
        lambda v: v in CLASS_WEIGHTS,
        default=None,
        task="classification",
    )
    logistic_regression: LogisticRegressionParams | None = _rule(
        "a mapping", default=None, task="classification"
    )
    ridge: RidgeParams | None = _rule("a mapping", default=None, task="regression")


@dataclass(frozen=True)
class EvaluateParams:
    top_features: int = _positive_int("an integer of at least 1: bars in the chart")
    positive_class: str | int | None = _rule(
        "null (the last class in sorted order) or a class of the target column",
        default=None,
        task="classification",
    )


# The metrics that evaluate writes for each split: keep in step with
# evaluate.classification_metrics and evaluate.regression_metrics.
METRIC_NAMES = {
    "classification": (
        "accuracy",
        "balanced_accuracy",
        "f1",
        "roc_auc",
        "average_precision",
        "log_loss",
    ),
    "regression": ("rmse", "mae", "r2"),
}[TASK]
METRICS = tuple(
    f"{split}.{name}" for split in ("test", "train") for name in METRIC_NAMES
)


@dataclass(frozen=True)
class CompareParams:
    """Settings of `make compare`, which ranks experiments. No stage reads them."""

    primary_metric: str = _rule(f"one of {', '.join(METRICS)}", lambda v: v in METRICS)
    higher_is_better: bool = _rule(
        "true, or false for a loss or an error such as test.log_loss or test.rmse"
    )
    metrics: tuple[str, ...] = _rule(
        f"a list of one or more of {', '.join(METRICS)}",
        lambda v: len(v) >= 1 and all(name in METRICS for name in v),
    )


@dataclass(frozen=True)
class Params:
    data: DataParams = _rule("a mapping")
    prepare: PrepareParams = _rule("a mapping")
    featurize: FeaturizeParams = _rule("a mapping")
    train: TrainParams = _rule("a mapping")
    evaluate: EvaluateParams = _rule("a mapping")
    compare: CompareParams = _rule("a mapping")


def load_params(*sections: str, path: Path = PARAMS_FILE) -> dict[str, Any]:
    """Read ``path`` and return the named sections as validated dataclasses.

    The top-level keys are always checked, but a section's values only when it is
    named. A stage therefore fails only for the sections it reads, which dvc.yaml
    lists for it.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(
            f"{path} not found: run the stage from the project root"
        ) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ParamsError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise ParamsError(
            f"{path} must be a mapping of sections, found {_describe(document)}"
        )

    problems: list[str] = []
    _check_keys(Params, document, "", problems, required=sections)
    result = {}
    for name in sections:
        section_type = typing.get_type_hints(Params)[name]
        if name in document:
            result[name] = _build(section_type, document[name], f"{name}.", problems)
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise ParamsError(f"{path} has invalid params:\n{listing}")
    return result


def _build(cls: type, value: Any, prefix: str, problems: list[str]) -> Any:
    """Return ``cls`` built from ``value``, or None after appending to ``problems``."""
    key = prefix.rstrip(".")
    if not isinstance(value, dict):
        problems.append(
            f"{key} must be a mapping of keys to values, found {_describe(value)}"
        )
        return None
    before = len(problems)
    applicable = _applicable_fields(cls)
    required = [item.name for item in applicable if item.default is MISSING]
    required += [
        item.name
        for item in applicable
        if item.default is not MISSING and item.metadata["task"] is not None
    ]
    _check_keys(cls, value, prefix, problems, required=required)
    hints = typing.get_type_hints(cls)
    values = {}
    for item in applicable:
        if item.name not in value:
            continue
        hint = _dataclass_in(hints[item.name]) or hints[item.name]
        if is_dataclass(hint):
            values[item.name] = _build(
                hint, value[item.name], f"{prefix}{item.name}.", problems
            )
            continue
        if typing.get_origin(hint) is dict:
            values[item.name] = _check_roles(item, value[item.name], prefix, problems)
            continue
        values[item.name] = _check_value(item, hint, value[item.name], prefix, problems)
    if len(problems) > before:
        return None
    return cls(**values)


def _applicable_fields(cls) -> list:
    """Return the fields of ``cls`` that apply to this project's task."""
    return [item for item in fields(cls) if item.metadata["task"] in (None, TASK)]


def _dataclass_in(hint: Any) -> type | None:
    """Return the dataclass of an optional section such as ``RidgeParams | None``."""
    if isinstance(hint, types.UnionType):
        return next((arg for arg in typing.get_args(hint) if is_dataclass(arg)), None)
    return None


def _check_keys(cls, value: dict, prefix: str, problems: list[str], required) -> None:
    known = [item.name for item in _applicable_fields(cls)]
    other_task = {
        item.name: item.metadata["task"]
        for item in fields(cls)
        if item.metadata["task"] not in (None, TASK)
    }
    for key in value:
        if key in other_task:
            problems.append(
                f"{prefix}{key} is for {other_task[key]} projects, and this project "
                f"does {TASK}: remove it"
            )
        elif key not in known:
            problems.append(
                f"unknown key {prefix}{key}{_suggestion(str(key), known, prefix)}"
            )
    for key in required:
        if key not in value:
            allowed = next(
                item.metadata["allowed"] for item in fields(cls) if item.name == key
            )
            problems.append(f"missing key {prefix}{key}: set it to {allowed}")


def _check_roles(item, value: Any, prefix: str, problems: list[str]) -> Any:
    """Check a mapping of column names to roles; null or {} means no overrides."""
    key = f"{prefix}{item.name}"
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(
            f"{key} is {_describe(value)}; allowed: {item.metadata['allowed']}"
        )
        return None
    before = len(problems)
    for column, role in value.items():
        if role not in ROLES:
            problems.append(
                f"{key}.{column} is {_describe(role)}; allowed: one of "
                f"{', '.join(ROLES)}"
            )
    if len(problems) > before:
        return None
    return {str(column): role for column, role in value.items()}


def _check_value(item, hint, value: Any, prefix: str, problems: list[str]) -> Any:
    key = f"{prefix}{item.name}"
    allowed = item.metadata["allowed"]
    converted = _convert(value, hint)
    if converted is _INVALID:
        problems.append(
            f"{key} is {_describe(value)}; allowed: {allowed}{_yaml_hint(value, hint)}"
        )
        return None
    check = item.metadata["check"]
    if check is not None and not check(converted):
        problems.append(f"{key} is {_describe(value)}; allowed: {allowed}")
        return None
    return converted


_INVALID = object()


def _convert(value: Any, hint: Any) -> Any:
    """Return ``value`` as the type ``hint`` names, or ``_INVALID``.

    YAML reads ``true`` as a bool, which Python counts as an int: reject it for numbers.
    An integer is accepted where a float is expected, and a list where a tuple is.
    """
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        if option is type(None) and value is None:
            return None
        if option is bool and isinstance(value, bool):
            return value
        if typing.get_origin(option) is tuple and isinstance(value, list):
            items = [_convert(item, typing.get_args(option)[0]) for item in value]
            return _INVALID if _INVALID in items else tuple(items)
        if isinstance(value, bool):
            continue
        if option is int and isinstance(value, int):
            return value
        if option is float and isinstance(value, int | float):
            return float(value)
        if option is str and isinstance(value, str):
            return value
    return _INVALID


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict) or (isinstance(value, list) and len(value) > 10):
        return f"a {type(value).__name__}"
    return repr(value)


def _suggestion(key: str, known: list[str], prefix: str) -> str:
    matches = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if matches:
        return f"; did you mean {prefix}{matches[0]}?"
    return f"; known keys here: {', '.join(known)}"


def _yaml_hint(value: Any, hint: Any) -> str:
    """Explain YAML 1.1's rules when a value was read as another type.

    PyYAML reads yes, no, on and off unquoted as booleans, and a float in exponent
    form only with a decimal point and a signed exponent: ``1.0e+3`` is a number,
    but ``1e3``, ``1.0e3`` and ``1e-3`` are text.
    """
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if isinstance(value, bool) and str in options:
        return (
            " (YAML reads yes, no, on, off, true and false as true or false: write "
            "the text in quotes, e.g. 'yes')"
        )
    if not isinstance(value, str):
        return ""
    try:
        number = float(value)
    except ValueError:
        return ""
    if float in options:
        return (
            " (YAML reads this as text: write the number unquoted, in plain digits or "
            "with a decimal point and a signed exponent, e.g. 1.0e+3 or 1.0e-3)"
        )
    if int in options and number.is_integer():
        return (
            f" (YAML reads this as text: write it unquoted, in digits: {int(number)})"
        )
    return ""
