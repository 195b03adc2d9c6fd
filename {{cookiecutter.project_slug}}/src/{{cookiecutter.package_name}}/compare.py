"""Rank experiments by a metric: `make compare`, or `make compare MD=1` for Markdown.

Reads ``dvc exp show --json`` and prints one row per experiment: its name, the params
that differ between rows and the metrics that the ``compare`` section of params.yaml
names, best first by ``compare.primary_metric``. The text table fits ``--width``
columns (80 by default).

A queued run that failed still carries the metrics files of its baseline commit, so
``dvc exp show`` lists the baseline's scores for it. Only runs whose state is success
show metrics here. A failed run shows as failed, with the reason taken from its
worker log.

The functions above ``main`` are pure: they take the parsed JSON and return rows and
text, so the tests call them on small dicts.
"""

import argparse
import json
import math
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import cli
from .errors import InputError
from .params import CompareParams, load_params

SUCCESS = "success"
FAILED = "failed"
# Rows without scores follow the ranked ones in this order.
UNRANKED_ORDER = ("running", "queued", FAILED)
DEFAULT_WIDTH = 80
NAME_WIDTH = 24
VALUE_WIDTH = 14
COLUMN_GAP = "  "
# The compare section orders this table and changes no result, so its keys are
# never listed as params that differ.
IGNORED_PARAM_PREFIX = "compare."


@dataclass(frozen=True)
class Experiment:
    """One row: a baseline commit or an experiment run from it."""

    name: str
    baseline: str
    is_baseline: bool
    state: str
    params: dict[str, Any]
    # Empty unless ``state`` is success: see the module docstring.
    metrics: dict[str, float]
    log_path: str | None = None
    error: str | None = None


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Return ``{"a.b.c": value}`` for every leaf of nested dicts."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def _file_data(files: dict[str, Any] | None) -> dict[str, Any]:
    """Merge the ``data`` of each file entry, leaving out files DVC could not read.

    Keys of params.yaml stay as they are; keys of any other params file get the file
    name as a prefix, e.g. ``other.yaml:key``.
    """
    merged: dict[str, Any] = {}
    for file_name, entry in (files or {}).items():
        data = (entry or {}).get("data")
        if not isinstance(data, dict):
            continue
        prefix = "" if file_name == "params.yaml" else f"{file_name}:"
        merged.update(flatten(data, prefix))
    return merged


def _numeric_metrics(files: dict[str, Any] | None) -> dict[str, float]:
    """Merge the numeric values of every metrics file DVC could read.

    A key found in two metrics files keeps the first file's value.
    """
    metrics = {}
    for entry in (files or {}).values():
        data = (entry or {}).get("data")
        if not isinstance(data, dict):
            continue
        for key, value in flatten(data).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                metrics.setdefault(key, float(value))
    return metrics


def _error_message(error: Any) -> str | None:
    if isinstance(error, dict):
        return error.get("msg") or error.get("type") or "unknown error"
    return str(error) if error else None


def _row(
    rev: dict[str, Any], name: str, baseline: str, is_baseline: bool, executor: dict
) -> Experiment:
    data = rev.get("data") or {}
    error = _error_message(rev.get("error"))
    state = executor.get("state") or SUCCESS
    if error and state == SUCCESS:
        state = FAILED
    metrics = _numeric_metrics(data.get("metrics")) if state == SUCCESS else {}
    local = executor.get("local") or {}
    return Experiment(
        name=name,
        baseline=baseline,
        is_baseline=is_baseline,
        state=state,
        params=_file_data(data.get("params")),
        metrics=metrics,
        log_path=local.get("log"),
        error=error,
    )


def parse_exp_show(document: list[dict[str, Any]]) -> list[Experiment]:
    """Return the baseline commits and their experiments from ``dvc exp show --json``.

    The workspace row is left out: it repeats HEAD or the last run in the workspace.
    """
    rows = []
    for baseline in document:
        if baseline.get("rev") == "workspace":
            continue
        label = baseline.get("name") or str(baseline.get("rev", ""))[:7]
        rows.append(_row(baseline, label, label, True, {}))
        for experiment in baseline.get("experiments") or []:
            revs = experiment.get("revs") or [{}]
            first = revs[0]
            name = (
                experiment.get("name")
                or first.get("name")
                or str(first.get("rev", ""))[:7]
            )
            executor = experiment.get("executor") or {}
            rows.append(_row(first, name, label, False, executor))
    return rows


