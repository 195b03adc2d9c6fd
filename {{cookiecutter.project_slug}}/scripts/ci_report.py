"""The steps of .github/workflows/pipeline.yml that need more than one command.

    python scripts/ci_report.py repro
    python scripts/ci_report.py report --base origin/main [--out ci-report]

``repro`` pulls the data from the DVC remote and runs ``dvc repro``. A project
without a DVC remote has no copy of its data on a fresh clone, so the step reports it
and stops there without failing. Credentials come from the environment, as the
workflow passes them from the repository's secrets; empty ones are left out.

``report`` compares the workspace with ``--base``: ``dvc params diff`` and
``dvc metrics diff`` as Markdown tables, and the charts of both drawn offline by
scripts/render_plots.py. It writes ``report.md``, which shows the charts as images
beside it, and ``summary.md`` for the job summary, which lists them instead:
GitHub's job summary cannot show files from the runner.

It needs only the standard library and runs DVC from the same Python, so it runs
the same way on your machine: ``.venv/bin/python scripts/ci_report.py report
--base main``.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Credentials that DVC's remotes read from the environment. GitHub passes an unset
# secret as an empty string, which some clients take as a value: drop those.
CREDENTIALS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_CONNECTION_STRING",
    "GDRIVE_CREDENTIALS_DATA",
    "GOOGLE_APPLICATION_CREDENTIALS",
)
# Secrets that hold a file's content, where DVC wants the file's path.
GCP_CREDENTIALS = "GCP_CREDENTIALS"
SSH_PRIVATE_KEY = "SSH_PRIVATE_KEY"
REMOTE_URL = re.compile(r"^remote\.(?P<name>.+)\.url=(?P<url>.*)$")


class ReportError(Exception):
    """A problem the user fixes: the message gives the fix."""


def dvc(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run DVC from this Python and return the result, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=ROOT,
        env={**(env or os.environ), "DVC_NO_ANALYTICS": "1"},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def checked(result: subprocess.CompletedProcess, what: str) -> str:
    if result.returncode != 0:
        raise ReportError(f"{what} failed (exit {result.returncode}):\n{result.stderr}")
    return result.stdout


def remotes() -> dict[str, str]:
    """Return the DVC remotes, name to URL, from every config level.

    `dvc config --list` prints one ``remote.NAME.url=URL`` line each, where
    `dvc remote list` wraps long lines in columns.
    """
    listed = checked(dvc("config", "--list"), "`dvc config --list`")
    found = (REMOTE_URL.match(line) for line in listed.splitlines())
    return {match["name"]: match["url"] for match in found if match}


def credentials_env(found: dict[str, str], scratch: Path) -> dict[str, str]:
    """Return the environment for DVC: empty credentials out, secret files written.

    ``GCP_CREDENTIALS`` contains a service account's JSON: it goes to a file that
    ``GOOGLE_APPLICATION_CREDENTIALS`` names. ``SSH_PRIVATE_KEY`` goes to a file that
    each ssh:// remote uses as its ``keyfile`` (in .dvc/config.local, never
    committed).
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in CREDENTIALS or value.strip()
    }
    google = env.pop(GCP_CREDENTIALS, "").strip()
    if google:
        path = scratch / "gcp-credentials.json"
        path.write_text(google + "\n", encoding="utf-8")
        path.chmod(0o600)
        env["GOOGLE_APPLICATION_CREDENTIALS"] = str(path)
    key = env.pop(SSH_PRIVATE_KEY, "").strip()
    if key:
        path = scratch / "ssh-key"
        path.write_text(key + "\n", encoding="utf-8")
        path.chmod(0o600)
        for name, url in found.items():
            if url.startswith("ssh://"):
                result = dvc("remote", "modify", "--local", name, "keyfile", str(path))
                checked(result, f"setting the keyfile of remote {name!r}")
    return env


def repro() -> None:
    """Pull what the remote has, then run the stages whose inputs changed."""
    found = remotes()
    if not found:
        print(
            "::notice::No DVC remote in .dvc/config, so this clone has no data and "
            "`dvc repro` did not run: the report shows the committed metrics and "
            "plots. Add one with `dvc remote add -d NAME URL`, commit .dvc/config "
            "and `dvc push` to rerun the pipeline here."
        )
        return
    scratch = Path(os.environ.get("RUNNER_TEMP") or tempfile.gettempdir())
    scratch = Path(tempfile.mkdtemp(prefix="dvc-credentials-", dir=scratch))
    env = credentials_env(found, scratch)
    names = ", ".join(found)
    print(f"ci_report: pulling from the DVC remote ({names})", flush=True)
    # Outputs never pushed are missing on the remote: repro rebuilds them.
    checked(dvc("pull", "--allow-missing", env=env), "`dvc pull`")
    print("ci_report: running dvc repro", flush=True)
    result = dvc("repro", env=env)
    print(result.stdout, end="")
    checked(result, "`dvc repro`")


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def check_base(base: str) -> None:
    if git("rev-parse", "--verify", "--quiet", base + "^{commit}").returncode:
        raise ReportError(
            f"base revision {base!r} is not a commit of this repository. Name a "
            "branch, tag or commit (`git branch -a` lists them); in GitHub Actions, "
            "check out with `fetch-depth: 0` so that origin/<target branch> exists"
        )


