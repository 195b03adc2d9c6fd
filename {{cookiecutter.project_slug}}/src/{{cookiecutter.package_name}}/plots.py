"""Draw the project's plots as static SVG and PNG files, with no network.

The page that ``dvc plots show`` and ``dvc plots diff`` write loads Vega from a CDN,
so it stays blank offline. This module reads the same charts from DVC as Vega-Lite
specs with their data filled in (``--json``) and draws each one with vl-convert,
which ships Vega inside its Python package. It writes, to one folder:

- ``<chart>.svg`` and ``<chart>.png`` for each chart, to show in a README or a pull
  request;
- ``index.html``, every SVG inline under a title, with no script and no link out;
- ``plots.json``, what was drawn, from which revisions, with any warnings.

Run it as ``python scripts/render_plots.py [REV ...]`` or ``make plots REVS=...``.
It is not a pipeline stage: no stage imports it, so editing it reruns nothing.
"""

import argparse
import copy
import html
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vl_convert

from .cli import run
from .errors import InputError
from .files import atomic_dir, write_bytes, write_json

log = logging.getLogger(__name__)

DEFAULT_OUT = Path("dvc_plots/offline")
MANIFEST = "plots.json"
# plots.json records its writer, and the command replaces only a folder whose
# plots.json names this writer.
GENERATOR = "render_plots"
PNG_SCALE = 2
WORKSPACE = "workspace"
DATA_SUFFIX = re.compile(r"\.(json|ya?ml|csv|tsv)$", re.IGNORECASE)
UNKNOWN_REVISION = re.compile(r"unknown Git revision '(.*)'")
# The page's Content Security Policy: inline styles and its own images only, so no
# script runs and nothing loads from elsewhere.
POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:"


@dataclass
class Chart:
    """One picture: a Vega-Lite spec to draw, or an image file that DVC copied."""

    id: str
    title: str
    revisions: list[str]
    spec: dict[str, Any] | None = None
    image: Path | None = None


def unknown_revision(revision: str) -> str:
    return (
        f"unknown revision {revision!r}: it is not a commit, branch or tag of this "
        "repository, nor an experiment. `git log --oneline`, `git branch` and "
        "`dvc exp list` list the valid names, and `workspace` means the files as "
        "they are now"
    )


def dvc_plots(root: Path, revisions: list[str], image_dir: Path) -> dict[str, Any]:
    """Return what ``dvc plots show --json``, or ``diff --json REV...``, prints.

    DVC copies the files of image plots to ``image_dir``.
    """
    if revisions and revisions != [WORKSPACE]:
        command = ["plots", "diff", "--json", "-o", str(image_dir), "--", *revisions]
    else:
        command = ["plots", "show", "--json", "-o", str(image_dir)]
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *command],
        cwd=root,
        # DVC would otherwise send a usage report after the command.
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        unknown = UNKNOWN_REVISION.search(result.stderr)
        if unknown:
            raise InputError(unknown_revision(unknown.group(1)))
        raise InputError(
            f"`dvc {command[0]} {command[1]}` failed:\n{result.stderr.strip()}"
        )
    return json.loads(result.stdout)


def title_of(spec: dict[str, Any], default: str) -> str:
    title = spec.get("title")
    if isinstance(title, dict):
        title = title.get("text")
    if isinstance(title, list):
        title = " ".join(str(line) for line in title)
    return str(title) if title else default


def charts_from(plots_json: dict[str, Any]) -> list[Chart]:
    """Return the charts in DVC's JSON, in the order of dvc.yaml's ``plots:``."""
    charts = []
    for plot_id, entries in plots_json.get("data", {}).items():
        for entry in entries:
            kind = entry.get("type")
            revisions = [str(rev) for rev in entry.get("revisions", [])]
            if kind == "vega":
                spec = entry["content"]
                title = title_of(spec, plot_id)
                charts.append(Chart(plot_id, title, revisions, spec=spec))
            elif kind == "image" and Path(str(entry.get("url"))).is_file():
                title = f"{plot_id} ({', '.join(revisions)})"
                image = Path(entry["url"])
                charts.append(Chart(plot_id, title, revisions, image=image))
            elif kind == "image":
                log.warning("warning: %s left out: DVC wrote no image file", plot_id)
            else:
                log.warning("warning: %s left out: unknown plot type %r", plot_id, kind)
    return charts


def compared_revisions(requested: list[str]) -> list[str]:
    """Return the revisions that ``dvc plots diff`` compares for ``requested``."""
    if len(requested) == 1 and requested[0] != WORKSPACE:
        return [*requested, WORKSPACE]
    return requested or [WORKSPACE]


def first_line(text: Any) -> str:
    return (str(text).splitlines() or [""])[0]


