"""Per-message analysis of the ombt agents' own logs: no pandas, no Snakemake.

:func:`analyse_messages` reads a run folder's agent logs (found by their first
line, :func:`find_agent_logs`) and gives the summary row (``SUMMARY_SCHEMA``),
the per-second ``timeline`` (``TIMELINE_SCHEMA``) and optionally the
per-message table (``PER_MESSAGE_SCHEMA``); :func:`write_messages` writes them.
:func:`analyse_message_logs` does the same from a list of candidate files (what the
workflow's ``messages`` job is given as inputs).
"""

from .analyse import (
    PER_MESSAGE_SCHEMA,
    MessagesResult,
    analyse_message_logs,
    analyse_messages,
    write_messages,
)
from .discover import AgentLog, find_agent_logs, scan_agent_logs
from .summary import SUMMARY_SCHEMA
from .timeline import SCHEMA as TIMELINE_SCHEMA

__all__ = ["PER_MESSAGE_SCHEMA", "SUMMARY_SCHEMA", "TIMELINE_SCHEMA", "AgentLog",
           "MessagesResult", "analyse_message_logs", "analyse_messages", "find_agent_logs",
           "scan_agent_logs", "write_messages"]
