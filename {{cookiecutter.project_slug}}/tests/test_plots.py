import json
import xml.etree.ElementTree as ET

import pytest

from {{ cookiecutter.package_name }}.errors import InputError
from {{ cookiecutter.package_name }}.plots import (
    GENERATOR,
    MANIFEST,
    Chart,
    charts_from,
    check_out,
    data_warnings,
    draw,
    file_stem,
    page,
    scoped_svg,
    static_spec,
    vegalite_version,
)

SPEC = {
    "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
    "data": {
        "values": [{"x": 0, "y": 0, "rev": "HEAD"}, {"x": 1, "y": 2, "rev": "HEAD"}]
    },
    "mark": "line",
    "encoding": {
        "x": {"field": "x", "type": "quantitative"},
        "y": {"field": "y", "type": "quantitative"},
        "color": {"field": "rev", "type": "nominal"},
    },
    "title": {"text": "Loss", "anchor": "middle"},
}


def test_file_stem_is_stable_safe_and_unique():
    used: set[str] = set()
    assert (
        file_stem("dvclive/plots/roc/class 1.json", used) == "dvclive-plots-roc-class-1"
    )
    assert file_stem("Loss", used) == "Loss"
    assert file_stem("loss", used) == "loss-2"
    assert file_stem("../..", used) == "plot"
    assert file_stem("a.b.csv", used) == "a-b"


def test_scoped_svg_renames_ids_and_their_uses():
    svg = (
        '<?xml version="1.0"?>\n<svg><clipPath id="clip7"><rect/></clipPath>'
        '<g clip-path="url(#clip7)"><use href="#clip7"/><a href="#elsewhere"/></g>'
        "</svg>"
    )
    scoped = scoped_svg(svg, "roc")
    assert scoped.startswith("<svg>")
    assert 'id="roc.1"' in scoped
    assert "url(#roc.1)" in scoped
    assert 'href="#roc.1"' in scoped
    assert 'href="#elsewhere"' in scoped
    assert "clip7" not in scoped


def test_static_spec_switches_checkboxes_on():
    spec = {"params": [{"name": "showValues", "bind": {"input": "checkbox"}}]}
    assert static_spec(spec) == {"params": [{"name": "showValues", "value": True}]}
    assert "bind" in spec["params"][0]


def test_vegalite_version_follows_schema():
    assert vegalite_version(SPEC).startswith("5.")
    assert vegalite_version({"mark": "point"}) is None


def test_draw_gives_svg_and_png():
    svg, png = draw(Chart("loss.json", "Loss", ["HEAD"], spec=SPEC), "loss")
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "Loss" in svg
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_draw_fetches_nothing():
    spec = dict(SPEC, data={"url": "http://127.0.0.1:9/data.json"})
    with pytest.raises(InputError, match="cannot draw plot remote.json"):
        draw(Chart("remote.json", "Remote", ["HEAD"], spec=spec), "remote")


def test_charts_and_warnings_from_dvc_json():
    plots_json = {
        "data": {
            "loss.json": [
                {"type": "vega", "revisions": ["workspace", "HEAD"], "content": SPEC}
            ],
            "empty": [],
        },
        "errors": [
            {"name": "loss.json", "rev": "v1", "msg": "No such file\nmore"},
            {"name": "acc.json", "rev": "HEAD", "msg": "file type error"},
        ],
    }
    charts = charts_from(plots_json)
    assert [(chart.id, chart.title) for chart in charts] == [("loss.json", "Loss")]
    warnings = data_warnings(plots_json, charts, ["v1", "HEAD"])
    assert warnings == [
        "v1 has no plot data (No such file): name a commit made after `dvc repro`, "
        "or run `dvc repro` for the workspace",
        "HEAD: acc.json: file type error",
    ]


def test_page_is_well_formed():
    text = page(
        "a & b", ["HEAD", "workspace"], ["<section id='s'><svg/></section>"], ["w"]
    )
    root = ET.fromstring(text)
    assert root.find("body/h1").text == "Plots of a & b"
    assert root.find(".//script") is None


def test_check_out_replaces_only_its_own_folder(tmp_path):
    check_out(tmp_path / "new")
    (tmp_path / "mine.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(
        InputError, match="contains files that render_plots did not write"
    ):
        check_out(tmp_path)
    (tmp_path / MANIFEST).write_text(json.dumps({"generator": GENERATOR}), "utf-8")
    check_out(tmp_path)
