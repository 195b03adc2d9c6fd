"""Draw the plots offline: ``python scripts/render_plots.py [REV ...] [--out DIR]``.

With no REV it draws the workspace; with REVs it compares them as `dvc plots diff`
does. It writes an SVG and a PNG per chart and an index.html that shows them with no
network, in dvc_plots/offline/ by default. ``--help`` lists the options.

The package is imported from src/ beside this script, as ``src/run_stage.py`` does,
so the command needs neither an install nor PYTHONPATH and runs this checkout's code.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from {{ cookiecutter.package_name }}.plots import main  # noqa: E402

if __name__ == "__main__":
    main(ROOT)
