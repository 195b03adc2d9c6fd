"""Draw the baked project's plots offline: SVG and PNG files and a page with no script.

The page is also opened in a real headless Chromium, which must lay out every chart.
"""

import html
import json
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest
from conftest import BIN, dvc, git, run

SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHROMIUM = Path("/usr/bin/chromium")
PLOT_IDS = [
    "dvclive/train/plots/metrics/fit/log_loss.tsv",
    "dvclive/train/plots/metrics/validation/log_loss.tsv",
    "dvclive/train/plots/metrics/validation/accuracy.tsv",
    "dvclive/evaluate/plots/roc/malignant.json",
    "dvclive/evaluate/plots/precision_recall/malignant.json",
    "dvclive/evaluate/plots/confusion_matrix.json",
    "dvclive/evaluate/plots/importance.json",
]
ROC_SVG = "dvclive-evaluate-plots-roc-malignant.svg"


def render(project: Path, env, *args, check: bool = True):
    command = [sys.executable, "scripts/render_plots.py", *map(str, args)]
    return run(command, project, env, check=check)


def manifest(out: Path) -> dict:
    return json.loads((out / "plots.json").read_text(encoding="utf-8"))


def data_marks(svg: ET.Element) -> list[ET.Element]:
    """Return the shapes that Vega drew for the data: children of its mark groups."""
    shapes = []
    for group in svg.iter(f"{SVG}g"):
        classes = group.get("class", "").split()
        if "role-mark" in classes and classes[-1].endswith("marks"):
            shapes.extend(
                child for child in group if child.get("d") or (child.text or "").strip()
            )
    return shapes


def line_paths(svg: ET.Element) -> list[str]:
    """Return the ``d`` of each drawn line: one per revision on a ROC chart."""
    return [
        path.get("d")
        for group in svg.iter(f"{SVG}g")
        if {"mark-line", "role-mark"} <= set(group.get("class", "").split())
        for path in group
        if path.get("d")
    ]


def check_png(path: Path) -> tuple[int, int]:
    """Check the signature, the header and that the pixel data inflates to its size."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path
    length, kind, width, height, depth, colour = struct.unpack(">I4sIIBB", data[8:26])
    assert (kind, length, depth) == (b"IHDR", 13, 8), path
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    chunks, offset = [], 8
    while offset < len(data):
        (size,) = struct.unpack(">I", data[offset : offset + 4])
        if data[offset + 4 : offset + 8] == b"IDAT":
            chunks.append(data[offset + 8 : offset + 8 + size])
        offset += 12 + size
    assert data[-12:-4] == b"\x00\x00\x00\x00IEND", path
    pixels = zlib.decompress(b"".join(chunks))
    assert len(pixels) == height * (1 + width * channels), path
    # A blank picture filters to a handful of byte values; a chart to many.
    assert len(set(pixels)) > 64, f"{path} looks blank"
    return width, height


def check_output(out: Path) -> dict:
    """Check each chart's SVG and PNG, and that the page shows and links them all."""
    written = manifest(out)
    page_text = (out / "index.html").read_text(encoding="utf-8")
    page = ET.fromstring(page_text)
    sections = {section.get("id"): section for section in page.iter("section")}
    assert len(sections) == len(written["charts"])
    for chart in written["charts"]:
        svg_file, png_file = chart["files"]
        assert svg_file.endswith(".svg")
        assert png_file.endswith(".png")
        svg = ET.parse(out / svg_file).getroot()
        assert svg.tag == f"{SVG}svg"
        assert data_marks(svg), f"{svg_file} has no drawn data"
        width, height = check_png(out / png_file)
        assert width == 2 * int(float(svg.get("width"))), png_file

        section = sections[svg_file.removesuffix(".svg")]
        assert chart["title"] in "".join(section.find("h2").itertext())
        inline = section.findall(f"{SVG}svg")
        assert len(inline) == 1, svg_file
        assert len(data_marks(inline[0])) == len(data_marks(svg)), svg_file
        links = [link.get("href") for link in section.iter("a")]
        assert links == [svg_file, png_file]

    assert page.find(".//script") is None
    assert "<script" not in page_text
    for target in re.findall(r'(?:src|href)="([^"]*)"', page_text):
        assert "//" not in target, target
        assert not target.startswith(("/", "data:")), target
    ids = re.findall(r'\sid="([^"]+)"', page_text)
    assert len(ids) == len(set(ids)), "the inline SVGs share an id"
    return written