def diff_table(kind: str, base: str) -> str:
    """Return ``dvc {kind} diff BASE --md``, or a line saying nothing changed."""
    table = checked(dvc(kind, "diff", base, "--md"), f"`dvc {kind} diff`").strip()
    # With nothing changed DVC prints the header row and its rule only.
    return table if len(table.splitlines()) > 2 else f"No {kind} changed."


def draw_plots(base: str, out: Path) -> tuple[list[dict], str]:
    """Draw base against the workspace into ``out``; return the charts and any note.

    A failure to draw leaves the rest of the report useful, so it becomes a note.
    """
    command = [sys.executable, str(ROOT / "scripts" / "render_plots.py")]
    result = subprocess.run(
        [*command, base, "workspace", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines() or ["no message"]
        return [], f"No charts: render_plots.py failed: {reason[-1]}"
    manifest = json.loads((out / "plots.json").read_text(encoding="utf-8"))
    notes = "".join(f"\n- {warning}" for warning in manifest["warnings"])
    return manifest["charts"], notes.strip()


def changed_files() -> list[str]:
    """Return the tracked files that differ from HEAD, e.g. after `dvc repro`."""
    status = git("status", "--porcelain", "--untracked-files=no").stdout
    return sorted(line[3:] for line in status.splitlines() if line.strip())


def plots_section(charts: list[dict], folder: str, images: bool) -> list[str]:
    lines = []
    for chart in charts:
        files, title = chart["files"], chart["title"]
        png = next((name for name in files if name.endswith(".png")), files[0])
        if not images:
            lines.append(f"- {title}: `{folder}/{png}`")
            continue
        links = ", ".join(f"[{name}]({folder}/{name})" for name in files)
        lines += [f"#### {title}", "", f"![{title}]({folder}/{png})", "", links, ""]
    return lines


def markdown(base: str, parts: dict, images: bool) -> str:
    lines = [f"## DVC: this commit against `{base}`", ""]
    if not parts["remotes"]:
        lines += [
            "The pipeline did not run here: the project has no DVC remote to pull "
            "its data from. The metrics and plots are the committed ones.",
            "",
        ]
    if parts["changed"]:
        names = ", ".join(f"`{name}`" for name in parts["changed"])
        lines += [
            f"`dvc repro` changed {names}: the committed results differ from what "
            "the code and params give. Run `dvc repro` and commit the results.",
            "",
        ]
    lines += ["### Params", "", parts["params"], ""]
    lines += ["### Metrics", "", parts["metrics"], ""]
    lines += ["### Plots", ""]
    if parts["charts"] and not images:
        lines += [
            "The job summary cannot show the charts: they are PNG and SVG files in "
            "the `ci-report` artifact, with `report.md` showing them all and an "
            "offline `plots/index.html`.",
            "",
        ]
    lines += plots_section(parts["charts"], "plots", images)
    if parts["note"]:
        lines += ["", parts["note"]]
    return "\n".join(lines).rstrip() + "\n"


def report(base: str, out: Path) -> None:
    """Write report.md (charts shown) and summary.md (charts listed) to ``out``."""
    check_base(base)
    out.mkdir(parents=True, exist_ok=True)
    charts, note = draw_plots(base, out / "plots")
    parts = {
        "remotes": remotes(),
        "changed": changed_files(),
        "params": diff_table("params", base),
        "metrics": diff_table("metrics", base),
        "charts": charts,
        "note": note,
    }
    (out / "report.md").write_text(markdown(base, parts, True), encoding="utf-8")
    (out / "summary.md").write_text(markdown(base, parts, False), encoding="utf-8")
    print(f"ci_report: wrote {out / 'report.md'} and {out / 'summary.md'}")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python scripts/ci_report.py",
        description="The CI workflow's steps: run the pipeline, report a change.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "repro", help="pull from the DVC remote, if any, and run dvc repro"
    )
    write = commands.add_parser(
        "report", help="params, metrics and plots of the workspace against --base"
    )
    write.add_argument(
        "--base", required=True, help="the revision to compare with, e.g. origin/main"
    )
    write.add_argument(
        "--out",
        type=Path,
        default=Path("ci-report"),
        help="the folder to write (default: ci-report)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        if args.command == "repro":
            repro()
        else:
            report(args.base, args.out.resolve())
    except ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
