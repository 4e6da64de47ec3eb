"""The per-run jobs as plain programs (ombt_postmortem.workflow_support.jobs, launched by
workflow/job.py).

The jobs take everything from their command line: the commands Snakemake ran, read
back from its own records, are run again by hand and must give the same tables;
a bad spec is a clear error naming the stage, the run and the key.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import EXAMPLE, REPO, run_ids, snakemake, write_config

LAUNCHER = REPO / "workflow" / "job.py"
PER_RUN_RULES = ("run_logs", "influx_metrics")


def job(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(LAUNCHER), *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def recorded_commands(workdir: Path) -> dict[str, set[str]]:
    """rule -> the shell commands Snakemake recorded for its outputs (.snakemake/metadata)."""
    found: dict[str, set[str]] = {}
    for path in (workdir / ".snakemake" / "metadata").rglob("*"):
        if path.is_file():
            record = json.loads(path.read_text())
            if record.get("shellcmd"):
                found.setdefault(record["rule"], set()).add(record["shellcmd"])
    return found


def _without_times(text: str) -> list[str]:
    """Log lines without their time stamp (asctime) and durations."""
    return [re.sub(r"\d+\.\d+ s\b", "T s", line.split(" ", 2)[-1])
            for line in text.splitlines()]


@pytest.fixture(scope="module")
def one_run_workflow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workflow (influx on, native backend) over the first example run."""
    work = tmp_path_factory.mktemp("jobs")
    camp = work / "campaign"
    shutil.copytree(EXAMPLE, camp)
    params = json.loads((camp / "params.json").read_text())
    (camp / "params.json").write_text(json.dumps(params[:1]))
    cfg = write_config(work, {"ex": camp}, influx={"backend": "native"})
    res = snakemake(work, cfg, "results/ex/campaign.parquet", cores=1)
    assert res.returncode == 0, res.output
    return work


def test_the_commands_snakemake_ran_give_the_same_tables_by_hand(
        one_run_workflow: Path, tmp_path: Path) -> None:
    work = one_run_workflow
    commands = recorded_commands(work)
    for rule in PER_RUN_RULES:
        assert len(commands.get(rule, ())) == 1, (rule, commands)
    runs = work / "results" / "ex" / "runs"
    before = {p: pq.read_table(p) for p in runs.rglob("*.parquet")}
    assert len(before) >= 6  # 5 of run_logs, 1+ of influx_metrics
    logs = {p: p.read_text() for p in (work / "results" / "ex" / "logs").rglob("*.log")
            if p.parent.name in PER_RUN_RULES}
    assert sorted(p.parent.name for p in logs) == sorted(PER_RUN_RULES)
    shutil.rmtree(runs)
    for p in logs:
        p.unlink()
    for rule in PER_RUN_RULES:
        cmd = next(iter(commands[rule]))
        argv = shlex.split(cmd)
        assert argv[0] == sys.executable and Path(argv[1]) == LAUNCHER and argv[2] == rule
        proc = subprocess.run(["bash", "-c", cmd], cwd=work, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr
    after = {p: pq.read_table(p) for p in runs.rglob("*.parquet")}
    assert sorted(after) == sorted(before)
    for p, table in before.items():  # repr: NaN (a run without network check) equals NaN
        assert after[p].schema == table.schema, p
        assert repr(after[p].to_pylist()) == repr(table.to_pylist()), p
    for p, text in logs.items():
        if p.parent.name == "influx_metrics":  # ports, pids, temp folders differ: the gist
            assert "stopped" in p.read_text() and "timings (s):" in p.read_text()
        else:
            assert _without_times(p.read_text()) == _without_times(text), p


@pytest.mark.parametrize(("rule", "allowed"), [
    # the logs job without its messages part, whose code uses no numpy, not even numpy
    # (which pyarrow would import)
    ("run_logs", set()),
    # the InfluxDB job reads its query files (yaml) and sorts the export with numpy
    ("influx_metrics", {"yaml", "numpy"}),
])
def test_a_job_imports_neither_snakemake_nor_pandas(one_run_workflow: Path, rule: str,
                                                     allowed: set[str]) -> None:
    """The point of the plain program: no Snakemake preamble, no pandas (0.3 s each),
    no jsonschema (the workflow validated the config: config.trust_validated)."""
    cmd = next(iter(recorded_commands(one_run_workflow)[rule]))
    argv = shlex.split(cmd)[2:]
    spec = json.loads(argv[1])
    for key in ("messages", "timeline", "per_message"):
        spec["output"].pop(key, None)
    argv[1] = json.dumps(spec)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "from ombt_postmortem.workflow_support.jobs import main; "
            "rc = main(sys.argv[2:]); print(json.dumps(sorted({m.split('.')[0] for m in "
            "sys.modules} & {'snakemake', 'pandas', 'yaml', 'numpy', 'jsonschema'}))); "
            "sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", "import json; " + code, str(REPO / "src"),
                           *argv], cwd=one_run_workflow, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert set(json.loads(proc.stdout.strip().splitlines()[-1])) <= allowed


def _spec(**changes: object) -> str:
    spec: dict[str, object] = {
        "run_id": "r1", "strict": False, "folder": "", "folder_problem": "",
        "run_params_sha256": "0" * 64,
        "input": {"controller_logs": [], "netcheck": [], "agent_logs": []},
        "output": {"ombt": "o/s.parquet", "agents": "o/a.parquet", "hist": "o/h.parquet"},
    }
    spec.update(changes)
    return json.dumps({k: v for k, v in spec.items() if v is not None})


