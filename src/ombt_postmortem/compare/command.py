"""``ombt-postmortem compare RESULTS_A RESULTS_B``: the comparison as a CI gate.

Prints the table; exit status 0 when no pair is worse, 1 when any pair is worse
on any metric, 2 when the comparison cannot be made (a folder that holds no
results, bad options).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import OmbtPostmortemError


def cmd_compare(args: argparse.Namespace) -> int:
    from .core import IDENTITY, CompareOptions, Side, compare_campaigns
    from .output import format_table, write_comparison

    try:
        opts = CompareOptions(threshold=args.threshold / 100.0, confidence=args.confidence,
                              replicates=args.replicates, seed=args.seed,
                              identity=tuple(args.identity) if args.identity else IDENTITY)
        base = Side.open(args.baseline, args.baseline_backup)
        cand = Side.open(args.candidate, args.candidate_backup)
    except (OmbtPostmortemError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        cmp = compare_campaigns(base, cand, opts)
        print(format_table(cmp))
        if args.out:
            files = write_comparison(cmp, args.out)
            print(f"wrote {', '.join(str(p) for p in files.values())}", file=sys.stderr)
    except Exception as exc:  # a gate must tell a failure (2) from a worse pair (1)
        print(f"error: comparison failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return 1 if len(cmp.worse) else 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "compare", help="compare two campaigns' results run by run (ratio, 95 %% interval, "
        "verdict); exit 1 when any pair is worse",
        description="Compare a baseline and a candidate campaign run by run: the runs are "
        "matched on their swept parameters (--identity aside), each metric's ratio "
        "candidate/baseline gets a confidence interval from a circular block bootstrap over "
        "one-second blocks of the per-message data, and a verdict better/worse/same against "
        "--threshold applied to the interval. Exit status: 0 no pair worse, 1 some pair "
        "worse, 2 error.")
    p.add_argument("baseline", help="results of the baseline: results/<campaign> (or a "
                   "results folder holding one campaign)")
    p.add_argument("candidate", help="results of the candidate campaign")
    p.add_argument("--threshold", type=float, default=5.0,
                   help="relative change tolerated, in percent (5)")
    p.add_argument("--confidence", type=float, default=0.95, help="interval level (0.95)")
    p.add_argument("--replicates", type=int, default=1000, help="bootstrap replicates (1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (0)")
    p.add_argument("--identity", nargs="+", default=None,
                   help="parameters naming a campaign, not a run (default: version driver)")
    p.add_argument("--baseline-backup", default=None,
                   help="the baseline's campaign backup folder: its agent logs give the "
                   "per-message samples when per_message.parquet was not kept")
    p.add_argument("--candidate-backup", default=None, help="the same for the candidate")
    p.add_argument("--out", default=None,
                   help="also write deltas.parquet/.csv, unmatched.csv, notes.txt and "
                   "forest.png into this folder")
    p.set_defaults(func=cmd_compare)