def differing_params(experiments: list[Experiment]) -> list[str]:
    """Return the param keys whose value is not the same in every row, in file order.

    A key missing from some rows differs too, such as one added with ``-S +key=1``.
    """
    keys: dict[str, None] = {}
    for experiment in experiments:
        keys.update(dict.fromkeys(experiment.params))
    missing = object()
    differing = []
    for key in keys:
        if key.startswith(IGNORED_PARAM_PREFIX):
            continue
        values = [experiment.params.get(key, missing) for experiment in experiments]
        if any(value != values[0] for value in values[1:]):
            differing.append(key)
    return differing


def rank(
    experiments: list[Experiment], metric: str, higher_is_better: bool
) -> list[Experiment]:
    """Return the rows best first by ``metric``; rows without it follow by state.

    Ties and unranked rows keep a stable order: baselines first, then by name.
    """

    def key(experiment: Experiment):
        value = experiment.metrics.get(metric)
        if value is None or math.isnan(value):
            state = experiment.state
            order = UNRANKED_ORDER.index(state) if state in UNRANKED_ORDER else -1
            return (1, order, 0.0, not experiment.is_baseline, experiment.name)
        score = -value if higher_is_better else value
        return (0, 0, score, not experiment.is_baseline, experiment.name)

    return sorted(experiments, key=key)


STAGE_FAILED = re.compile(r"^ERROR: failed to reproduce '([^']+)'")
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b:?")


def failure_reason(log_text: str | None) -> list[str]:
    """Return the lines that explain why a queued run failed, from its worker log.

    A stage stops on bad params or data with an ``error: ...`` line, and bullet lines
    after it. Without one, the last exception line of a traceback is taken, then
    DVC's own last ``ERROR:`` line. An empty list means the log gave no reason.
    """
    if not log_text:
        return []
    lines = log_text.splitlines()
    stage = None
    for line in lines:
        found = STAGE_FAILED.match(line)
        if found:
            stage = found.group(1)
    message = _stage_message(lines) or _last_exception(lines)
    if message:
        if stage:
            message[0] = f"stage {stage}: {message[0]}"
        return message
    dvc_errors = [line for line in lines if line.startswith("ERROR: ")]
    if dvc_errors:
        return [dvc_errors[-1].removeprefix("ERROR: ")]
    return []


def _stage_message(lines: list[str]) -> list[str]:
    starts = [index for index, line in enumerate(lines) if line.startswith("error: ")]
    if not starts:
        return []
    start = starts[-1]
    message = [lines[start].removeprefix("error: ")]
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        message.append(line.rstrip())
    return message


def _last_exception(lines: list[str]) -> list[str]:
    for line in reversed(lines):
        if EXCEPTION_LINE.match(line):
            return [line.strip()]
    return []


def short_names(keys: list[str]) -> dict[str, str]:
    """Map each dotted key to its shortest suffix that no other key ends with.

    ``train.random_forest.n_estimators`` becomes ``n_estimators``, while
    ``prepare.seed`` and ``train.seed`` keep their section.
    """
    names = {}
    for key in keys:
        parts = key.split(".")
        for size in range(1, len(parts) + 1):
            suffix = ".".join(parts[-size:])
            clashes = [
                other
                for other in keys
                if other != key and (other == suffix or other.endswith("." + suffix))
            ]
            if not clashes:
                names[key] = suffix
                break
        else:
            names[key] = key
    return names