def test_workspace_drawn_offline(reproduced, env, tmp_path):
    out = tmp_path / "plots"
    result = render(reproduced, env, "--out", out)
    assert f"7 charts of workspace in {out / 'index.html'}" in result.stdout
    assert result.stderr == ""

    written = check_output(out)
    assert written["revisions"] == ["workspace"]
    assert written["warnings"] == []
    assert [chart["id"] for chart in written["charts"]] == PLOT_IDS
    titles = [chart["title"] for chart in written["charts"]]
    assert titles[:3] == [
        "Log loss on the part fitted",
        "Log loss on the validation part",
        "Accuracy on the validation part",
    ]
    assert titles[5:] == ["Confusion matrix (test set)", "Feature importance"]
    assert all(chart["revisions"] == ["workspace"] for chart in written["charts"])
    roc = ET.parse(out / ROC_SVG).getroot()
    assert len(line_paths(roc)) == 1


def test_same_bytes_every_run(reproduced, env, tmp_path):
    render(reproduced, env, "--out", tmp_path / "one")
    render(reproduced, env, "--out", tmp_path / "two")
    first = sorted(path.name for path in (tmp_path / "one").iterdir())
    assert first == sorted(path.name for path in (tmp_path / "two").iterdir())
    for name in first:
        one = (tmp_path / "one" / name).read_bytes()
        assert one == (tmp_path / "two" / name).read_bytes(), name


def test_make_plots_writes_ignored_folder(reproduced_copy, env):
    make = ["make", "plots", f"BIN={BIN}"]
    run([*make, "REVS=HEAD"], reproduced_copy, env)
    out = reproduced_copy / "dvc_plots/offline"
    assert manifest(out)["revisions"] == ["HEAD", "workspace"]
    (out / "old-chart.svg").write_text("<svg/>", encoding="utf-8")

    run(make, reproduced_copy, env)
    assert manifest(out)["revisions"] == ["workspace"]
    assert not (out / "old-chart.svg").exists()
    check_output(out)
    assert git(reproduced_copy, env, "status", "--porcelain") == ""


def test_experiment_compared_with_head(reproduced_copy, env, tmp_path):
    dvc(
        reproduced_copy,
        env,
        *("exp", "run", "-n", "lr-trial", "-S", "train.model=logistic_regression"),
    )
    for revisions, compared in [
        (["HEAD", "lr-trial"], ["HEAD", "lr-trial"]),
        (["HEAD"], ["HEAD", "workspace"]),
    ]:
        out = tmp_path / "-".join(revisions)
        render(reproduced_copy, env, *revisions, "--out", out)
        written = check_output(out)
        assert written["revisions"] == compared
        assert all(chart["revisions"] == compared for chart in written["charts"])

        roc = ET.parse(out / ROC_SVG).getroot()
        lines = line_paths(roc)
        assert len(lines) == 2, "one curve per revision"
        assert lines[0] != lines[1], "the two revisions give the same curve"
        labels = {text.text for text in roc.iter(f"{SVG}text")}
        assert set(compared) <= labels


