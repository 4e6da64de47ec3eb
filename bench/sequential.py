#!/usr/bin/env python3
"""The reference of the benchmarks: the workflow's work as one plain sequential script.

One run after the other, in one Python process, no Snakemake: parse the run's
controller log(s) and write its parquet files, analyse its agents' own logs,
restore its InfluxDB backup into a private influxd (readiness polled on /ping),
query and export the run's window, stop the server; then the campaign table. Same
library calls, same outputs (``<out>/runs/<run>/*.parquet``, ``<out>/campaign.parquet``
...) as the rules run_logs, influx_metrics and campaign_table. Usage::

    .venv/bin/python bench/sequential.py CAMPAIGN OUT [--no-influx] [--no-messages]
                                                      [--workflow DIR]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def process_campaign(campaign: Path, out: Path, *, influx: bool = True, messages: bool = True,
                     workflow: Path = REPO) -> dict[str, float]:
    """Process every run of ``campaign`` into ``out``; return the time spent per stage."""
    sys.path.insert(0, str(workflow / "src"))  # the library of the workflow under test
    from ombt_postmortem import layout
    from ombt_postmortem.backup import scan_run
    from ombt_postmortem.campaign import write_campaign
    from ombt_postmortem.influx.backends.server import Limits
    from ombt_postmortem.influx.config import InfluxConfig
    from ombt_postmortem.influx.stage import run_influx_stage, write_stage
    try:  # the InfluxDB stage reads the run's logs itself
        from ombt_postmortem.influx.stage import RunLogs
    except ImportError:  # a checkout before it: the stage reads ombt.parquet
        RunLogs = None  # noqa: N806
    from ombt_postmortem.messages import analyse_message_logs, write_messages
    from ombt_postmortem.ombt.run import analyse_files, write_run_stats
    from ombt_postmortem.params import load_params

    config = yaml.safe_load((workflow / "config" / "config.yaml").read_text())
    settings = dict(config.get("influx") or {})
    limits = Limits(threads=int(settings.pop("threads", 1)),
                    mem_mb=int(settings.pop("mem_mb", 1024)))
    cfg = InfluxConfig.from_dict(settings, base_dir=workflow)
    seconds = {"ombt": 0.0, "messages": 0.0, "influx": 0.0, "table": 0.0}
    cdir = layout.CampaignDir(out)
    for run in load_params(campaign):
        t = time.perf_counter()
        files = scan_run(campaign, run.run_id)
        stats = analyse_files(run.run_id, files.controller_logs, files.folder, files.problem)
        ombt = cdir.run_file(run.key, layout.OMBT)
        write_run_stats(stats, ombt, cdir.run_file(run.key, layout.AGENTS),
                        cdir.run_file(run.key, layout.HIST))
        seconds["ombt"] += time.perf_counter() - t
        if messages:
            t = time.perf_counter()
            result = analyse_message_logs(run.run_id, files.other_logs, threads=1,
                                          folder_problem=files.problem)
            write_messages(result, cdir.run_file(run.key, layout.MESSAGES),
                           cdir.run_file(run.key, layout.TIMELINE))
            seconds["messages"] += time.perf_counter() - t
        if influx:
            t = time.perf_counter()
            log = out / layout.LOGS_DIR / "influx_metrics" / f"{run.key}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            source = ombt if RunLogs is None else RunLogs(list(files.controller_logs),
                                                          list(files.other_logs))
            result = run_influx_stage(run.run_id, source, files.influx_tar, cfg, log, limits)
            write_stage(result, cdir.run_file(run.key, layout.METRICS),
                        cdir.run_file(run.key, layout.TIMESERIES)
                        if cfg.export_timeseries else None)
            seconds["influx"] += time.perf_counter() - t
    t = time.perf_counter()
    write_campaign(campaign, cdir, with_metrics=influx, with_messages=messages,
                   log=logging.getLogger("sequential"))
    seconds["table"] = time.perf_counter() - t
    return seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("campaign", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--no-influx", action="store_true", help="no InfluxDB stage")
    ap.add_argument("--no-messages", action="store_true", help="no per-message stage")
    ap.add_argument("--workflow", type=Path, default=REPO, help="checkout whose library to use")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    seconds = process_campaign(args.campaign.resolve(), args.out, influx=not args.no_influx,
                               messages=not args.no_messages,
                               workflow=args.workflow.resolve())
    total = time.perf_counter() - t
    print(" ".join(f"{k}={v:.3f}" for k, v in {**seconds, "total": total}.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
