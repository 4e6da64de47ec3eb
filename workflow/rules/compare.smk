# Stage 4, optional (config `compare:`): two campaigns compared run by run, and per
# campaign the runs' exact latency distributions as HdrHistogram .hgrm files
# (compare.hgrm).
# The logic is in ombt_postmortem.compare; see docs/compare.md.
import dataclasses
import functools

from ombt_postmortem import compare_spec

COMPARE = config["compare"]
try:
    COMPARE_SIDES = compare_spec.resolve_sides(COMPARE, CAMPAIGNS, RESULTS)
except ValueError as exc:
    raise WorkflowError(f"config {exc}") from None
COMPARE_DIR = compare_spec.comparison_dir(RESULTS, COMPARE_SIDES) if COMPARE_SIDES else None

# The hook of `rule all`: the comparison's files and the campaigns' .hgrm folders.
compare_outputs = functools.partial(
    compare_spec.outputs,
    RESULTS,
    COMPARE_SIDES,
    COMPARE["hgrm"],
    CAMPAIGNS,
    FIG.format,
)
declare_targets(compare_outputs)


if COMPARE_SIDES:

    rule compare_campaigns:
        input:
            baseline=f"{COMPARE_SIDES[0].results}/{layout.CAMPAIGN_PARQUET}",
            candidate=f"{COMPARE_SIDES[1].results}/{layout.CAMPAIGN_PARQUET}",
        output:
            deltas=f"{COMPARE_DIR}/deltas.parquet",
            csv=report(
                f"{COMPARE_DIR}/deltas.csv",
                caption="../report/compare.rst",
                category="campaign comparison",
                labels={"figure": "run-by-run deltas (table)"},
            ),
            unmatched=f"{COMPARE_DIR}/unmatched.csv",
            notes=f"{COMPARE_DIR}/notes.txt",
            forest=report(
                f"{COMPARE_DIR}/forest.{FIG.format}",
                caption="../report/compare.rst",
                category="campaign comparison",
                labels={"figure": "run-by-run deltas (forest plot)"},
            ),
        params:
            options=COMPARE,
            baseline=dataclasses.asdict(COMPARE_SIDES[0]),
            candidate=dataclasses.asdict(COMPARE_SIDES[1]),
            dpi=FIG.dpi,
            fmt=FIG.format,
        log:
            f"{COMPARE_DIR}/logs/compare.log",
        resources:
            mem_mb=2048,
            runtime=60,
        conda:
            "../envs/ombt-postmortem.yaml"
        script:
            "../scripts/compare.py"


if COMPARE["hgrm"]:

    rule latency_hgrm:
        input:
            table=campaign_output(layout.CAMPAIGN_PARQUET),
        output:
            directory(campaign_output(layout.HGRM_DIR)),
        params:
            folder=lambda wc: str(CAMPAIGNS[wc.campaign]),
        log:
            f"{RESULTS}/{{campaign}}/logs/latency_hgrm.log",
        resources:
            mem_mb=2048,
            runtime=60,
        conda:
            "../envs/ombt-postmortem.yaml"
        script:
            "../scripts/latency_hgrm.py"
