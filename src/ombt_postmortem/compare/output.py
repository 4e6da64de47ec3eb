"""The comparison's files and its text table: deltas.parquet/.csv, unmatched.csv,
notes.txt and the forest plot (``forest.png``).

``results/comparison/<baseline>_vs_<candidate>/`` (:func:`comparison_dir`).
"""

from __future__ import annotations

import math
from pathlib import Path

from .. import layout
from .core import Comparison

DELTAS_PARQUET = "deltas.parquet"
DELTAS_CSV = "deltas.csv"
UNMATCHED = "unmatched.csv"
NOTES = "notes.txt"
FOREST = "forest"  # + .png/.svg/.pdf
#: the metrics drawn in the forest plot, one panel each, in this order
FOREST_METRICS = ("throughput", "p50", "p99", "p999")
COLOURS = {"worse": "#d62728", "better": "#2ca02c", "same": "#4c4c4c", "n/a": "#9e9e9e"}


def comparison_name(baseline: str, candidate: str) -> str:
    return f"{baseline}_vs_{candidate}"


def comparison_dir(results: Path | str, baseline: str, candidate: str) -> Path:
    """``<results>/comparison/<baseline>_vs_<candidate>``."""
    return Path(results) / layout.COMPARISON / comparison_name(baseline, candidate)


def _fmt(v: float) -> str:
    if not isinstance(v, float | int) or not math.isfinite(v):
        return "-"
    a = abs(v)
    return f"{v:.4g}" if a < 1e5 else f"{v:.3e}"


def format_table(cmp: Comparison) -> str:
    """The comparison as text: one block per pair, one line per metric."""
    t = cmp.options.threshold
    out = [f"{cmp.baseline} (baseline) vs {cmp.candidate} (candidate): ratio candidate/"
           f"baseline, {cmp.options.confidence:.0%} interval (circular block bootstrap over "
           f"{cmp.options.block_s:g} s blocks), threshold {t:.1%}",
           f"matched on: {', '.join(cmp.keys) or '(nothing varies: one pair)'}"]
    for pair, rows in cmp.deltas.groupby("pair", sort=False):
        first = rows.iloc[0]
        out.append("")
        out.append(f"{pair}  ({first['baseline_run']} -> {first['candidate_run']})")
        out.append(f"  {'metric':<12} {'source':<9} {'baseline':>10} {'candidate':>10} "
                   f"{'ratio':>7} {'interval':>17}  verdict")
        for r in rows.itertuples():
            iv = f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]" if math.isfinite(r.ci_low) else \
                "no interval"
            note = f"  ({r.note})" if r.note else ""
            out.append(f"  {r.metric:<12} {r.source:<9} {_fmt(r.baseline):>10} "
                       f"{_fmt(r.candidate):>10} {_fmt(r.ratio):>7} {iv:>17}  "
                       f"{r.verdict}{note}")
    if not cmp.unmatched.empty:
        out.append("")
        out.append(f"runs on one side only ({len(cmp.unmatched)}):")
        for r in cmp.unmatched.itertuples():
            out.append(f"  {r.side} {r.campaign}: {r.run_id} ({r.key})")
    if cmp.notes:
        out.append("")
        out.append("notes:")
        out.extend(f"  {n}" for n in cmp.notes)
    worse = cmp.worse
    out.append("")
    out.append(f"verdict: {len(worse)} metric(s) worse in {worse['pair'].nunique()} of "
               f"{cmp.deltas['pair'].nunique()} pair(s)" if len(worse) else
               f"verdict: no pair worse ({cmp.deltas['pair'].nunique()} pair(s) compared)")
    return "\n".join(out)


#: ratios worth a tick on the forest plot's log axes, the roundest first
NICE_TICKS = (1.0, 2.0, 0.5, 10.0, 0.1, 1.5, 0.8, 1.2, 0.9, 1.1, 5.0, 0.2, 3.0, 0.7, 1.3, 0.95,
              1.05, 0.6, 0.3, 20.0, 0.05, 50.0, 0.02, 100.0, 0.01)


