"""Run one pipeline stage from this checkout: ``python src/run_stage.py STAGE``.

Python puts this script's folder first on ``sys.path``, so the stage imports the
package that sits beside it. A queued experiment runs in a copy of the repository,
and this makes it run that copy's code, the code that ``dvc.lock`` records, even
when the package is also installed elsewhere. It needs no environment variable, so
the same command works in every shell, Windows included.
"""

import runpy
import sys

PACKAGE = "{{ cookiecutter.package_name }}"
STAGES = ("prepare", "featurize", "train", "evaluate")

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in STAGES:
        sys.exit("usage: python src/run_stage.py " + "|".join(STAGES))
    runpy.run_module(f"{PACKAGE}.{sys.argv[1]}", run_name="__main__", alter_sys=True)
