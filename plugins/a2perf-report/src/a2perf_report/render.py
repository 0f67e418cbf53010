"""The three spellings of one report: HTML (one self-contained file), Markdown and LaTeX.

All three print the same cells (:attr:`Cell.text`) from the same :class:`ReportTable`; only the
markup differs. HTML embeds its images as data URIs; Markdown and LaTeX reference image files
written beside them.
"""

from __future__ import annotations

import base64
from html import escape

import attrs

from a2perf_report.datacost import QUANTITIES, DataCostRow, cost_text
from a2perf_report.plots import Plot, Unavailable
from a2perf_report.provenance import Provenance
from a2perf_report.runs import RunEntry
from a2perf_report.table import ALL_TASKS, Cell, Column, ReportTable, Row, format_number

GROUP_TITLES = {"application": "Application", "reliability": "Reliability", "system": "System"}


@attrs.frozen
class ReportContent:
    """Everything a report shows, computed once and spelled by each renderer."""

    title: str
    created: str
    runs: tuple[RunEntry, ...]
    table: ReportTable
    plots: tuple[Plot, ...]
    unavailable: tuple[Unavailable, ...]
    provenance: Provenance
    image_dir: str = "images"
    #: runs that trained on offline datasets: their own training cost, the data cost and the sum
    data_costs: tuple[DataCostRow, ...] = ()


def _data_cost_lines(row: DataCostRow) -> list[tuple[str, str, str, str]]:
    """(quantity, own training, data, sum) of one run, as text."""
    lines = []
    for field, (label, unit) in QUANTITIES.items():
        name = f"{label} ({unit})" if unit else label
        lines.append(
            (
                name,
                cost_text(row.own[field], field),
                cost_text(row.data[field], field),
                cost_text(row.total[field], field),
            )
        )
    return lines


def _phase_text(row: Row) -> str:
    return row.phase or "across runs"


def _run_counts(content: ReportContent) -> list[tuple[str, str, int, int]]:
    counts: dict[tuple[str, str], list[int]] = {}
    for run in content.runs:
        entry = counts.setdefault((run.submission, run.task), [0, 0])
        entry[0] += 1
        entry[1] += 0 if run.ok else 1
    return [(s, t, n, failed) for (s, t), (n, failed) in sorted(counts.items())]


# --- HTML ------------------------------------------------------------------------------------------

CSS = """
:root { --ink:#1f2328; --muted:#656d76; --line:#d0d7de; --best:#dafbe1; --fail:#ffebe9; --head:#f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 1400px; padding: 24px 32px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 6px; }
.meta { color: var(--muted); margin-bottom: 18px; }
.chips span { display: inline-block; border: 1px solid var(--line); border-radius: 12px; padding: 2px 10px;
              margin: 2px 6px 2px 0; background: var(--head); }
.chips span.failed { background: var(--fail); border-color: #ff8182; }
table { border-collapse: collapse; width: 100%; margin-bottom: 8px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: right; vertical-align: top; }
th { background: var(--head); font-weight: 600; }
th.metric, td.metric { text-align: left; white-space: nowrap; }
td.phase { text-align: left; color: var(--muted); white-space: nowrap; }
td.best { background: var(--best); }
td.failed { background: var(--fail); color: #82071e; }
.ci { color: var(--muted); font-size: 11px; white-space: nowrap; }
.arrow { color: #0969da; font-weight: 700; }
.unit { color: var(--muted); }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 18px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 10px; background: #fff; }
figure img { width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 6px; }
.unavailable li { color: var(--muted); }
footer { margin-top: 40px; border-top: 2px solid var(--line); padding-top: 12px; font-size: 13px; }
pre { background: var(--head); padding: 8px; overflow-x: auto; font-size: 12px; }
details { margin: 6px 0; } summary { cursor: pointer; font-weight: 600; }
td.status-failed { color: #82071e; font-weight: 600; text-align: left; }
td.status-ok { color: #1a7f37; text-align: left; }
td.left { text-align: left; }
.scroll { overflow-x: auto; }
"""


def _column_heading(column: Column) -> str:
    task = "all tasks" if column.task == ALL_TASKS else column.task
    return f"{escape(column.submission)}<br><span class='unit'>{escape(task)}</span>"