def data_warnings(
    plots_json: dict[str, Any], charts: list[Chart], revisions: list[str]
) -> list[str]:
    """Name each revision that gave no plot data, and each plot missing from one."""
    drawn = {rev for chart in charts for rev in chart.revisions}
    errors: dict[str, list[dict[str, Any]]] = {}
    for error in plots_json.get("errors", []):
        errors.setdefault(str(error.get("rev", "?")), []).append(error)
    warnings = []
    for rev in dict.fromkeys([*revisions, *errors]):
        if rev not in drawn:
            reason = errors.get(rev, [{}])[0].get("msg") or "DVC returned none"
            warnings.append(
                f"{rev} has no plot data ({first_line(reason)}): name a commit "
                "made after `dvc repro`, or run `dvc repro` for the workspace"
            )
            continue
        for error in errors.get(rev, []):
            message = first_line(error.get("msg") or error.get("type"))
            warnings.append(f"{rev}: {error.get('name', 'plots')}: {message}")
    return warnings


def static_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Return ``spec`` ready for a still picture.

    A picture has no inputs: drop the bound ones and switch checkboxes on, so that
    what they show (the counts on DVC's confusion matrix) is drawn.
    """
    spec = copy.deepcopy(spec)
    for param in spec.get("params", []):
        bind = param.pop("bind", None)
        if isinstance(bind, dict) and bind.get("input") == "checkbox":
            param.setdefault("value", True)
    return spec


def vegalite_version(spec: dict[str, Any]) -> str | None:
    """Return the newest Vega-Lite in vl-convert of the major version in ``$schema``."""
    match = re.search(r"/vega-lite/v(\d+)", str(spec.get("$schema", "")))
    if not match:
        return None
    same = [
        version
        for version in vl_convert.get_vegalite_versions()
        if version.split(".")[0] == match.group(1)
    ]
    return max(same, key=lambda v: [int(part) for part in v.split(".")], default=None)


def scoped_svg(svg: str, prefix: str) -> str:
    """Rename the ids defined in ``svg`` to ``prefix.1``, ``prefix.2``... in order.

    Inline SVGs share one page, so their ids must differ from each other's and from
    the sections' ids, which are file stems and have no dot. vl-convert numbers ids
    across a whole run, so renaming also makes the bytes the same every run.
    """
    svg = re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", svg)
    names: dict[str, str] = {}
    for name in re.findall(r'\sid="([^"]+)"', svg):
        names.setdefault(name, f"{prefix}.{len(names) + 1}")

    def rename(match: re.Match) -> str:
        name = match.group(2)
        return match.group(1) + names.get(name, name)

    return re.sub(r'(\sid="|url\(#|href="#)([^")]+)', rename, svg)


def draw(chart: Chart, stem: str) -> tuple[str, bytes]:
    """Return the chart as SVG text and as PNG bytes, drawn without any network."""
    spec = static_spec(chart.spec or {})
    try:
        svg = vl_convert.vegalite_to_svg(
            spec, vl_version=vegalite_version(spec), allowed_base_urls=[]
        )
    except ValueError as error:
        raise InputError(
            f"cannot draw plot {chart.id}: {error}. Check its template and fields "
            "in dvc.yaml's plots"
        ) from error
    svg = scoped_svg(svg, stem)
    return svg, vl_convert.svg_to_png(svg, scale=PNG_SCALE)


def file_stem(plot_id: str, used: set[str]) -> str:
    """Return a file name for ``plot_id`` that no other chart of the run uses.

    ``dvclive/evaluate/plots/roc/malignant.json`` gives
    ``dvclive-evaluate-plots-roc-malignant``: the same name every run.
    """
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", DATA_SUFFIX.sub("", plot_id))
    stem = stem.strip("-") or "plot"
    unique, number = stem, 1
    while unique.lower() in used:
        number += 1
        unique = f"{stem}-{number}"
    used.add(unique.lower())
    return unique


def code_list(values: list[str]) -> str:
    return ", ".join(f"<code>{html.escape(value)}</code>" for value in values)


STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
section { margin: 2.5em 0; }
h2 { margin-bottom: 0.2em; }
.source { margin-top: 0; color: #555; }
.warnings { color: #8a3b00; }
svg, img { max-width: 100%; height: auto; }
"""


def page(
    name: str, revisions: list[str], sections: list[str], warnings: list[str]
) -> str:
    """Return the page: well-formed XML too, so that tests can parse it."""
    notes = "".join(f"<li>{html.escape(text)}</li>\n" for text in warnings)
    title = f"Plots of {html.escape(name)}"
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n',
            '<meta charset="utf-8"/>\n',
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}"/>\n',
            f'<meta name="generator" content="{GENERATOR}"/>\n',
            f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
            f"<h1>{title}</h1>\n<p>Revisions: {code_list(revisions)}.</p>\n",
            f'<ul class="warnings">\n{notes}</ul>\n' if warnings else "",
            *sections,
            "</body>\n</html>\n",
        ]
    )


