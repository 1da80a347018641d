"""inspect-dataset --report: one self-contained HTML page (tables plus inline PNG plots)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ..infra.atomic import write_text_atomic
from .inspect_dataset import Inspection

if TYPE_CHECKING:
    from .report_previews import Preview

REPORT_NAME = "report.html"
_MARK = "<!-- mimicdata inspect-dataset report -->"
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.warn { color: #b00; }
figure { margin: 1em 0; } img { max-width: 100%; }
.previews { display: flex; flex-wrap: wrap; gap: 12px; }
.previews figure { margin: 0; width: 240px; font-size: 0.85em; }
#clips th { cursor: pointer; } #clips td.reason { color: #b00; text-align: left; }
"""
# Sorting and filtering of the clip table, and a count of the previews that loaded (data-previews-loaded on
# <body>, for anyone checking the page headless). Inline: the report opens from disk, with no network.
_SCRIPT = """
const table = document.getElementById('clips');
if (table) {
  const body = table.tBodies[0];
  document.getElementById('clip-filter').addEventListener('input', (event) => {
    const needle = event.target.value.toLowerCase();
    for (const row of body.rows) row.hidden = !row.textContent.toLowerCase().includes(needle);
  });
  table.tHead.querySelectorAll('th').forEach((th, column) => th.addEventListener('click', () => {
    const up = th.dataset.order !== 'up';
    th.dataset.order = up ? 'up' : 'down';
    const key = (row) => {
      const text = row.cells[column].textContent;
      const number = parseFloat(text);
      return th.dataset.numeric ? (isNaN(number) ? -Infinity : number) : text;
    };
    const rows = Array.from(body.rows).sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (up ? 1 : -1));
    rows.forEach((row) => body.appendChild(row));
  }));
}
window.addEventListener('load', () => {
  const images = Array.from(document.querySelectorAll('img.preview'));
  document.body.dataset.previewsTotal = images.length;
  document.body.dataset.previewsLoaded = images.filter((img) => img.complete && img.naturalWidth > 0).length;
});
"""


