"""Two campaigns compared run by run: matching, ratios with intervals, verdicts.

**Matching.** The parameters that name a campaign rather than a run
(``identity``, default ``version`` and ``driver``) are set aside; runs are
matched on the parameters swept in either campaign (those whose values differ
between its runs), the rest of identity aside. Numbers match by value (2 ==
2.0). Runs with no partner are listed (:attr:`Comparison.unmatched`), never
dropped silently; two runs of one side with the same values are paired in
table order with the other side's, the extra ones listed.

**Per pair and metric** (:data:`METRICS`): the baseline's and the candidate's
value, the ratio candidate / baseline and its confidence interval from a
circular block bootstrap over one-second blocks of the per-message data
(:mod:`.bootstrap`), each side resampled on its own (two independent runs).
Where both runs have per-message data the values are exact (the definitions of
``messages.parquet``); else both sides take the ombt controller's histogram
estimates (``client_latency_p50_ms``...; ``source`` says ``histogram``) and
there is no interval (the note says so).

**Verdict**, from the interval only, never from the point estimate; with a
threshold ``t`` (default 5 %) and the band ``[1/(1+t), 1+t]`` (symmetric on a
log scale: swapping baseline and candidate swaps ``better`` and ``worse``):

- ``worse``: the whole interval lies beyond the band on the bad side (latency,
  errors: above ``1+t``; throughput: below ``1/(1+t)``): worse by more than the
  threshold, with 97.5 % one-sided confidence at the default 95 %; when the true
  change is within the threshold, a pair is called ``worse`` at most 2.5 % of
  the time (the false-alarm rate of a gate);
- ``better``: the whole interval lies beyond the band on the good side;
- ``same``: any other interval: no change beyond the threshold is shown. The
  column ``change`` says more: ``none shown`` (the interval contains 1),
  ``up`` or ``down`` (it excludes 1: a change, within the threshold or of a
  size the sample cannot resolve); a note flags an interval wider than the band
  (``same`` then means "no change resolved", not "equal");
- ``n/a``: no interval (histogram estimates, too few blocks, no samples).

Counts (errors, unreceived): none on both sides is ``same``; none in the
baseline and some in the candidate is ``worse`` (a failure the baseline never
showed; no ratio exists); otherwise the rule above (errors have an interval from
the per-second error counts, unreceived messages have none: ``n/a``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import layout
from ..labels import safe
from .bootstrap import (
    Blocked,
    block_weights,
    percentile_interval,
    weighted_quantiles,
)
from .samples import RunSamples, load_run_samples

VERDICTS = ("worse", "better", "same", "n/a")
#: identity parameters by default: they name a campaign, not a run
IDENTITY = ("version", "driver")


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    higher_is_worse: bool
    exact: str | None  # campaign table column of the exact value (messages.parquet)
    histogram: str | None  # campaign table column of the histogram estimate / ombt value
    what: str


METRICS: tuple[Metric, ...] = (
    Metric("throughput", "msg/s", False, "steady_rate", "client_rate",
           "steady-window rate (exact); ombt client rate (histogram source)"),
    Metric("p50", "ms", True, "rtt_p50_ms", "client_latency_p50_ms", "round trip p50"),
    Metric("p99", "ms", True, "rtt_p99_ms", "client_latency_p99_ms", "round trip p99"),
    Metric("p999", "ms", True, "rtt_p999_ms", None, "round trip p99.9"),
    Metric("oneway_p50", "ms", True, "oneway_p50_ms", "server_latency_p50_ms", "one way p50"),
    Metric("oneway_p99", "ms", True, "oneway_p99_ms", "server_latency_p99_ms", "one way p99"),
    Metric("oneway_p999", "ms", True, None, None, "one way p99.9"),
    Metric("errors", "count", True, "msg_errors", "client_msgs_fail", "client messages failed"),
    Metric("unreceived", "count", True, "msg_unreceived", None, "messages never received"),
)
_QUANTILE = {"p50": 0.5, "p99": 0.99, "p999": 0.999}


@dataclass(frozen=True)
class CompareOptions:
    threshold: float = 0.05  # relative: 0.05 = 5 %
    confidence: float = 0.95
    replicates: int = 1000
    block_s: float = 1.0  # seconds per block
    block_len: int = 1  # blocks per drawn run (circular block bootstrap)
    min_blocks: int = 5  # fewer blocks on a side: no interval
    seed: int = 0
    identity: tuple[str, ...] = IDENTITY

    def __post_init__(self) -> None:
        if not self.threshold >= 0:
            raise ValueError("threshold must be >= 0")
        if not 0 < self.confidence < 1:
            raise ValueError("confidence must be in (0, 1)")
        if self.replicates < 10 or self.block_s <= 0 or self.block_len < 1 \
                or self.min_blocks < 2:
            raise ValueError("replicates >= 10, block_s > 0, block_len >= 1, min_blocks >= 2")

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> CompareOptions:
        """From the ``compare:`` section (threshold_pct in percent)."""
        c = dict(cfg or {})
        kw: dict[str, Any] = {}
        if c.get("threshold_pct") is not None:
            kw["threshold"] = float(c["threshold_pct"]) / 100.0
        for k in ("confidence", "replicates", "block_s", "block_len", "min_blocks", "seed"):
            if c.get(k) is not None:
                kw[k] = c[k]
        if c.get("identity") is not None:
            kw["identity"] = tuple(c["identity"])
        return cls(**kw)


def verdict(lo: float, hi: float, threshold: float, higher_is_worse: bool) -> str:
    """The verdict of an interval [lo, hi] of the ratio candidate / baseline."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "n/a"
    up, down = 1.0 + threshold, 1.0 / (1.0 + threshold)
    if lo > up:
        return "worse" if higher_is_worse else "better"
    if hi < down:
        return "better" if higher_is_worse else "worse"
    return "same"


