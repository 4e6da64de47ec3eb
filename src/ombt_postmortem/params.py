"""Read and validate a campaign's ``params.json`` (one dict per run)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CampaignError, RunDataError
from .layout import PARAMS_FILE, run_key


@dataclass(frozen=True)
class Run:
    """One run of a campaign, as params.json lists it."""

    run_id: str  # = backup_dir, verbatim
    key: str  # safe folder name under results/<campaign>/runs/
    params: dict[str, Any]


def load_params(campaign_dir: Path | str) -> list[Run]:
    """Read ``<campaign_dir>/params.json``; raise CampaignError naming the file and entry."""
    return load_params_file(Path(campaign_dir) / PARAMS_FILE)


def load_params_file(path: Path | str) -> list[Run]:
    """Read a campaign's params.json at ``path``; raise CampaignError naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CampaignError(f"{path}: file not found (a campaign folder holds params.json)") \
            from None
    except OSError as exc:
        raise CampaignError(f"{path}: cannot read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CampaignError(f"{path}: not valid JSON: {exc}") from None
    return validate_params(data, path)


def validate_params(data: Any, path: Path | str) -> list[Run]:
    """Check the structure of a parsed params.json and return its runs."""
    if not isinstance(data, list):
        raise CampaignError(f"{path}: expected a JSON list of run objects, got "
                            f"{type(data).__name__}")
    runs: list[Run] = []
    seen: dict[str, int] = {}
    keys: dict[str, int] = {}
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise CampaignError(f"{path}: entry {i} is {type(entry).__name__}, not an object")
        bd = entry.get("backup_dir")
        if not isinstance(bd, str) or not bd.strip():
            raise CampaignError(f"{path}: entry {i} has no non-empty string 'backup_dir': "
                                f"{_short(entry)}")
        if bd in seen:
            raise CampaignError(f"{path}: entry {i} repeats backup_dir {bd!r} of entry "
                                f"{seen[bd]}")
        seen[bd] = i
        key = run_key(bd)
        if key in keys:  # only possible through a hash collision of sanitised names
            raise CampaignError(f"{path}: entries {keys[key]} and {i} map to the same "
                                f"run folder name {key!r}")
        keys[key] = i
        runs.append(Run(run_id=bd, key=key, params=dict(entry)))
    return runs


def run_folder(campaign_dir: Path | str, run_id: str) -> Path:
    """The run's backup folder; raise RunDataError when ``backup_dir`` leads outside."""
    base = Path(campaign_dir).resolve()
    if "\x00" in run_id:
        raise RunDataError(run_id, None, f"backup_dir {run_id!r} cannot be a folder name "
                           "(NUL character); refused")
    folder = (base / run_id).resolve()
    if folder == base or base not in folder.parents:
        raise RunDataError(run_id, None, f"backup_dir {run_id!r} leads outside the campaign "
                           f"folder {base}; refused")
    return folder


def _short(obj: Any, limit: int = 120) -> str:
    text = json.dumps(obj, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