@pytest.mark.parametrize(("spec", "message"), [
    ("{not json", "job run_logs: the spec is not JSON"),
    ("[1, 2]", "job run_logs: the spec is a JSON object, not list"),
    (_spec(run_id=None), "job run_logs: spec lacks 'run_id'"),
    (_spec(colour="red"), "job run_logs of run r1: spec has unknown key(s) 'colour'"),
    (_spec(output={"ombt": "s", "agents": "a"}),
     "job run_logs of run r1: spec's 'output' lacks 'hist'"),
    (_spec(input={"controller_logs": "a.log", "netcheck": [], "agent_logs": []}),
     "job run_logs of run r1: spec key 'input.controller_logs' is a list of paths"),
    (_spec(strict="yes"), "job run_logs of run r1: spec key 'strict' is true or false"),
    ("@/nonexistent/spec.json", "job run_logs: cannot read the spec file"),
])
def test_a_bad_spec_is_a_clear_error(tmp_path: Path, spec: str, message: str) -> None:
    proc = job("run_logs", spec, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()  # nothing written


def test_influx_metrics_needs_the_job_memory(tmp_path: Path) -> None:
    spec = {"run_id": "r1", "strict": False,
            "input": {"controller_logs": [], "agent_logs": [], "tar": []},
            "output": {"metrics": "m.parquet"}, "influx": {}, "base_dir": str(REPO),
            "overhead_mb": 512}
    proc = job("influx_metrics", json.dumps(spec), cwd=tmp_path)
    assert proc.returncode == 2 and "job influx_metrics of run r1: --mem-mb is required" \
        in proc.stderr, proc.stderr


def test_a_spec_file_is_the_same_job(tmp_path: Path) -> None:
    """``@FILE``: the spec read from a file (for a spec too long for a command line)."""
    run = EXAMPLE / run_ids()[0]
    logs = sorted(str(p) for p in run.glob("*_controller-*.log")
                  if not p.name.endswith("_docker.log"))
    out = {k: str(tmp_path / f"{k}.parquet") for k in ("ombt", "agents", "hist")}
    spec = _spec(run_id=run_ids()[0], folder=str(run), output=out,
                 input={"controller_logs": logs, "netcheck": [], "agent_logs": []})
    (tmp_path / "spec.json").write_text(spec)
    assert job("run_logs", f"@{tmp_path / 'spec.json'}").returncode == 0
    first = {k: pq.read_table(v) for k, v in out.items()}
    assert job("run_logs", spec).returncode == 0
    for k, v in out.items():  # repr: NaN (no network check in the example) equals NaN
        assert repr(pq.read_table(v).to_pylist()) == repr(first[k].to_pylist())
    summary = first["ombt"].to_pylist()[0]
    assert summary["run_id"] == run_ids()[0] and summary["status"] == "ok"


def test_a_strict_job_fails_on_a_data_fault(tmp_path: Path) -> None:
    """strict: true and a run without controller file: the job writes its tables
    (the run is failed with the reason) and exits non-zero, naming the run."""
    out = {k: str(tmp_path / f"{k}.parquet") for k in ("ombt", "agents", "hist")}
    proc = job("run_logs", _spec(run_id="r9", strict=True, output=out,
                                 folder_problem="run r9 (r9): run folder missing"))
    assert proc.returncode != 0
    assert "strict mode: run r9 has data faults" in proc.stderr, proc.stderr
    row = pq.read_table(out["ombt"]).to_pylist()[0]
    assert row["run_id"] == "r9" and row["status"] != "ok"


def test_a_long_input_list_is_given_relative_to_its_folder() -> None:
    """A run of 300 agents: its logs relative to the run folder, the same paths back."""
    from ombt_postmortem.workflow_support.jobspec import (
        COMPACT_INPUTS_OVER,
        LogsJob,
        compact_inputs,
    )

    folder = "/data/campaign/" + "run-with-a-long-name-" * 8
    logs = [f"{folder}/agent-{i}-5f82c2d9-cfeb-4fa3-a1d7-d982f8bd1045-0.log" for i in range(300)]
    plain = json.dumps({"logs": logs})
    assert len(plain) > COMPACT_INPUTS_OVER
    compact = compact_inputs({"logs": logs})
    assert compact["input_dir"] == folder
    assert compact["input"]["logs"][0] == "agent-0-5f82c2d9-cfeb-4fa3-a1d7-d982f8bd1045-0.log"
    assert len(json.dumps(compact)) < len(plain) / 2
    spec = LogsJob.from_dict(json.loads(_spec(input_dir=compact["input_dir"], input={
        "controller_logs": [], "netcheck": [], "agent_logs": compact["input"]["logs"]})))
    assert spec.agent_logs == logs
    few = logs[:3]  # short: as they are
    assert compact_inputs({"logs": few}) == {"input": {"logs": few}}


def test_a_job_given_relative_inputs_writes_the_same_tables(tmp_path: Path) -> None:
    run_id = run_ids()[0]
    folder = EXAMPLE / run_id
    names = sorted(p.name for p in folder.glob("*.log") if "_controller-" not in p.name)
    assert len(names) >= 2

    def spec(out: Path, logs: list[str], **more: object) -> str:
        return _spec(run_id=run_id, **more,
                     input={"controller_logs": [], "netcheck": [], "agent_logs": logs},
                     output={k: str(out / f"{k}.parquet")
                             for k in ("ombt", "agents", "hist", "messages", "timeline")})

    a, b = tmp_path / "a", tmp_path / "b"
    assert job("run_logs", spec(a, [str(folder / n) for n in names])).returncode == 0
    assert job("run_logs", spec(b, names, input_dir=str(folder))).returncode == 0
    for name in ("messages.parquet", "timeline.parquet"):
        assert pq.read_table(b / name).equals(pq.read_table(a / name))
    assert pq.read_table(a / "messages.parquet").to_pylist()[0]["msg_sent"] > 0