def change(lo: float, hi: float) -> str:
    """Whether the interval shows a change at all: up, down, none shown, or n/a."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "n/a"
    return "up" if lo > 1.0 else "down" if hi < 1.0 else "none shown"


# --------------------------------------------------------------------------- matching


@dataclass
class Side:
    """One campaign of the comparison: its table and where its runs' files are."""

    name: str
    table: pd.DataFrame  # campaign.parquet
    params: list[str]  # run-parameter columns, params.json order
    runs_dir: Path  # results/<campaign>/runs
    campaign_folder: Path | None = None  # the backup (agent logs), when known

    @classmethod
    def open(cls, results: Path | str, campaign_folder: Path | str | None = None,
             campaign: str | None = None) -> Side:
        from ..results import open_campaign

        c = open_campaign(results, campaign)
        return cls(name=c.name, table=c.table, params=c.params, runs_dir=c.dir.runs,
                   campaign_folder=Path(campaign_folder) if campaign_folder else None)


def _canonical(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "null"
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, int | float) and not isinstance(v, bool):
        return repr(float(v))
    return json.dumps(v, sort_keys=True, default=str)


def _varying(side: Side) -> list[str]:
    t = side.table
    return [p for p in side.params if t[p].map(_canonical).nunique() > 1]


@dataclass
class Matching:
    keys: list[str]  # the parameters runs are matched on
    pairs: list[tuple[str, pd.Series, pd.Series]]  # (pair label, baseline row, candidate row)
    unmatched: pd.DataFrame  # side, run_id, label, key
    notes: list[str] = field(default_factory=list)


def _value_text(v: Any) -> str:
    c = _canonical(v)
    if c != "null" and not c.startswith('"') and c.endswith(".0"):
        return c[:-2]  # 2.0 -> 2
    return c.strip('"')


def _key_text(row: pd.Series, keys: Sequence[str]) -> str:
    """``key=value`` of the matched parameters, joined by ``__`` (the labels' style)."""
    return "__".join(f"{safe(k)}={safe(_value_text(row.get(k)))}" for k in keys) or "all"


def match_runs(base: Side, cand: Side, identity: Sequence[str] = IDENTITY) -> Matching:
    """Pair the runs of two campaigns on their swept parameters (identity aside)."""
    ident = set(identity)
    keys = [p for p in dict.fromkeys([*_varying(base), *_varying(cand)]) if p not in ident]
    notes: list[str] = []
    for p in dict.fromkeys([*base.params, *cand.params]):
        if p in keys:
            continue
        bv = sorted(set(base.table[p].map(_canonical))) if p in base.table else ["(absent)"]
        cv = sorted(set(cand.table[p].map(_canonical))) if p in cand.table else ["(absent)"]
        if bv != cv:
            why = "identity" if p in ident else "not swept, not matched on"
            notes.append(f"{p} ({why}): {base.name} {', '.join(bv)} vs "
                         f"{cand.name} {', '.join(cv)}")

    def index(side: Side) -> dict[tuple[str, ...], list[pd.Series]]:
        out: dict[tuple[str, ...], list[pd.Series]] = {}
        for _, row in side.table.iterrows():
            k = tuple(_canonical(row[p]) if p in row.index else "(absent)" for p in keys)
            out.setdefault(k, []).append(row)
        return out

    bi, ci = index(base), index(cand)
    pairs: list[tuple[str, pd.Series, pd.Series]] = []
    left: list[dict[str, str]] = []
    for k in dict.fromkeys([*bi, *ci]):
        b, c = bi.get(k, []), ci.get(k, [])
        n = min(len(b), len(c))
        if max(len(b), len(c)) > 1 and n:
            notes.append(f"{len(b)} baseline and {len(c)} candidate runs share "
                         f"{_key_text(b[0], keys)}: paired in table order")
        for i in range(n):
            label = _key_text(b[i], keys) + (f"__repeat={i}" if max(len(b), len(c)) > 1 else "")
            pairs.append((label, b[i], c[i]))
        for side, rows in ((base, b[n:]), (cand, c[n:])):
            for row in rows:
                left.append({"side": "baseline" if side is base else "candidate",
                             "campaign": side.name, "run_id": str(row["run_id"]),
                             "label": str(row.get(layout.LABEL, "")),
                             "key": _key_text(row, keys)})
    unmatched = pd.DataFrame(left, columns=["side", "campaign", "run_id", "label", "key"])
    return Matching(keys=keys, pairs=pairs, unmatched=unmatched, notes=notes)