def write_report(inspection: Inspection, out_dir: Path, previews: bool = True, robot: str = "unitree_g1") -> Path:
    """Write out_dir/report.html and, with `previews`, its moving previews in out_dir/previews/; an existing
    report of ours is replaced, any other file is not."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(out_dir, "report", "is a file; expected a directory for report.html")
    path = out_dir / REPORT_NAME
    if path.exists() and _MARK not in path.read_text(errors="replace")[:200]:
        raise InputError(path, "report", "exists and was not written by inspect-dataset; it is left alone")
    drawn: list[Preview] = []
    note = None
    if previews:
        from .report_previews import write_previews  # the renderer: only when previews are asked for

        drawn, note = write_previews(inspection, out_dir, robot)
    write_text_atomic(path, render(inspection, drawn, note))
    return path


def render(inspection: Inspection, previews: list[Preview] | None = None, preview_note: str | None = None) -> str:
    summary = inspection.summary()
    parts = [
        f"<!DOCTYPE html>\n{_MARK}\n<html><head><meta charset='utf-8'>",
        f"<title>{_e(Path(summary['path']).name)}: mimicdata dataset report</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(summary['path'])}</h1>",
        _overview(summary),
        _splits(summary),
        _sources(summary),
        _rejections(summary),
        _previews(previews or [], preview_note),
        _clip_table(inspection, summary),
        _plots(inspection, summary),
        _joint_table(summary),
        _names(summary),
        f"<script>{_SCRIPT}</script></body></html>\n",
    ]
    return "\n".join(parts)


def _e(value: Any) -> str:
    return html.escape(str(value))


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _overview(s: dict[str, Any]) -> str:
    built = s.get("built_from") or {}
    rows = [
        ["kind", _e(s["kind"])],
        ["clips", s["clips"]],
        ["frames", s["frames"]],
        ["hours", f"{s['hours']:.3f}"],
        ["fps", _e(", ".join(f"{f:g}" for f in s["fps"]))],
        ["schema version", _e(s["schema_version"] if s["schema_version"] is not None else "none stored")],
        ["joints / bodies", f"{len(s['joint_names'])} / {len(s['body_names'] or [])}"],
        [
            "clip length (s)",
            f"{s['clip_seconds']['min']:.1f} min, {s['clip_seconds']['median']:.1f} median, "
            f"{s['clip_seconds']['max']:.1f} max",
        ],
    ]
    if q := s.get("quality_score"):
        rows += [["quality score", f"{q['min']:.2f} min, {q['p10']:.2f} p10, {q['p50']:.2f} median over {q['clips']} clips"]]
        rows += [["lowest scores", _e(", ".join(f"{c['clip_id']} {c['quality_score']:.2f}" for c in q["lowest"]))]]
    failed = s.get("failures") or {}
    if failed.get("clips"):
        rows += [["failures partition", f"{failed['clips']} clips, {failed['frames']} frames in failures/"]]
    if built:
        rows += [["built by", _e(f"{built.get('tool')} from {built.get('spec')} at {built.get('built_at_utc')}")]]
        if built.get("fk_check"):
            fk = built["fk_check"]
            rows += [["FK check", _e(f"{fk.get('passed')} of {fk.get('clips')} sampled clips pass")]]
        if built.get("resharded"):
            rows += [["re-sharded", _e(f"from {built['resharded'].get('from')}")]]
    notes = "".join(f"<li>{_e(n)}</li>" for n in s["notes"])
    return "<h2>Overview</h2>" + _table(["", ""], rows) + (f"<h3>Notes</h3><ul>{notes}</ul>" if notes else "")


def _splits(s: dict[str, Any]) -> str:
    rows = []
    for split, info in s["splits"].items():
        for shard in info.get("shards", []):
            rows.append([_e(split), _e(shard["path"]), shard["clips"], shard["frames"], f"{shard['bytes'] / 1e6:.1f}"])
        rows.append([f"<b>{_e(split)}</b>", "<b>total</b>", info["clips"], info["frames"], ""])
    return "<h2>Splits and shards</h2>" + _table(["split", "shard", "clips", "frames", "MB"], rows)


def _sources(s: dict[str, Any]) -> str:
    splits = list(s["splits"])
    rows = []
    for source, per_split in s["sources"].items():
        cells = [_e(source)]
        for split in splits:
            info = per_split.get(split)
            cells.append(f"{info['clips']} / {info['hours']:.3f}" if info else "")
        rows.append(cells)
    return "<h2>Sources</h2>" + _table(["source", *[f"{sp}: clips / hours" for sp in splits]], rows)


def _rejections(s: dict[str, Any]) -> str:
    rejected = s["rejected"]
    if not rejected["list"]:
        text = "No clip was rejected." if s["kind"] == "dataset" else "No build record: rejections unknown."
        return f"<h2>Rejected clips</h2><p>{text}</p>"
    rows = [
        [_e(r.get("reason")), _e(r.get("clip_id")), _e(r.get("detail", "")),
         "" if r.get("quality_score") is None else f"{r['quality_score']:.2f}",
         _e(f"{r['shard']}#{r['clip_index']}") if r.get("shard") else "not stored"]
        for r in rejected["list"]
    ]
    header = ["reason", "clip", "detail", "quality score", "in failures/"]
    return f"<h2>Rejected clips ({rejected['clips']})</h2>" + _table(header, rows)


def _previews(previews: list[Preview], note: str | None) -> str:
    if note:
        return f"<h2>Moving previews</h2><p class='warn'>{_e(note)}</p>"
    if not previews:
        return ""
    cells = "".join(
        f"<figure><img class='preview' src='{_e(p.file)}' alt='{_e(p.clip.clip_id)}' width='240' height='180'>"
        f"<figcaption><b>{_e(p.why)}</b><br>{_e(p.clip.clip_id)} ({_e(p.clip.split)})</figcaption></figure>"
        for p in previews
    )
    return f"<h2>Moving previews</h2><div class='previews'>{cells}</div>"


def _clip_table(inspection: Inspection, s: dict[str, Any]) -> str:
    """Every clip, the failures and the inputs that could not be stored, in one table to sort and filter."""
    rows = []
    for c in [*inspection.clips, *inspection.failures]:
        quality = "" if c.quality is None else f"{c.quality:.3f}"
        rows.append([_e(c.clip_id), _e(c.source), _e(c.split), str(c.frames), f"{c.seconds:.2f}", quality,
                     _e("; ".join(c.flags)), f"<span class='reason'>{_e(c.reason)}</span>"])
    stored = {c.clip_id for c in inspection.failures}
    for r in s["rejected"]["list"]:
        if r["clip_id"] not in stored:
            rows.append([_e(r["clip_id"]), _e(r.get("source", "")), "not stored", "", "", "", "",
                         f"<span class='reason'>{_e(r.get('reason', ''))}</span>"])
    numeric = {"frames", "seconds", "quality score"}
    header = "".join(f"<th{' data-numeric=1' if h in numeric else ''}>{_e(h)}</th>"
                     for h in ("clip", "source", "split", "frames", "seconds", "quality score", "flags", "rejected"))
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (f"<h2>Clips ({len(rows)})</h2><p><input id='clip-filter' type='search' placeholder='filter: id, source, "
            f"split, reason' size='40'> click a column to sort</p>"
            f"<table id='clips'><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>")


def _joint_table(s: dict[str, Any]) -> str:
    if not s["joints"]:
        return ""
    rows = []
    for j in s["joints"]:
        limit = f"{j['lower']:.3f} .. {j['upper']:.3f}" if j["lower"] is not None else "unknown"
        flag = "<span class='warn'>beyond limits</span>" if j["beyond_limits"] else ""
        rows.append([_e(j["name"]), f"{j['min']:.3f} .. {j['max']:.3f}", limit, flag])
    return "<h2>Joint ranges (rad)</h2>" + _table(["joint", "used", "limits", ""], rows)


def _names(s: dict[str, Any]) -> str:
    joints = ", ".join(s["joint_names"])
    bodies = ", ".join(s["body_names"] or ["(none stored)"])
    return (
        f"<details><summary>Joint names ({len(s['joint_names'])})</summary><p>{_e(joints)}</p></details>"
        f"<details><summary>Body names</summary><p>{_e(bodies)}</p></details>"
    )


def _plots(inspection: Inspection, s: dict[str, Any]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = [
        ("Clip lengths", _clip_lengths(plt, inspection)),
        ("Hours per source", _hours_per_source(plt, s)),
        ("Rejections by reason", _rejection_reasons(plt, s)),
        ("Joint range used against the joint limits", _joint_ranges(plt, s)),
        ("Root height", _histogram(plt, inspection.root_height, "root height (m)")),
        ("Root speed", _histogram(plt, inspection.root_speed, "root speed (m/s)", log=True)),
    ]
    out = ["<h2>Plots</h2>"]
    for title, png in figures:
        if png is not None:
            out.append(
                f"<figure><figcaption>{_e(title)}</figcaption><img alt='{_e(title)}' src='data:image/png;base64,{png}'></figure>"
            )
    return "\n".join(out)


def _png(plt, fig) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    # No metadata: the same dataset gives the same page.
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _clip_lengths(plt, inspection: Inspection) -> str:
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.hist([c.seconds for c in inspection.clips], bins=40, color="#4477aa")
    ax.set_xlabel("clip length (s)")
    ax.set_ylabel("clips")
    return _png(plt, fig)


def _hours_per_source(plt, s: dict[str, Any]) -> str:
    sources = list(s["sources"])
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.4 * len(sources)))
    left = np.zeros(len(sources))
    for split, color in zip(s["splits"], ("#4477aa", "#ee6677", "#228833", "#ccbb44")):
        hours = np.array([s["sources"][src].get(split, {}).get("hours", 0.0) for src in sources])
        ax.barh(sources, hours, left=left, color=color, label=split)
        left += hours
    ax.set_xlabel("hours")
    ax.legend(loc="lower right")
    return _png(plt, fig)


def _rejection_reasons(plt, s: dict[str, Any]) -> str | None:
    reasons = s["rejected"]["by_reason"]
    if not reasons:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.4 * len(reasons)))
    ax.barh(list(reasons), list(reasons.values()), color="#ee6677")
    ax.set_xlabel("clips rejected")
    return _png(plt, fig)


def _joint_ranges(plt, s: dict[str, Any]) -> str | None:
    joints = s["joints"]
    if not joints:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.22 * len(joints)))
    y = np.arange(len(joints))[::-1]
    for yi, j in zip(y, joints):
        if j["lower"] is not None:
            ax.barh(yi, j["upper"] - j["lower"], left=j["lower"], color="#dddddd", height=0.8)
        color = "#cc3311" if j["beyond_limits"] else "#4477aa"
        ax.barh(yi, max(j["max"] - j["min"], 1e-3), left=j["min"], color=color, height=0.45)
    ax.set_yticks(y, [j["name"].removesuffix("_joint") for j in joints], fontsize=7)
    ax.set_xlabel("rad (grey: limits, blue: used, red: used beyond the limits)")
    return _png(plt, fig)


def _histogram(plt, values: np.ndarray, label: str, log: bool = False) -> str | None:
    if values.size == 0:
        return None
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.hist(values, bins=60, color="#4477aa", log=log)
    ax.set_xlabel(label)
    ax.set_ylabel("frames")
    return _png(plt, fig)
