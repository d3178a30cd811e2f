"""The one rule for a dataset's name (repo id), asked by the command line, the writer and the window alike.

`user/name`, as the Hugging Face Hub accepts it: each part letters, digits, `-`, `_` or `.`, starting with a
letter or digit and not ending with `-` or `.`, without `--` or `..`, at most 96 characters.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from station.dataset.fsutil import write_json_atomic

_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_PART = 96


def repo_id_problem(repo_id: str) -> str | None:
    """None for a usable repo id, else one sentence saying what is wrong with it."""
    parts = repo_id.split("/")
    ok = len(parts) == 2 and all(
        _PART.match(part) and len(part) <= MAX_PART and not part.endswith(("-", "."))
        and "--" not in part and ".." not in part
        for part in parts
    )
    if ok:
        return None
    return (f"{repo_id!r} is not a dataset name of the form user/name (letters, digits, - _ .; "
            "each part starts with a letter or digit)")


def folder_repo_id(folder_name: str) -> str:
    """The repo id the window gives a dataset folder it creates or opens."""
    return f"local/{folder_name}"


def _name_file(root: Path) -> Path:
    return root / ".station" / "dataset.json"  # the station's own folder: never published, never pushed


def store_repo_id(root: Path, repo_id: str) -> None:
    """Keep the name a dataset was created under (LeRobot's files do not hold it), for whoever opens it later."""
    (root / ".station").mkdir(parents=True, exist_ok=True)
    write_json_atomic(_name_file(root), {"repo_id": repo_id})


def stored_repo_id(root: Path) -> str | None:
    """The name the dataset was created under, or None when it was not kept (or is unreadable or invalid)."""
    try:
        value = json.loads(_name_file(root).read_text()).get("repo_id")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and repo_id_problem(value) is None else None