# --------------------------------------------------------------------------- one pair


def _num(row: pd.Series, col: str | None) -> float:
    if col is None or col not in row.index:
        return math.nan
    try:
        v = float(row[col])
    except (TypeError, ValueError):
        return math.nan
    return v


def _has_messages(row: pd.Series) -> bool:
    return _num(row, "msg_sent") > 0


@dataclass
class _Reps:
    """Bootstrap replicates of one run's metrics (and their point values)."""

    point: dict[str, float]
    reps: dict[str, np.ndarray]  # metric -> (replicates,)
    blocks: dict[str, int]


def _quantile_point(s: Blocked, q: float) -> float:
    if not s.n:
        return math.nan
    return float(np.quantile(s.values, q))


def _replicates(s: RunSamples, opts: CompareOptions, rng: np.random.Generator) -> _Reps:
    qs = tuple(_QUANTILE.values())
    point: dict[str, float] = {}
    reps: dict[str, np.ndarray] = {}
    blocks: dict[str, int] = {}
    nan = np.full(opts.replicates, np.nan)
    for prefix, smp in (("", s.rtt), ("oneway_", s.oneway)):
        w = block_weights(rng, smp.n_blocks, opts.replicates, opts.block_len)
        enough = smp.n_blocks >= opts.min_blocks and smp.n > 0
        qv = weighted_quantiles(smp, w, qs) if enough else None
        for j, (name, q) in enumerate(_QUANTILE.items()):
            point[prefix + name] = _quantile_point(smp, q)
            reps[prefix + name] = qv[:, j] if qv is not None else nan
            blocks[prefix + name] = smp.n_blocks
        if prefix == "":
            point["errors"] = float(s.errors.sum())
            reps["errors"] = (w @ s.errors).astype(np.float64) if enough and len(s.errors) \
                else nan
            blocks["errors"] = smp.n_blocks
    n_st = len(s.steady)
    span = float(s.steady_len.sum()) if n_st else math.nan
    point["throughput"] = float(s.steady.sum()) / span if n_st and span > 0 else math.nan
    if n_st >= opts.min_blocks:
        w = block_weights(rng, n_st, opts.replicates, opts.block_len)
        reps["throughput"] = (w @ s.steady) / (w @ s.steady_len)
    else:
        reps["throughput"] = nan
    blocks["throughput"] = n_st
    return _Reps(point, reps, blocks)


def _row(metric: Metric, source: str, b: float, c: float, interval: tuple[float, float],
         opts: CompareOptions, note: str, blocks: tuple[int, int] | None) -> dict[str, Any]:
    lo, hi = interval
    ratio = c / b if b and math.isfinite(b) and math.isfinite(c) and b != 0 else math.nan
    notes = [note] if note else []
    if metric.unit == "count" and math.isfinite(b) and math.isfinite(c) and b == 0:
        notes = []
        if c == 0:
            ratio, v = 1.0, "same"
            notes.append("none on either side")
        else:
            v = "worse"
            notes.append("none in the baseline")
        lo = hi = math.nan
    else:
        v = verdict(lo, hi, opts.threshold, metric.higher_is_worse)
        if v == "same" and lo < 1.0 / (1.0 + opts.threshold) and hi > 1.0 + opts.threshold:
            notes.append("interval wider than the threshold band: no change resolved")
    if v == "n/a" and not notes:
        notes.append("no interval")
    return {"metric": metric.name, "unit": metric.unit,
            "better_when": "lower" if metric.higher_is_worse else "higher",
            "source": source, "baseline": b, "candidate": c, "ratio": ratio,
            "ci_low": lo, "ci_high": hi, "confidence": opts.confidence,
            "change": change(lo, hi),
            "blocks_baseline": blocks[0] if blocks else 0,
            "blocks_candidate": blocks[1] if blocks else 0,
            "verdict": v, "note": "; ".join(notes)}