def _ticks(lo: float, hi: float, most: int = 7) -> list[float]:
    """Up to ``most`` ticks in [lo, hi], the roundest first, none closer to another
    than a tenth of the axis (on the log scale)."""
    gap = math.log(hi / lo) / 10.0
    kept: list[float] = []
    for v in NICE_TICKS:
        if lo <= v <= hi and all(abs(math.log(v / k)) >= gap for k in kept):
            kept.append(v)
        if len(kept) == most:
            break
    return sorted(kept)


def forest_plot(cmp: Comparison, path: Path, dpi: int = 110) -> Path:
    """One row per matched pair, one panel per metric of :data:`FOREST_METRICS`: the
    ratio (dot) and its interval (bar) on a log axis, 1 marked, the threshold band
    shaded; worse in red, better in green, same in grey, no interval hollow."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, NullLocator

    d = cmp.deltas
    pairs = list(dict.fromkeys(d["pair"])) or ["(no matched pair)"]
    metrics = list(FOREST_METRICS)
    t = cmp.options.threshold
    height = 2.2 + 0.32 * len(pairs)
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.1 * len(metrics) + 2.5, height),
                             sharey=True, squeeze=False)
    y = {p: len(pairs) - 1 - i for i, p in enumerate(pairs)}
    for ax, metric in zip(axes[0], metrics, strict=True):
        rows = d[d["metric"] == metric]
        ax.axvspan(1 / (1 + t), 1 + t, color="#e8e8e8", zorder=0)
        ax.axvline(1.0, color="black", lw=0.9, zorder=1)
        xs: list[float] = [1 / (1 + t), 1 + t]
        for r in rows.itertuples():
            colour = COLOURS.get(r.verdict, "#4c4c4c")
            yy = y[r.pair]
            if math.isfinite(r.ci_low) and math.isfinite(r.ci_high) and r.ci_low > 0:
                ax.plot([r.ci_low, r.ci_high], [yy, yy], color=colour, lw=2.2, zorder=2)
                xs += [r.ci_low, r.ci_high]
            if math.isfinite(r.ratio) and r.ratio > 0:
                hollow = not math.isfinite(r.ci_low)
                ax.plot([r.ratio], [yy], "o", ms=5.5, zorder=3, color=colour,
                        mfc="white" if hollow else colour)
                xs.append(r.ratio)
        ax.set_xscale("log")
        ax.set_xlim(min(xs) / 1.08, max(xs) * 1.08)
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticks(_ticks(min(xs) / 1.08, max(xs) * 1.08))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.3g}"))
        unit = rows["better_when"].iloc[0] if len(rows) else ""
        ax.set_title(f"{metric} ({unit} is better)" if unit else metric, fontsize=9)
        ax.set_xlabel("candidate / baseline", fontsize=8)
        ax.tick_params(which="both", labelsize=7)
        ax.grid(axis="x", which="both", alpha=0.3)
    axes[0][0].set_yticks(list(y.values()), list(y.keys()), fontsize=7)
    axes[0][0].set_ylim(-0.7, len(pairs) - 0.3)
    handles = [Line2D([], [], color=COLOURS[v], marker="o", lw=2, label=v)
               for v in ("worse", "better", "same")]
    handles.append(Line2D([], [], color=COLOURS["n/a"], marker="o", mfc="white", lw=0,
                          label="no interval"))
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(f"candidate {cmp.candidate} / baseline {cmp.baseline}: ratio and "
                 f"{cmp.options.confidence:.0%} interval per matched run (band ±{t:.0%} shaded)",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.45 / height, 1, 1 - 0.1 / height))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def write_comparison(cmp: Comparison, out_dir: Path | str, fmt: str = "png",
                     dpi: int = 110) -> dict[str, Path]:
    """Write the comparison's files into ``out_dir``; their paths by name."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"parquet": out / DELTAS_PARQUET, "csv": out / DELTAS_CSV,
             "unmatched": out / UNMATCHED, "notes": out / NOTES,
             "forest": out / f"{FOREST}.{fmt}"}
    cmp.deltas.to_parquet(files["parquet"], index=False)
    cmp.deltas.to_csv(files["csv"], index=False)
    cmp.unmatched.to_csv(files["unmatched"], index=False)
    files["notes"].write_text(format_table(cmp) + "\n", encoding="utf-8")
    forest_plot(cmp, files["forest"], dpi=dpi)
    return files
