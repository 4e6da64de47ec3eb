"""The report's label columns of a figure and what the figure jobs read instead of job
parameters (issue 22, item 7)."""

from __future__ import annotations

import pytest

from ombt_postmortem import campaign
from ombt_postmortem.labels import capped
from ombt_postmortem.reportspec import (
    PARAM_COLUMNS,
    figure_params,
    files_by_run,
    report_labels,
)


def test_a_name_of_parameters_is_one_column_per_parameter_in_order() -> None:
    got = report_labels("nbr_clients=4__nbr_servers=2__call_type=rpc-call")
    assert list(got.items()) == [("nbr_clients", "4"), ("nbr_servers", "2"),
                                 ("call_type", "rpc-call")]
    assert report_labels("driver=broker__side=client") == {"driver": "broker",
                                                           "side": "client"}
    assert report_labels("call_type=rpc-call") == {"call_type": "rpc-call"}


@pytest.mark.parametrize("name", [
    "call_type__rpc-call-driver__broker-nbr_clients__1",  # a run folder (labels clash)
    "nbr_clients=1__oops",  # a part without =
    "=1__b=2",  # no key
    "a=1__a=2",  # one key twice
    capped("__".join(f"param_{i}=value_{i}" for i in range(12))),  # cut, with a hash
])
def test_any_other_name_is_one_figure_column(name: str) -> None:
    assert report_labels(name) == {"figure": name}


def test_figure_params_are_the_tables_parameter_columns_but_backup_dir() -> None:
    assert PARAM_COLUMNS == campaign.PARAM_COLUMNS
    attrs = {PARAM_COLUMNS: ["nbr_clients", "param_status", "backup_dir", "driver"]}
    assert figure_params(attrs) == ["nbr_clients", "param_status", "driver"]
    with pytest.raises(ValueError, match="older ombt-postmortem"):
        figure_params({})


def test_files_by_run_match_the_run_folder() -> None:
    paths = ["r/c/runs/b/latency_hist.parquet", "r/c/runs/a/latency_hist.parquet"]
    assert files_by_run(["a", "b", "missing"], paths) == {"a": paths[1], "b": paths[0]}
    # an unsafe run id has a slug folder (layout.run_key), matched all the same
    from ombt_postmortem.layout import run_key
    odd = "x/../y z"
    p = f"r/c/runs/{run_key(odd)}/timeline.parquet"
    assert files_by_run([odd], [p]) == {odd: p}
    with pytest.raises(ValueError, match="no run of the table"):
        files_by_run(["a"], paths)
