"""Where every output of the workflow lives: the one home of its file names.

Light to import (no pandas, no pyarrow, no matplotlib): the rules read it while
Snakemake builds the DAG, and every library function, script, benchmark and the
results API take their paths from here.

::

    <results>/<campaign>/
        campaign.parquet, campaign.csv, columns.csv, problems.csv,
        params_calculated.json, all_stats.json, layout.json, campaign.ipynb
        runs/<run key>/ombt.parquet, agents.parquet, latency_hist.parquet,
                       metrics.parquet, timeseries.parquet,
                       messages.parquet, timeline.parquet, per_message.parquet
        figures/<kind>/...
        logs/...
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

# ------------------------------------------------------------------ the input: a backup
PARAMS_FILE = "params.json"  # <campaign>/params.json: one dict per run, each with backup_dir
INFLUX_TAR = "influxdb-data.tar.gz"  # <campaign>/<backup_dir>/influxdb-data.tar.gz
DOCKER_LOG_SUFFIX = "_docker.log"  # the controller's stdout/stderr: human text, not stats

# ------------------------------------------------------------------ the outputs
#: bumped whenever a file below is renamed or changes meaning; written to layout.json
LAYOUT_VERSION = 4  # 3: the table's "label" column, per-run figures named by it;
# 4: histogram quantiles renamed <side>_latency_p*_est_ms, headline <side>_latency_p*_ms exact
# where the agents' logs were read (<side>_latency_quantiles), timeline rows every second
LAYOUT_FILE = "layout.json"

RUNS_DIR = "runs"
#: <results>/.locks/<campaign>.lock: held by the run writing that campaign (runlock.py)
RESULTS_LOCKS_DIR = ".locks"
FIGURES_DIR = "figures"
LOGS_DIR = "logs"

# per run, under runs/<run key>/
OMBT = "ombt.parquet"  # stage 1: the run's summary row
AGENTS = "agents.parquet"  # stage 1: one row per agent
HIST = "latency_hist.parquet"  # stage 1: merged decade histogram, long form
METRICS = "metrics.parquet"  # stage 2: one row of InfluxDB metrics
TIMESERIES = "timeseries.parquet"  # stage 2: raw points, long form
MESSAGES = "messages.parquet"  # stage 1, messages on: one row of per-message figures
TIMELINE = "timeline.parquet"  # stage 1, messages on: per second and side
PER_MESSAGE = "per_message.parquet"  # stage 1, optional: one row per message

# per campaign, under <results>/<campaign>/
CAMPAIGN_PARQUET = "campaign.parquet"
CAMPAIGN_CSV = "campaign.csv"
PROBLEMS = "problems.csv"
PARAMS_CALCULATED = "params_calculated.json"
ALL_STATS = "all_stats.json"
COLUMNS = "columns.csv"  # the data dictionary of campaign.csv (ombt_postmortem.columns)
NOTEBOOK = "campaign.ipynb"  # the campaign notebook, executed (optional: notebook.enabled)

#: the campaign rule's outputs, by the name the library gives them
CAMPAIGN_FILES = {
    "parquet": CAMPAIGN_PARQUET,
    "csv": CAMPAIGN_CSV,
    "params_calculated": PARAMS_CALCULATED,
    "all_stats": ALL_STATS,
    "problems": PROBLEMS,
    "layout": LAYOUT_FILE,
    "columns": COLUMNS,
}

# ------------------------------------------------------------------ run statuses
#: a run's ``status`` in the campaign table: every number, no problem
STATUS_OK = "ok"
#: a fault: some numbers kept, the ``problems`` column says which are missing and why
STATUS_PARTIAL = "partial"
#: no ombt numbers (the run's other stages may still have some)
STATUS_FAILED = "failed"
#: problems.csv only: a folder of the campaign that looks like a run's backup but that
#: params.json does not name (no row in the campaign table)
STATUS_NOT_ANALYSED = "not analysed"

# ------------------------------------------------------------------ campaign table columns
SIDES = ("client", "server")  # ombt's two sides; side columns are "<side>_<stat>"
#: the columns every campaign table starts with, after run_id and the params
HEAD_COLUMNS = ("status", "problems", "n_clients", "n_servers")
#: the campaign table's column naming each run by what varies (ombt_postmortem.labels)
LABEL = "label"
CONTROLLER_FILES = "controller_files"
INFLUX_PROBLEMS = "influx_problems"  # metrics.parquet: the stage's problems, ";"-joined
INFLUX_NOTES = "influx_notes"  # metrics.parquet and the table: what the stage noticed
MSG_PROBLEMS = "msg_problems"  # messages.parquet: the stage's problems, ";"-joined
MSG_NOTES = "msg_notes"  # messages.parquet and the table: what the stage noticed
#: ombt.parquet and the table: what the backup's other files told (network check,
#: params.json's agent counts against the controller's)
BACKUP_NOTES = "backup_notes"
#: columns of the campaign table that are computed, not run parameters (besides the
#: "<side>_*" columns and the stages' figures)
COMPUTED_COLUMNS = frozenset({"run_id", LABEL, "backup_dir", *HEAD_COLUMNS, CONTROLLER_FILES,
                              INFLUX_NOTES, INFLUX_PROBLEMS, MSG_NOTES, MSG_PROBLEMS,
                              BACKUP_NOTES})

#: the folder of the campaign comparison, under the results folder; the run-by-run
#: comparison of two campaigns goes to comparison/<baseline>_vs_<candidate>/
COMPARISON = "comparison"
#: per campaign (config compare.hgrm): <results>/<campaign>/hgrm/<label>.rtt.hgrm, .oneway.hgrm
HGRM_DIR = "hgrm"


_SAFE_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._,+=@-]{0,199}$")


def run_key(backup_dir: str) -> str:
    """The run's name in ``results/<campaign>/runs/<key>/``.

    ``backup_dir`` itself when it is a plain file name; otherwise (slashes,
    spaces, quotes, ``..``, very long) a sanitised slug plus a hash, so that no
    run id can escape ``results/`` or collide with another.
    """
    if _SAFE_KEY.fullmatch(backup_dir) and ".." not in backup_dir:  # not match: "x\n"
        return backup_dir
    # no ".." in a key at all, like the plain names above (a slug never *is* "..", but
    # "a..b" inside one would read as a parent reference to a careless eye or tool)
    slug = re.sub(r"[^A-Za-z0-9._-]+|\.{2,}", "_", backup_dir).strip("._-")[:80] or "run"
    digest = hashlib.sha1(backup_dir.encode("utf-8")).hexdigest()[:10]
    return f"{slug}-{digest}"


def run_pattern(results: str, name: str) -> str:
    """``<results>/{campaign}/runs/{run}/<name>``: a per-run output as a rule writes it."""
    return f"{results}/{{campaign}}/{RUNS_DIR}/{{run}}/{name}"


def campaign_pattern(results: str, name: str) -> str:
    """``<results>/{campaign}/<name>``: a per-campaign output as a rule writes it."""
    return f"{results}/{{campaign}}/{name}"


@dataclass(frozen=True)
class CampaignDir:
    """The results folder of one campaign: ``<results>/<campaign>``."""

    root: Path

    @classmethod
    def of(cls, results: Path | str, campaign: str) -> CampaignDir:
        return cls(Path(results) / campaign)

    @property
    def runs(self) -> Path:
        return self.root / RUNS_DIR

    def run(self, key: str) -> Path:
        """The folder of the run whose key (:func:`run_key`) is given."""
        return self.runs / key

    def run_file(self, key: str, name: str) -> Path:
        return self.runs / key / name

    def file(self, name: str) -> Path:
        return self.root / name

    def campaign_files(self) -> dict[str, Path]:
        """The campaign rule's outputs, keyed as :data:`CAMPAIGN_FILES`."""
        return {k: self.root / v for k, v in CAMPAIGN_FILES.items()}