def _html_cell(column: Column, cell: Cell) -> str:
    attributes = {
        "data-submission": column.submission,
        "data-task": column.task,
        "data-n": str(len(cell.values)),
        "data-runs": str(cell.n_runs),
    }
    classes = ["value"]
    if cell.mean is not None:
        attributes["data-mean"] = repr(cell.mean)
    if cell.std is not None:
        attributes["data-std"] = repr(cell.std)
    if cell.best:
        classes.append("best")
        attributes["data-best"] = "true"
    if cell.failed:
        classes.append("failed")
        attributes["data-failed"] = "true"
        attributes["title"] = "failed runs are never averaged: " + " | ".join(cell.failures)
    elif cell.iqm is not None:
        attributes["title"] = cell.ci_text
    attrs_text = " ".join(f'{k}="{escape(v)}"' for k, v in attributes.items())
    text = escape(cell.text)
    body = f"<b>{text}</b>" if cell.best else text
    if cell.iqm is not None and not cell.failed:
        _, low, high = cell.iqm
        body += f"<div class='ci'>CI [{escape(format_number(low))}, {escape(format_number(high))}]</div>"
    return f"<td class='{' '.join(classes)}' {attrs_text}>{body}</td>"


def _html_table(content: ReportContent) -> str:
    columns = content.table.columns
    head = "".join(f"<th>{_column_heading(c)}</th>" for c in columns)
    parts = []
    for group, rows in content.table.sections.items():
        if not rows:
            continue
        parts.append(f"<h3>{GROUP_TITLES[group]}</h3>")
        parts.append(
            f"<div class='scroll'><table class='metrics' data-group='{group}'><thead><tr><th class='metric'>metric</th>"
            f"<th class='metric'>phase</th>{head}</tr></thead><tbody>"
        )
        for row in rows:
            arrow = {"higher": "↑", "lower": "↓"}.get(row.direction, "")
            label = (
                f"{escape(row.name)}"
                + (f" <span class='unit'>({escape(row.unit)})</span>" if row.unit else "")
                + (f" <span class='arrow' title='{row.direction} is better'>{arrow}</span>" if arrow else "")
            )
            cells = "".join(_html_cell(c, row.cells[c]) for c in columns)
            parts.append(
                f"<tr data-metric='{escape(row.name)}' data-phase='{escape(row.phase or '')}' "
                f"data-unit='{escape(row.unit)}' data-direction='{escape(row.direction)}'>"
                f"<td class='metric'>{label}</td><td class='phase'>{escape(_phase_text(row))}</td>{cells}</tr>"
            )
        parts.append("</tbody></table></div>")
    return "\n".join(parts)


def _data_uri(plot: Plot) -> str:
    return f"data:{plot.mime};base64,{base64.b64encode(plot.data).decode('ascii')}"