def section(chart: Chart, stem: str, files: list[str], body: str) -> str:
    links = " · ".join(
        f'<a href="{html.escape(file)}">{html.escape(file.rsplit(".", 1)[-1].upper())}'
        "</a>"
        for file in files
    )
    return (
        f'<section id="{html.escape(stem)}">\n'
        f"<h2>{html.escape(chart.title)}</h2>\n"
        f'<p class="source"><code>{html.escape(chart.id)}</code>'
        f" · {code_list(chart.revisions)} · {links}</p>\n"
        f"{body}\n</section>\n"
    )


def check_out(out: Path) -> None:
    """Raise InputError if ``out`` contains files that this command did not write."""
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(f"--out {out} is a file: give a folder")
    manifest = out / MANIFEST
    try:
        ours = json.loads(manifest.read_text("utf-8")).get("generator") == GENERATOR
    except (OSError, ValueError, AttributeError):
        ours = False
    if any(out.iterdir()) and not ours:
        raise InputError(
            f"--out {out} contains files that render_plots did not write, and the "
            "command replaces the whole folder: give a new or empty folder"
        )


def share(folder: Path) -> None:
    """Set the modes that new files get under the umask: temporary files are 0600."""
    umask = os.umask(0)
    os.umask(umask)
    for path in folder.iterdir():
        path.chmod(0o666 & ~umask)
    folder.chmod(0o777 & ~umask)


def render(root: Path, revisions: list[str], out: Path) -> dict[str, Any]:
    """Draw the charts of ``revisions`` (none: the workspace) into ``out``.

    Returns the manifest written as ``plots.json``.
    """
    revisions = list(dict.fromkeys(revisions))
    check_out(out)
    with tempfile.TemporaryDirectory(prefix="render-plots-") as scratch:
        plots_json = dvc_plots(root, revisions, Path(scratch))
        charts = charts_from(plots_json)
        compared = compared_revisions(revisions)
        # DVC 3.67 lists the workspace first. Order them as the command line does.
        order = {rev: index for index, rev in enumerate(compared)}
        for chart in charts:
            chart.revisions.sort(key=lambda rev: order.get(rev, len(order)))
        warnings = data_warnings(plots_json, charts, compared)
        if not charts:
            reasons = "; ".join(warnings) or "dvc.yaml defines no plots"
            raise InputError(f"nothing to draw: {reasons}")
        for warning in warnings:
            log.warning("warning: %s", warning)

        used: set[str] = set()
        entries, sections = [], []
        with atomic_dir(out) as folder:
            for chart in charts:
                stem = file_stem(
                    chart.id if chart.spec else f"{chart.id}-{chart.revisions[0]}",
                    used,
                )
                if chart.image is not None:
                    files = [stem + chart.image.suffix.lower()]
                    write_bytes(folder / files[0], chart.image.read_bytes())
                    alt = html.escape(chart.title)
                    body = f'<img src="{html.escape(files[0])}" alt="{alt}"/>'
                else:
                    svg, png = draw(chart, stem)
                    files = [f"{stem}.svg", f"{stem}.png"]
                    write_bytes(folder / files[0], svg.encode("utf-8"))
                    write_bytes(folder / files[1], png)
                    body = svg
                sections.append(section(chart, stem, files, body))
                entries.append(
                    {
                        "id": chart.id,
                        "title": chart.title,
                        "revisions": chart.revisions,
                        "files": files,
                    }
                )
            text = page(root.name, compared, sections, warnings)
            write_bytes(folder / "index.html", text.encode("utf-8"))
            manifest = {
                "generator": GENERATOR,
                "revisions": compared,
                "charts": entries,
                "warnings": warnings,
            }
            write_json(folder / MANIFEST, manifest)
            share(folder)
    return manifest


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python scripts/render_plots.py",
        description=(
            "Draw the plots of dvc.yaml as SVG and PNG files and an index.html that "
            "needs no network. With no REV: the workspace. With REVs: as "
            "`dvc plots diff` compares them (one REV: it against the workspace)."
        ),
    )
    parser.add_argument(
        "revisions",
        nargs="*",
        metavar="REV",
        help="a commit, branch, tag or experiment name, or `workspace`",
    )
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        help=f"the folder to write, replaced whole (default: {DEFAULT_OUT})",
    )
    return parser.parse_args(argv)


def main(root: Path, argv: list[str] | None = None) -> None:
    """Parse the command line, draw the charts and print where the page is."""
    args = parse(argv)
    out = args.out.resolve() if args.out else root / DEFAULT_OUT

    def render_and_report() -> None:
        manifest = render(root, args.revisions, out)
        count = len(manifest["charts"])
        charts = "1 chart" if count == 1 else f"{count} charts"
        compared = ", ".join(manifest["revisions"])
        print(f"{charts} of {compared} in {out / 'index.html'}")

    run(render_and_report)