@pytest.mark.parametrize("revisions", [["no-such-rev"], ["HEAD", "no-such-rev"]])
def test_unknown_revision_named_with_fix(reproduced, env, tmp_path, revisions):
    out = tmp_path / "plots"
    result = render(reproduced, env, *revisions, "--out", out, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: unknown revision 'no-such-rev': ")
    assert "`git log --oneline`" in result.stderr
    assert "`dvc exp list`" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_revision_without_plot_data_warns(reproduced, env, tmp_path):
    out = tmp_path / "plots"
    result = render(reproduced, env, "HEAD~1", "--out", out)
    assert "warning: HEAD~1 has no plot data" in result.stderr
    assert "name a commit made after `dvc repro`" in result.stderr
    written = check_output(out)
    assert written["revisions"] == ["HEAD~1", "workspace"]
    assert written["warnings"][0].startswith("HEAD~1 has no plot data")
    assert all(chart["revisions"] == ["workspace"] for chart in written["charts"])
    assert "HEAD~1 has no plot data" in (out / "index.html").read_text("utf-8")


def test_nothing_to_draw_before_repro(baked, env, tmp_path):
    out = tmp_path / "plots"
    result = render(baked, env, "--out", out, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: nothing to draw: workspace has no plot")
    assert "run `dvc repro`" in result.stderr
    assert not out.exists()


def test_folder_of_other_files_kept(reproduced, env, tmp_path):
    out = tmp_path / "docs"
    out.mkdir()
    (out / "notes.md").write_text("mine", encoding="utf-8")
    result = render(reproduced, env, "--out", out, check=False)
    assert result.returncode == 1
    assert "contains files that render_plots did not write" in result.stderr
    assert (out / "notes.md").read_text(encoding="utf-8") == "mine"
    assert sorted(path.name for path in out.iterdir()) == ["notes.md"]


def chromium(page: Path, profile: Path, *args: str) -> str:
    """Run headless Chromium on ``page`` with no network use of its own."""
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
        page.as_uri(),
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# Added to a copy of the page: for each chart, the size the browser gave its SVG
# and how many of its data shapes have a box on screen.
PROBE = """<script>
const charts = [...document.querySelectorAll("section")].map((section) => {
  const box = section.querySelector("svg").getBoundingClientRect();
  const marks = section.querySelectorAll("g.role-mark > path, g.role-mark > text");
  const shapes = [...marks].filter((shape) => {
    const b = shape.getBBox();
    return b.width + b.height > 0;
  });
  const { width, height } = box;
  return { id: section.id, width, height, shapes: shapes.length };
});
const pre = document.createElement("pre");
pre.id = "probe";
pre.textContent = JSON.stringify(charts);
document.body.append(pre);
</script>
"""


@pytest.mark.slow
@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is absent: `apt-get install chromium` (.ci/run does)",
)
def test_chromium_draws_every_chart(reproduced, env, tmp_path):
    out = tmp_path / "plots"
    render(reproduced, env, "HEAD", "--out", out)
    written = check_output(out)
    page = out / "index.html"

    probed = tmp_path / "probed"
    shutil.copytree(out, probed)
    text = page.read_text(encoding="utf-8")
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text)
    (probed / "index.html").write_text(
        text.replace("</body>", PROBE + "</body>"), encoding="utf-8"
    )
    dom = chromium(probed / "index.html", tmp_path / "profile", "--dump-dom")
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.DOTALL)
    assert found, "the probe did not run"
    charts = json.loads(html.unescape(found.group(1)))
    stems = [chart["files"][0].removesuffix(".svg") for chart in written["charts"]]
    assert [chart["id"] for chart in charts] == stems
    for chart, stem in zip(charts, stems, strict=True):
        assert chart["width"] > 200, chart
        assert chart["height"] > 150, chart
        drawn = data_marks(ET.parse(out / f"{stem}.svg").getroot())
        assert chart["shapes"] >= len(drawn) > 0, chart

    # The page itself, its no-script policy in force: a screenshot with content.
    shot = tmp_path / "page.png"
    chromium(
        page, tmp_path / "profile", "--window-size=1000,3200", f"--screenshot={shot}"
    )
    assert check_png(shot) == (1000, 3200)
