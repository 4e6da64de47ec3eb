"""Read and validate a campaign's ``params.json`` (one dict per run)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from functools import cached_property
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

    @cached_property
    def params_digest(self) -> str:
        """SHA-256 of the run's params.json entry as JSON with sorted keys: what changes
        when, and only when, a value of the entry changes (not its key order); a short
        stand-in for the entry where its size must not matter (a job's command line)."""
        text = json.dumps(self.params, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode("ascii")).hexdigest()


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
    repeated: list[tuple[dict[str, Any], str]] = []  # (object, key) of each repeated key
    try:
        data = json.loads(text, object_pairs_hook=_noting_repeats(repeated))
    except json.JSONDecodeError as exc:
        raise CampaignError(f"{path}: not valid JSON: {exc}") from None
    except RecursionError:
        raise CampaignError(f"{path}: nested too deeply to be read (lists or objects "
                            f"inside one another, deeper than Python's recursion limit, "
                            f"{sys.getrecursionlimit()}); a params.json is a list of flat "
                            "objects") from None
    if repeated:
        raise CampaignError(_repeated_key(data, repeated, path))
    return validate_params(data, path)


def _noting_repeats(found: list[tuple[dict[str, Any], str]]) -> Any:
    """json's object_pairs_hook: the object as json makes it (the last value of a
    repeated key wins), each repeated key noted in ``found``."""

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            for k, _ in pairs:
                if k in seen:
                    found.append((obj, k))
                    break
                seen.add(k)
        return obj

    return hook


def _repeated_key(data: Any, found: list[tuple[dict[str, Any], str]], path: Path) -> str:
    """The message naming the entry (and its backup_dir) holding the first repeated key.

    JSON keeps the last value of a repeated key, silently: a run would be analysed
    with one of two values its author wrote, so the campaign is refused."""
    obj, key = found[0]
    where = "an object"
    if isinstance(data, list):
        for i, entry in enumerate(data):
            if _holds(entry, obj):
                bd = entry.get("backup_dir") if isinstance(entry, dict) else None
                where = f"entry {i}" + (f" (backup_dir {bd!r})" if isinstance(bd, str) else "")
                break
    return (f"{path}: {where} holds key {key!r} twice (JSON would keep the last value "
            f"only); keep one")


def _holds(value: Any, target: dict[str, Any]) -> bool:
    """``target`` is ``value`` or inside it (iterative: any depth json could read)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if v is target:
            return True
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


def validate_params(data: Any, path: Path | str) -> list[Run]:
    """Check the structure of a parsed params.json and return its runs."""
    if not isinstance(data, list):
        raise CampaignError(f"{path}: expected a JSON list of run objects, got "
                            f"{type(data).__name__}")
    runs: list[Run] = []
    seen: dict[str, int] = {}
    folders: dict[str, int] = {}
    keys: dict[str, int] = {}
    campaign = os.path.realpath(os.path.dirname(os.path.abspath(path)))
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
        # one folder under two spellings ("run1", "run1/", "./run1", "run1//", a symlink
        # to it) would be analysed twice, as two runs of the same data
        # (a name with NUL is no folder: run_folder refuses that run alone)
        folder = _resolved(campaign, bd) if "\x00" not in bd else f"\x00{i}"
        if folder in folders:
            j = folders[folder]
            raise CampaignError(f"{path}: entries {j} and {i} name the same folder: "
                                f"backup_dir {data[j]['backup_dir']!r} and {bd!r} are both "
                                f"{folder}")
        folders[folder] = i
        key = run_key(bd)
        if key in keys:  # only possible through a hash collision of sanitised names
            raise CampaignError(f"{path}: entries {keys[key]} and {i} map to the same "
                                f"run folder name {key!r}")
        keys[key] = i
        runs.append(Run(run_id=bd, key=key, params=dict(entry)))
    return runs


def _resolved(campaign: str, backup_dir: str) -> str:
    """The folder ``backup_dir`` names under the (resolved) ``campaign`` folder, resolved:
    one lstat for a plain name that is no symlink (10 000 runs: 15 ms, not 130)."""
    folder = os.path.normpath(os.path.join(campaign, backup_dir))
    if os.path.dirname(folder) == campaign and not os.path.islink(folder):
        return folder
    return os.path.realpath(folder)


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
