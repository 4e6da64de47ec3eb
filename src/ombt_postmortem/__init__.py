"""ombt-postmortem: post-mortem analysis of ombt benchmark campaigns.

What is public, and kept stable:

- :mod:`ombt_postmortem.results`: the results read back (``open_campaign``), every
  figure kind redrawn into your own Axes;
- :mod:`ombt_postmortem.synth`: synthetic campaigns in the real on-disk format;
- :mod:`ombt_postmortem.compare`: two campaigns compared run by run;
- :mod:`ombt_postmortem.errors`: the errors all of them raise;
- the ``ombt-postmortem`` command (:mod:`ombt_postmortem.cli`).

Everything else is the workflow's machinery, private to it: the domain stages
(``ombt``, ``messages``, ``influx``, ``campaign``, ``figures``) and the support the
Snakemake rules need (``workflow_support``). This module imports nothing: the per-run
jobs import the package and must stay light.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
