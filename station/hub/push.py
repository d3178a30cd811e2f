"""Push a dataset to the Hugging Face Hub so LeRobot (and other stations) can load it by its repo id.

The upload is a series of commits of bounded size: videos, then data, then the episode tables, and last the
small metadata files (info.json, stats.json, tasks.parquet), the dataset card and the removal of files the
dataset no longer has (after a pack). A push stopped half-way (network, server error, kill) leaves whole
commits behind; run again, huggingface_hub's pre-upload finds the files already there with the same content
and skips them, so it continues where it stopped. When everything is up, the branch head is tagged with the
codebase version ("v3.0"), which is how LeRobot finds a dataset on the Hub (as its push_to_hub does).

Nothing local is written: only the dataset folders (meta/, data/, videos/) are read; the spool and the rest of
`.station/` never leave the machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from station.dataset.features import CODEBASE_VERSION
from station.dataset.pack import dataset_files
from station.dataset.reader import load_info, load_tasks
from station.errors import DatasetError
from station.hub.card import dataset_card

REPO_TYPE = "dataset"
DATASET_FOLDERS = ("meta", "data", "videos")
FILES_PER_COMMIT = 100
BYTES_PER_COMMIT = 2 * 1024**3

Progress = Callable[[int, int, int, int], None]  # files done, files, bytes done, bytes


@dataclass
class PushResult:
    repo_id: str
    revision: str
    commits: int
    files: int
    bytes: int
    seconds: float
    deleted: int
    url: str

    def summary(self) -> str:
        mb = self.bytes / 1e6
        rate = mb / self.seconds if self.seconds > 0 else 0.0
        gone = f", {self.deleted} old file(s) removed" if self.deleted else ""
        return (
            f"pushed {self.files} files ({mb:.1f} MB) to {self.repo_id} ({self.revision}) in {self.seconds:.1f} s "
            f"({rate:.1f} MB/s){gone}; tagged {CODEBASE_VERSION}: {self.url}"
        )


def _is_final(rel: str) -> bool:
    """The small metadata files committed last: info.json, stats.json, tasks.parquet."""
    return rel.startswith("meta/") and rel.count("/") == 1


def _order(rel: str) -> tuple[int, str]:
    return ({"videos": 0, "data": 1, "meta": 2}.get(rel.split("/", 1)[0], 3), rel)


def plan_batches(files: list[tuple[str, int]], max_files: int, max_bytes: int) -> list[list[tuple[str, int]]]:
    """Split (path, size) into commits of at most max_files files and about max_bytes bytes (one big file
    alone may pass it), in upload order."""
    batches: list[list[tuple[str, int]]] = []
    size = 0
    for rel, nbytes in sorted(files, key=lambda f: _order(f[0])):
        if not batches or len(batches[-1]) >= max_files or (batches[-1] and size + nbytes > max_bytes):
            batches.append([])
            size = 0
        batches[-1].append((rel, nbytes))
        size += nbytes
    return batches


def push_dataset(
    root: Path,
    repo_id: str,
    token: str,
    private: bool = False,
    branch: str | None = None,
    endpoint: str | None = None,
    max_files: int = FILES_PER_COMMIT,
    max_bytes: int = BYTES_PER_COMMIT,
    on_progress: Progress | None = None,
) -> PushResult:
    """Upload the dataset at `root` to `repo_id` (see the module docstring). Raises huggingface_hub's errors
    (the caller turns them into one line) and DatasetError for a folder that is not a dataset."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.hf_api import RepoFile
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()  # progress is reported through on_progress, per commit

    started = time.monotonic()
    progress = on_progress or (lambda _f, _n, _b, _t: None)
    root = Path(root)
    info = load_info(root)
    tasks = load_tasks(root) if (root / "meta" / "tasks.parquet").exists() else []
    local = {p.relative_to(root).as_posix(): p for p in dataset_files(root)}
    if not local:
        raise DatasetError(f"{root} holds no dataset files to push")
    sizes = {rel: p.stat().st_size for rel, p in local.items()}
    total_bytes = sum(sizes.values())
    revision = branch or "main"

    api = HfApi(endpoint=endpoint, token=token)
    url = str(api.create_repo(repo_id, repo_type=REPO_TYPE, private=private, exist_ok=True))
    if branch:
        api.create_branch(repo_id, branch=branch, repo_type=REPO_TYPE, exist_ok=True)
    remote = [
        f.path
        for f in api.list_repo_tree(repo_id, repo_type=REPO_TYPE, revision=revision, recursive=True)
        if isinstance(f, RepoFile)
    ]
    stale = sorted(p for p in remote if p.split("/", 1)[0] in DATASET_FOLDERS and p not in local)

    bulk = [(rel, size) for rel, size in sizes.items() if not _is_final(rel)]
    final = sorted(rel for rel in sizes if _is_final(rel))
    batches = plan_batches(bulk, max_files, max_bytes)
    done_files = done_bytes = commits = 0
    progress(0, len(local), 0, total_bytes)
    for i, batch in enumerate(batches):
        api.create_commit(
            repo_id,
            repo_type=REPO_TYPE,
            revision=revision,
            operations=[CommitOperationAdd(path_in_repo=rel, path_or_fileobj=str(local[rel])) for rel, _ in batch],
            commit_message=f"Upload dataset files (part {i + 1} of {len(batches)})",
        )
        commits += 1
        done_files += len(batch)
        done_bytes += sum(size for _, size in batch)
        progress(done_files, len(local), done_bytes, total_bytes)

    card = dataset_card(info, tasks, repo_id).encode("utf-8")
    operations: list[Any] = [CommitOperationAdd(path_in_repo=rel, path_or_fileobj=str(local[rel])) for rel in final]
    operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card))
    operations.extend(CommitOperationDelete(path_in_repo=rel) for rel in stale)
    api.create_commit(
        repo_id,
        repo_type=REPO_TYPE,
        revision=revision,
        operations=operations,
        commit_message=f"Dataset metadata: {info['total_episodes']} episodes, {info['total_frames']} frames",
    )
    commits += 1
    progress(len(local), len(local), total_bytes, total_bytes)

    # As LeRobot's push_to_hub: the codebase version tag moves to the pushed head.
    try:
        api.delete_tag(repo_id, tag=CODEBASE_VERSION, repo_type=REPO_TYPE)
    except HfHubHTTPError as e:
        if e.response is None or e.response.status_code != 404:
            raise
    api.create_tag(repo_id, tag=CODEBASE_VERSION, revision=revision, repo_type=REPO_TYPE)
    return PushResult(
        repo_id=repo_id,
        revision=revision,
        commits=commits,
        files=len(local),
        bytes=total_bytes,
        seconds=time.monotonic() - started,
        deleted=len(stale),
        url=url,
    )