def _html_runs(content: ReportContent) -> str:
    rows = []
    for run in content.runs:
        status = "ok" if run.ok else "failed"
        rows.append(
            f"<tr class='run' data-status='{status}'><td class='left'>{escape(run.submission)}</td>"
            f"<td class='left'>{escape(run.task)}</td><td>{'' if run.seed is None else run.seed}</td>"
            f"<td class='status-{status}'>{status}</td><td class='left'>{escape(run.reason)}</td>"
            f"<td class='left'><code>{escape(str(run.run_dir))}</code></td></tr>"
        )
    return (
        "<table class='runs'><thead><tr><th class='metric'>submission</th><th class='metric'>task</th><th>seed</th>"
        "<th class='metric'>status</th><th class='metric'>reason</th><th class='metric'>run folder</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _html_provenance(p: Provenance) -> str:
    parts = ["<footer><h2>Provenance</h2>", "<h3>Reproduce</h3>"]
    parts.append("<pre>" + escape("\n".join(p.commands)) + "</pre>")
    parts.append("<h3>Package versions</h3>")
    for versions, count in p.versions:
        listing = ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
        parts.append(f"<p>{count} run{'s' if count != 1 else ''}: {escape(listing) or 'not recorded'}</p>")
    parts.append("<h3>Machines</h3>")
    for machine, count in p.machines:
        listing = ", ".join(f"{k}: {v}" for k, v in sorted(machine.items()))
        parts.append(f"<p>{count} run{'s' if count != 1 else ''}: {escape(listing) or 'not recorded'}</p>")
    parts.append("<h3>Checksums</h3><ul>")
    for label, digest in sorted(p.submission_hashes.items()):
        parts.append(f"<li>submission {escape(label)}: <code>{escape(digest or 'not recorded')}</code></li>")
    for task, assets in p.data_checksums.items():
        for name, digest in assets.items():
            parts.append(
                f"<li>data {escape(name)} ({escape(task)}): <code>sha256:{escape(digest or 'not declared')}</code></li>"
            )
    parts.append("</ul><h3>Gin configuration</h3>")
    for text, dirs in p.gin_configs:
        parts.append(
            f"<details><summary>{len(dirs)} run{'s' if len(dirs) != 1 else ''}</summary>"
            f"<pre>{escape(text or '(empty)')}</pre><p class='meta'>{escape(', '.join(dirs))}</p></details>"
        )
    parts.append("</footer>")
    return "\n".join(parts)


def _html_data_costs(content: ReportContent) -> str:
    if not content.data_costs:
        return ""
    parts = [
        "<h2>Data cost</h2><p class='meta'>runs that trained on offline datasets: the run's own training, "
        "producing its datasets (collection and the training of the policies that generated them), and the sum</p>",
        "<table class='data-cost'><thead><tr><th class='metric'>submission</th><th class='metric'>task</th>"
        "<th>seed</th><th class='metric'>datasets</th><th class='metric'>quantity</th><th>own training</th>"
        "<th>data cost</th><th>sum</th></tr></thead><tbody>",
    ]
    for row in content.data_costs:
        run = row.run
        for name, own, data, total in _data_cost_lines(row):
            title = f" title='{escape(row.own_missing)}'" if row.own_missing else ""
            parts.append(
                f"<tr data-run='{escape(str(run.run_dir))}' data-quantity='{escape(name)}'>"
                f"<td class='left'>{escape(run.submission)}</td><td class='left'>{escape(run.task)}</td>"
                f"<td>{'' if run.seed is None else run.seed}</td>"
                f"<td class='left'>{escape(', '.join(row.dataset_ids))}</td><td class='left'>{escape(name)}</td>"
                f"<td class='own'{title}>{escape(own)}</td><td class='data'>{escape(data)}</td>"
                f"<td class='sum'>{escape(total)}</td></tr>"
            )
    parts.append("</tbody></table>")
    return "\n".join(parts)


def render_html(content: ReportContent) -> str:
    chips = "".join(
        f"<span class='{'failed' if failed else ''}'>{escape(s)} · {escape(t)} · {n} runs"
        f"{f' · {failed} failed' if failed else ''}</span>"
        for s, t, n, failed in _run_counts(content)
    )
    figures = "".join(
        f"<figure data-plot='{escape(p.name)}'><img alt='{escape(p.title)}' src='{_data_uri(p)}'>"
        f"<figcaption><b>{escape(p.title)}</b>: {escape(p.caption)}</figcaption></figure>"
        for p in content.plots
    )
    unavailable = "".join(f"<li><b>{escape(u.title)}</b>: {escape(u.reason)}</li>" for u in content.unavailable)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(content.title)}</title><style>{CSS}</style></head><body>\n"
        f"<h1>{escape(content.title)}</h1><div class='meta'>{escape(content.created)} · {len(content.runs)} runs"
        " · mean ± std over seeds; IQM with 95 % stratified bootstrap CI below each value (and on hover); "
        "best value per task in bold on green; a failed run is never averaged in</div>"
        f"<div class='chips'>{chips}</div>\n<h2>Results</h2>\n{_html_table(content)}\n"
        f"<h2>Figures</h2><div class='figures'>{figures}</div>\n"
        + (f"<h3>Not available</h3><ul class='unavailable'>{unavailable}</ul>" if unavailable else "")
        + f"\n{_html_data_costs(content)}"
        + f"\n<h2>Runs</h2>{_html_runs(content)}\n{_html_provenance(content.provenance)}\n</body></html>\n"
    )


# --- Markdown ----------------------------------------------------------------------------------


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _md_cell(cell: Cell) -> str:
    text = _md(cell.text)
    return f"**{text}**" if cell.best else text


