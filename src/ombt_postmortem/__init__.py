"""ombt-postmortem: post-mortem analysis of ombt benchmark campaigns."""

__version__ = "0.1.0"