def compare_pair(b_row: pd.Series, c_row: pd.Series, b_s: RunSamples | None,
                 c_s: RunSamples | None, opts: CompareOptions, seed: Sequence[int],
                 ) -> list[dict[str, Any]]:
    """The metric rows of one matched pair (see the module's doc)."""
    rows: list[dict[str, Any]] = []
    if b_s is not None and c_s is not None:
        rb = _replicates(b_s, opts, np.random.default_rng([opts.seed, *seed, 0]))
        rc = _replicates(c_s, opts, np.random.default_rng([opts.seed, *seed, 1]))
        for m in METRICS:
            if m.name == "unreceived":
                rows.append(_row(m, "exact", _num(b_row, m.exact), _num(c_row, m.exact),
                                 (math.nan, math.nan), opts, "count only: no interval", None))
                continue
            bl = (rb.blocks[m.name], rc.blocks[m.name])
            with np.errstate(divide="ignore", invalid="ignore"):
                ratios = rc.reps[m.name] / rb.reps[m.name]
            interval = percentile_interval(ratios, opts.confidence)
            note = ""
            if min(bl) < opts.min_blocks:
                note = f"fewer than {opts.min_blocks} blocks of {opts.block_s:g} s: no interval"
            elif not math.isfinite(interval[0]):
                note = "no finite ratio among the replicates"
            rows.append(_row(m, "exact", rb.point[m.name], rc.point[m.name], interval, opts,
                             note, bl))
        return rows
    exact = _has_messages(b_row) and _has_messages(c_row)
    why = ("exact values, but no per-message samples (per_message.parquet not kept and no "
           "agent logs given): no interval") if exact else \
        "histogram estimates (no per-message data on both sides): no interval"
    for m in METRICS:
        col = m.exact if exact else m.histogram
        note = why if col is not None else ("no value from this source" if not exact
                                            else "needs the per-message samples")
        rows.append(_row(m, "exact" if exact else "histogram", _num(b_row, col),
                         _num(c_row, col), (math.nan, math.nan), opts, note, None))
    return rows


# --------------------------------------------------------------------------- campaigns


@dataclass
class Comparison:
    baseline: str
    candidate: str
    deltas: pd.DataFrame  # one row per pair and metric
    unmatched: pd.DataFrame  # side, campaign, run_id, label, key
    keys: list[str]
    notes: list[str]
    options: CompareOptions

    @property
    def worse(self) -> pd.DataFrame:
        return self.deltas[self.deltas["verdict"] == "worse"]


def _samples(side: Side, row: pd.Series, opts: CompareOptions,
             notes: list[str]) -> RunSamples | None:
    run_id = str(row["run_id"])
    if not _has_messages(row):
        return None
    run_dir = side.runs_dir / layout.run_key(run_id)
    try:
        s, problems = load_run_samples(run_dir, run_id, side.campaign_folder,
                                       _num(row, "steady_start"), _num(row, "steady_stop"),
                                       opts.block_s)
    except (OSError, ValueError, pa.ArrowException) as exc:  # one bad run, not all
        notes.append(f"{side.name}: run {run_id}: {run_dir / layout.PER_MESSAGE}: "
                     f"unreadable ({exc}); its pair has no interval")
        return None
    notes.extend(f"{side.name}: {p}" for p in problems)
    return s


def compare_campaigns(base: Side, cand: Side, opts: CompareOptions | None = None,
                      ) -> Comparison:
    """Compare every matched pair of runs of ``base`` and ``cand``."""
    opts = opts or CompareOptions()
    m = match_runs(base, cand, opts.identity)
    notes = list(m.notes)
    rows: list[dict[str, Any]] = []
    for i, (label, b, c) in enumerate(m.pairs):
        bs = _samples(base, b, opts, notes)
        cs = _samples(cand, c, opts, notes) if bs is not None else None
        head = {"pair": label, "baseline_run": str(b["run_id"]), "candidate_run": str(c["run_id"])}
        for r in compare_pair(b, c, bs, cs, opts, (i,)):
            rows.append({**head, **r})
    cols = ["pair", "baseline_run", "candidate_run", "metric", "unit", "better_when", "source",
            "baseline", "candidate", "ratio", "ci_low", "ci_high", "confidence",
            "change", "blocks_baseline", "blocks_candidate", "verdict", "note"]
    deltas = pd.DataFrame(rows, columns=cols)
    return Comparison(base.name, cand.name, deltas, m.unmatched, m.keys, notes, opts)