def render_markdown(content: ReportContent) -> str:
    columns = content.table.columns
    lines = [
        f"# {content.title}",
        "",
        f"{content.created} · {len(content.runs)} runs · mean ± std over seeds, "
        "**bold**: best per task; a failed run is never averaged in.",
        "",
    ]
    for s, t, n, failed in _run_counts(content):
        lines.append(f"- {_md(s)} on {_md(t)}: {n} runs" + (f", **{failed} failed**" if failed else ""))
    lines.append("")
    heading = " | ".join(_md(f"{c.submission} ({c.task})") for c in columns)
    for group, rows in content.table.sections.items():
        if not rows:
            continue
        lines += [f"## {GROUP_TITLES[group]}", "", f"| metric | phase | {heading} |"]
        lines.append("|---|---|" + "---:|" * len(columns))
        for row in rows:
            cells = " | ".join(_md_cell(row.cells[c]) for c in columns)
            lines.append(f"| {_md(row.label)} | {_md(_phase_text(row))} | {cells} |")
        lines.append("")
    lines += ["## Figures", ""]
    for plot in content.plots:
        lines += [f"![{plot.title}]({content.image_dir}/{plot.filename})", "", f"*{plot.title}*: {plot.caption}", ""]
    for u in content.unavailable:
        lines.append(f"- not available: **{u.title}**: {u.reason}")
    if content.data_costs:
        lines += [
            "",
            "## Data cost",
            "",
            "Runs that trained on offline datasets: the run's own training, producing its datasets, and the sum.",
            "",
            "| submission | task | seed | datasets | quantity | own training | data cost | sum |",
            "|---|---|---:|---|---|---:|---:|---:|",
        ]
        for row in content.data_costs:
            run = row.run
            for name, own, data, total in _data_cost_lines(row):
                lines.append(
                    f"| {_md(run.submission)} | {_md(run.task)} | {'' if run.seed is None else run.seed} | "
                    f"{_md(', '.join(row.dataset_ids))} | {name} | {own} | {data} | {total} |"
                )
    lines += ["", "## Runs", "", "| submission | task | seed | status | reason |", "|---|---|---:|---|---|"]
    for run in content.runs:
        lines.append(
            f"| {_md(run.submission)} | {_md(run.task)} | {'' if run.seed is None else run.seed} | "
            f"{'ok' if run.ok else '**failed**'} | {_md(run.reason)} |"
        )
    lines += ["", "## Reproduce", "", "```bash", *content.provenance.commands, "```", ""]
    versions = content.provenance.versions
    if versions:
        lines += ["Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions[0][0].items())), ""]
    for machine, count in content.provenance.machines:
        listing = ", ".join(f"{k}: {v}" for k, v in sorted(machine.items()) if k != "host_id")
        lines += [f"Machine ({count} run{'s' if count != 1 else ''}): {_md(listing) or 'not recorded'}", ""]
    return "\n".join(lines)


# --- LaTeX -------------------------------------------------------------------------------------

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    out = "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)
    return out.replace("±", r"$\pm$").replace("↑", r"$\uparrow$").replace("↓", r"$\downarrow$").replace("–", "--")


def _tex_cell(cell: Cell) -> str:
    text = latex_escape(cell.text)
    return rf"\textbf{{{text}}}" if cell.best else text


def render_latex(content: ReportContent) -> str:
    columns = content.table.columns
    lines = [
        "% a2perf report: needs \\usepackage{booktabs,graphicx} in the preamble",
        r"\begin{table}[t]",
        r"\centering\small",
        rf"\caption{{{latex_escape(content.title)}: mean $\pm$ std over seeds; best per task in bold; "
        "failed runs are never averaged in.}",
        r"\begin{tabular}{ll" + "r" * len(columns) + "}",
        r"\toprule",
        "metric & phase & " + " & ".join(latex_escape(f"{c.submission} ({c.task})") for c in columns) + r" \\",
    ]
    for group, rows in content.table.sections.items():
        if not rows:
            continue
        lines += [r"\midrule", rf"\multicolumn{{{len(columns) + 2}}}{{l}}{{\textit{{{GROUP_TITLES[group]}}}}} \\"]
        for row in rows:
            cells = " & ".join(_tex_cell(row.cells[c]) for c in columns)
            lines.append(f"{latex_escape(row.label)} & {latex_escape(_phase_text(row))} & {cells} " + r"\\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    for plot in content.plots:
        if plot.image_format != "png":
            lines.append(f"% {plot.filename}: SVG needs the svg package (\\includesvg)")
        lines += [
            r"\begin{figure}[t]",
            r"\centering",
            rf"\includegraphics[width=\linewidth]{{{content.image_dir}/{plot.filename}}}",
            rf"\caption{{{latex_escape(plot.title)}: {latex_escape(plot.caption)}}}",
            r"\end{figure}",
            "",
        ]
    if content.data_costs:
        lines += [
            r"\begin{table}[t]",
            r"\centering\small",
            r"\caption{Data cost: the run's own training, producing its datasets, and the sum.}",
            r"\begin{tabular}{lllrrr}",
            r"\toprule",
            r"submission & task & quantity & own training & data cost & sum \\",
            r"\midrule",
        ]
        for row in content.data_costs:
            for name, own, data, total in _data_cost_lines(row):
                cells = [row.run.submission, row.run.task, name, own, data, total]
                lines.append(" & ".join(latex_escape(c) for c in cells) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    lines.append("% reproduce:")
    lines += [f"%   {command}" for command in content.provenance.commands]
    return "\n".join(lines) + "\n"
