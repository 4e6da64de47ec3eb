"""The campaign notebook, executed (rule campaign_notebook, ``notebook.enabled``).

Snakemake's ``notebook:`` directive (9.x) first runs ``papermill --version`` through
the shell to choose its engine, and without papermill that prints ``papermill: command
not found`` on the console of every successful run. The notebook is run here
instead, with the same engine as the directive's fallback (nbclient, under nbconvert):
a first cell (tagged :data:`PARAMETERS_TAG`) sets ``RESULTS``, the campaign's results
folder; every cell then runs in a fresh ``python3`` kernel (ipykernel, this Python: the
library is imported as installed), and the executed notebook, outputs included, is
written to ``out``. Opened in Jupyter, it runs again as it is.
"""

from __future__ import annotations

from pathlib import Path

#: the tag of the cell inserted first (papermill's name for the same thing)
PARAMETERS_TAG = "injected-parameters"


def parameters_source(results: Path) -> str:
    """The inserted cell: ``RESULTS``."""
    return ("# inserted by the workflow (ombt_postmortem.workflow_support.notebook_run)\n"
            f"RESULTS = {str(results)!r}\n")


def execute_notebook(template: Path, out: Path, results: Path,
                     kernel_log: Path | None = None, timeout: int | None = None) -> None:
    """Run ``template`` on the campaign results in ``results``; write it to ``out``.
    A failing cell raises (nbclient's ``CellExecutionError``, which quotes it) after
    the notebook, run up to that cell, is written. The kernel's own stdout/stderr
    (e.g. ipykernel's warning about TCP without encryption) go to ``kernel_log``
    (appended), not to the console."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(template, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        parameters_source(results.resolve()),
        metadata={"tags": [PARAMETERS_TAG]}))
    client = NotebookClient(nb, timeout=timeout, resources={"metadata": {"path": str(out.parent)}})
    try:
        if kernel_log is None:
            client.execute()
        else:
            with kernel_log.open("a", encoding="utf-8") as f:
                client.execute(stdout=f, stderr=f)
    finally:
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out)
