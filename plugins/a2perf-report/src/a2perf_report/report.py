"""Writing a report: runs in, one folder out (``report.html``, or ``report.md`` / ``report.tex`` and
their images)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from a2perf_report.datacost import data_cost_rows
from a2perf_report.errors import ReportInputError
from a2perf_report.plots import IMAGE_FORMATS, draw_figures
from a2perf_report.provenance import collect_provenance
from a2perf_report.render import ReportContent, render_html, render_latex, render_markdown
from a2perf_report.runs import load_across_runs, load_runs
from a2perf_report.table import build_table

FORMATS = {"html": "report.html", "markdown": "report.md", "latex": "report.tex"}
IMAGE_DIR = "images"


def build_content(run_dirs: Sequence[str | Path], image_format: str = "png", title: str | None = None) -> ReportContent:
    if image_format not in IMAGE_FORMATS:
        raise ReportInputError(f"image format {image_format!r}: choose one of {', '.join(IMAGE_FORMATS)}")
    runs = load_runs(run_dirs)
    plots, unavailable = draw_figures(runs, image_format)
    submissions = sorted({r.submission for r in runs})
    tasks = sorted({r.task for r in runs})
    return ReportContent(
        title=title or f"a2perf report: {', '.join(submissions)} on {', '.join(tasks)}",
        created=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        runs=tuple(runs),
        table=build_table(runs, load_across_runs(runs)),
        plots=tuple(plots),
        unavailable=tuple(unavailable),
        provenance=collect_provenance(runs),
        image_dir=IMAGE_DIR,
        data_costs=tuple(data_cost_rows(runs)),
    )


def write_report(
    run_dirs: Sequence[str | Path], out_dir: str | Path, fmt: str = "html", image_format: str = "png"
) -> Path:
    """Write the report of ``run_dirs`` into ``out_dir`` and return the main file's path."""
    if fmt not in FORMATS:
        raise ReportInputError(f"format {fmt!r}: choose one of {', '.join(FORMATS)}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ReportInputError(f"--out {out}: it is a file, not a folder")
    content = build_content(run_dirs, image_format)
    try:
        out.mkdir(parents=True, exist_ok=True)
        main = out / FORMATS[fmt]
        if fmt == "html":
            main.write_text(render_html(content), encoding="utf-8")
            return main
        images = out / IMAGE_DIR
        images.mkdir(exist_ok=True)
        for plot in content.plots:
            (images / plot.filename).write_bytes(plot.data)
        main.write_text(render_markdown(content) if fmt == "markdown" else render_latex(content), encoding="utf-8")
    except OSError as exc:
        raise ReportInputError(f"--out {out}: cannot write the report: {exc.strerror or exc}") from None
    return main


def report_after_run(run_dirs: Sequence[Path], out_dir: Path) -> str | None:
    """What ``a2perf run`` prints last: the path of ``<out>/report/report.html``."""
    existing = [d for d in run_dirs if (Path(d) / "run.json").is_file()]
    if not existing:
        return None
    path = write_report(existing, Path(out_dir) / "report", "html")
    return f"report: {path}"