def format_param(value: Any) -> str:
    """Return a param value as YAML writes it: null, true, 0.1, text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def format_metric(value: float) -> str:
    if value.is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.4f}"


@dataclass(frozen=True)
class Table:
    """The cells of a comparison, before they are laid out as text or Markdown."""

    params: list[str]
    metrics: list[str]
    rows: list[Experiment]

    def cells(self, experiment: Experiment) -> list[str]:
        """Return the param cells, then the metric cells; "-" marks a missing value."""
        values = [
            format_param(experiment.params[key]) if key in experiment.params else "-"
            for key in self.params
        ]
        return values + self.metric_cells(experiment)

    def metric_cells(self, experiment: Experiment) -> list[str]:
        if experiment.state != SUCCESS:
            return [experiment.state] + ["-"] * (len(self.metrics) - 1)
        return [
            format_metric(experiment.metrics[metric])
            if metric in experiment.metrics
            else "-"
            for metric in self.metrics
        ]


def build_table(
    experiments: list[Experiment], settings: CompareParams
) -> tuple[Table, list[str]]:
    """Return the ranked table and the names of requested metrics no row has.

    The primary metric is always the first metric column.
    """
    metrics = [settings.primary_metric]
    metrics += [name for name in settings.metrics if name != settings.primary_metric]
    found = {key for experiment in experiments for key in experiment.metrics}
    absent = [name for name in metrics if name not in found]
    rows = rank(experiments, settings.primary_metric, settings.higher_is_better)
    return Table(differing_params(experiments), metrics, rows), absent


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_text(table: Table, width: int = DEFAULT_WIDTH) -> tuple[str, list[str]]:
    """Lay the table out in at most ``width`` columns.

    Metric columns after the primary one are dropped from the right first, then
    param columns, until the table fits. Returns the text and the dropped columns.
    """
    params, metrics = list(table.params), list(table.metrics)
    dropped: list[str] = []
    while True:
        text = _text_lines(table, params, metrics)
        if max(len(line) for line in text) <= width:
            return "\n".join(text), dropped
        if len(metrics) > 1:
            dropped.insert(0, metrics.pop())
        elif params:
            dropped.insert(0, params.pop())
        else:
            return "\n".join(line[:width] for line in text), dropped


def _text_lines(table: Table, params: list[str], metrics: list[str]) -> list[str]:
    shown = Table(params, metrics, table.rows)
    names = short_names(params + metrics)
    header = ["experiment"] + [names[key] for key in params + metrics]
    body = [
        [_truncate(row.name, NAME_WIDTH)]
        + [_truncate(cell, VALUE_WIDTH) for cell in shown.cells(row)]
        for row in table.rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(w) for cell, w in zip(cells[1:], widths[1:], strict=True)]
        return COLUMN_GAP.join([first, *rest]).rstrip()

    return [line(header)] + [line(cells) for cells in body]


def render_markdown(table: Table) -> str:
    """Return a Markdown table with the full keys, for a pull request."""
    header = ["experiment", *table.params, *table.metrics]
    lines = [
        "| " + " | ".join(header) + " |",
        "|---" + "|---:" * (len(header) - 1) + "|",
    ]
    for row in table.rows:
        cells = [row.name, *table.cells(row)]
        escaped = [cell.replace("|", "\\|") for cell in cells]
        lines.append("| " + " | ".join(escaped) + " |")
    return "\n".join(lines)


def title(experiments: list[Experiment], settings: CompareParams) -> str:
    baselines = ", ".join(row.name for row in experiments if row.is_baseline)
    count = sum(not row.is_baseline for row in experiments)
    noun = "experiment" if count == 1 else "experiments"
    direction = "highest" if settings.higher_is_better else "lowest"
    return (
        f"{count} {noun} of {baselines}, ranked by {settings.primary_metric} "
        f"({direction} first)"
    )


def failure_notes(
    experiments: list[Experiment], reasons: dict[str, list[str]], width: int | None
) -> list[str]:
    """Return, for each failed row, the reason it failed and where its log is.

    ``width`` None gives a Markdown list; a number, text wrapped to that width. A
    baseline commit has no queue log, so its note gives DVC's error only.
    """
    notes = []
    for row in experiments:
        if row.state != FAILED:
            continue
        reason = reasons.get(row.name) or [row.error or "no reason recorded"]
        command = None if row.is_baseline else f"dvc queue logs {row.name}"
        if width is None:
            notes.append(f"- **{row.name}** failed: {reason[0]}")
            notes += [f"  {line.strip()}" for line in reason[1:]]
            if command:
                notes.append(f"  (full log: `{command}`)")
            continue
        notes.append(f"{row.name} failed:")
        for text in [*reason, *([f"full log: {command}"] if command else [])]:
            notes += textwrap.wrap(
                text.strip(),
                width=width,
                initial_indent="    " if text.startswith("  ") else "  ",
                subsequent_indent="      ",
            )
    return notes


def report(
    document: list[dict[str, Any]],
    settings: CompareParams,
    logs: dict[str, str],
    markdown: bool = False,
    width: int = DEFAULT_WIDTH,
) -> str:
    """Return the whole comparison: title, table and notes.

    ``logs`` maps a failed run's name to the text of its worker log.
    """
    experiments = parse_exp_show(document)
    if not experiments:
        return "No commit to compare yet: commit the project and run `dvc repro`."
    table, absent = build_table(experiments, settings)
    reasons = {name: failure_reason(text) for name, text in logs.items()}
    parts = [title(experiments, settings) + ":", ""]
    if markdown:
        parts.append(render_markdown(table))
        notes = failure_notes(table.rows, reasons, None)
    else:
        text, dropped = render_text(table, width)
        parts.append(text)
        if dropped:
            parts.append(
                textwrap.fill(
                    f"Left out to fit {width} columns: {', '.join(dropped)} "
                    "(make compare MD=1 shows every column).",
                    width,
                )
            )
        notes = failure_notes(table.rows, reasons, width)
    if absent:
        parts.append(f"No row has these metrics: {', '.join(absent)}.")
    if len(experiments) == sum(row.is_baseline for row in experiments):
        parts.append(
            "No experiments yet: queue some with "
            "make sweep SET='train.random_forest.n_estimators=range(50,250,50)'."
        )
    if notes:
        parts += ["", *notes]
    return "\n".join(parts)


def _read_logs(experiments: list[Experiment]) -> dict[str, str]:
    logs = {}
    for row in experiments:
        if row.state == FAILED and row.log_path:
            path = Path(row.log_path)
            if path.is_file():
                logs[row.name] = path.read_text(encoding="utf-8", errors="replace")
    return logs


def _exp_show_json(source: str | None) -> list[dict[str, Any]]:
    if source == "-":
        text = sys.stdin.read()
    elif source:
        text = Path(source).read_text(encoding="utf-8")
    else:
        command = [sys.executable, "-m", "dvc", "exp", "show", "--json"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise InputError(
                f"`dvc exp show --json` failed with status {result.returncode}:\n"
                f"{result.stderr.strip()}"
            )
        text = result.stdout
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"the output of dvc exp show is not JSON: {error}") from None
    if not isinstance(document, list):
        raise InputError("the output of dvc exp show is not a list of commits")
    return document


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m {{ cookiecutter.package_name }}.compare",
        description="Rank the experiments of HEAD by the metric that the compare "
        "section of params.yaml names.",
    )
    parser.add_argument(
        "--md", action="store_true", help="print a Markdown table, for a pull request"
    )
    parser.add_argument(
        "--width",
        type=int,
        default=DEFAULT_WIDTH,
        help=f"maximum line length of the text table, in characters "
        f"(default {DEFAULT_WIDTH})",
    )
    parser.add_argument(
        "--input",
        metavar="FILE",
        help="read saved `dvc exp show --json` output from FILE ('-' for standard "
        "input) instead of running it; pass options such as --all-branches that way",
    )
    args = parser.parse_args(argv)
    settings: CompareParams = load_params("compare")["compare"]
    document = _exp_show_json(args.input)
    logs = _read_logs(parse_exp_show(document))
    print(report(document, settings, logs, markdown=args.md, width=args.width))


if __name__ == "__main__":
    cli.run(main)
