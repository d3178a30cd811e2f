"""Finding takes that were recorded but never committed (a crash, a kill, quitting anyway) and saving them.

Complete spools (with done.json) are re-queued in recording order. A spool without done.json is the take
that was being recorded when the process died: it is dropped unless the operator chooses to keep it, in
which case it is sealed with the frames that reached the disk whole.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from station.dataset.fsutil import write_json_atomic
from station.dataset.reader import DatasetReader
from station.saving.job import COMMIT_STAMP
from station.saving.spool import (
    RESERVE_NAME,
    CadenceReport,
    SpoolReader,
    empty_trash,
    find_spools,
    remove_spool,
)

if TYPE_CHECKING:
    from station.dataset.writer import DatasetWriter
    from station.saving.queue import SaveJob, SaveQueue

MIN_KEEP_FRAMES = 1



def already_committed(writer: DatasetWriter, path: Path) -> int | None:
    """The episode a spool was committed as, if the crash came after its commit but before its removal."""
    try:
        stamp = json.loads((path / COMMIT_STAMP).read_text())
    except (OSError, ValueError):
        return None
    index = int(stamp["episode_index"])
    if writer.total_episodes <= index:
        return None
    row = DatasetReader(writer.root).episodes()[index]
    if row["dataset_from_index"] == stamp["dataset_from_index"] and row["length"] == stamp["length"]:
        return index
    return None


def take_mismatch(writer: DatasetWriter, path: Path) -> str | None:
    """Why the take in spool `path` does not belong in this dataset (fps, robot, joints, cameras and their
    sizes), or None. A spool is not trusted: one from another session or station is refused, never mixed in."""
    from station.dataset.spec import DatasetSpec
    from station.dataset.writer import compatibility_problem

    try:
        info = SpoolReader(path).info
        spec = DatasetSpec(fps=int(info.fps), cameras=tuple(info.cameras), robot_type=str(info.robot_type),
                           joint_names=tuple(info.joint_names), video=writer.spec.video)
    except (ValueError, TypeError) as e:
        return str(e)
    problem = compatibility_problem(writer.info, spec, what="the take")
    return f"it does not belong in this dataset ({problem})" if problem else None


def held_partial_takes(queue: SaveQueue) -> list[SaveJob]:
    """Recovered takes cut short by a crash that wait for the operator's keep-or-drop."""
    return [j for j in queue.jobs if j.held and j.pending]


def seal_partial(path: Path) -> int:
    """Make a crash-cut take a complete spool of the frames it has; returns that frame count."""
    spool = SpoolReader(path)
    frames = spool.frames
    t = spool.rows["t"]
    cadence = CadenceReport(
        fps=spool.info.fps, ticks=frames, repeated_frames={c.name: 0 for c in spool.info.cameras},
        stalled_cameras=[], first_tick=float(t[0]) if frames else 0.0, last_tick=float(t[-1]) if frames else 0.0,
        interrupted="the station stopped before the take ended (a crash or power cut)",  # flags it cut short
    )
    (path / RESERVE_NAME).unlink(missing_ok=True)  # the room the spool set aside for done.json
    write_json_atomic(path / "done.json", {"frames": frames, "cadence": asdict(cadence), "recovered": True})
    return frames


def sealed_after_a_crash(path: Path) -> bool:
    """A crash-cut take made complete by seal_partial: kept or dropped only once the operator says so (a
    crash before their answer leaves it sealed, and the next start asks again)."""
    try:
        return bool(json.loads((path / "done.json").read_text(encoding="utf-8")).get("recovered"))
    except (OSError, ValueError, AttributeError):
        return False


def recover_into_queue(
    writer: DatasetWriter, queue: SaveQueue, keep_partial: bool = False, hold_partial: bool = False
) -> list[str]:
    """Repair the dataset, queue every complete spool, drop (or keep) partial ones. Returns what it did.

    With hold_partial, a kept partial take is queued held: prepared, but committed only once the operator
    confirms it (queue.confirm) or dropped if they say so (queue.cancel); see `held_partial_takes`.
    """
    said = [f"repaired: {line}" for line in writer.repair()]
    empty_trash(writer.root)  # spools whose deletion a crash cut short: never takes any more
    complete, partial = find_spools(writer.root)
    held: set[Path] = set()
    for path in partial:
        try:
            frames = SpoolReader(path).frames
        except ValueError as e:
            rows = path / "rows.bin"
            if rows.exists() and rows.stat().st_size > 0:  # something was recorded: never delete it unread
                said.append(f"could not recover {path.name} (cut short by a crash): {e}; its spool is kept")
                continue
            frames = 0
        if frames == 0:  # nothing of a take reached it (the spool opened for the next take): not worth a word
            shutil.rmtree(path, ignore_errors=True)
            continue
        if keep_partial and frames >= MIN_KEEP_FRAMES:
            seal_partial(path)
            complete.append(path)
            if hold_partial:
                held.add(path)
            said.append(f"kept the take cut short in {path.name}: {frames} frames")
        else:
            remove_spool(path)
            said.append(f"dropped the take cut short in {path.name} ({frames} frames)")
    for path in sorted(complete, key=lambda p: p.name):
        committed = already_committed(writer, path)
        if committed is not None:
            remove_spool(path)
            said.append(f"take {path.name} was already saved as episode {committed}: removed its spool")
            continue
        mismatch = take_mismatch(writer, path)
        if mismatch:
            said.append(f"could not recover {path.name}: {mismatch}; its spool is kept")
            continue
        (path / COMMIT_STAMP).unlink(missing_ok=True)
        shutil.rmtree(path / "out", ignore_errors=True)  # half-encoded videos from before the crash
        if hold_partial and sealed_after_a_crash(path):  # asked about before, not answered: asked again
            held.add(path)
        try:
            job = queue.submit(path, held=path in held)
        except ValueError as e:
            said.append(f"could not recover {path.name}: {e}")
            continue
        episode = queue.expected_episode(job)
        said.append(f"recovering take {path.name}: {job.frames} frames, queued as episode {episode}")
    return said
