"""What a dataset folder holds, and whether this station can add to it as connected. Qt-free.

File > Open shows this before switching, so an incompatible dataset never costs the working session: the
verdict is the writer's own rule (`compatibility_problem`), asked with the session the station would open.
When only camera names differ, a mapping of the dataset's names onto the connected cameras is proposed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from station.config import default_root
from station.dataset.reader import load_info, load_tasks, spec_from_info
from station.dataset.repo_id import folder_repo_id, repo_id_problem, stored_repo_id
from station.dataset.spec import CameraSpec, DatasetSpec
from station.dataset.writer import compatibility_problem, is_empty_but_for_leftovers
from station.errors import StationError
from station.saving.recovery import find_spools

VCODEC_OF_ENCODER = {"libsvtav1": "libsvtav1", "libx264": "h264"}
CODEC_WORDS = {"libsvtav1": "AV1 (as LeRobot)", "libx264": "H.264"}


@dataclass(frozen=True)
class DatasetSummary:
    root: Path
    repo_id: str
    spec: DatasetSpec
    episodes: int
    frames: int
    tasks: tuple[str, ...]
    unsaved_takes: int  # takes a crash or a quit left on disk, saved when the dataset is opened

    @property
    def vcodec(self) -> str:
        """The --vcodec value that records more episodes like these."""
        return VCODEC_OF_ENCODER.get(self.spec.video.codec, "libsvtav1")


def dataset_repo_id(root: Path, remembered: str | None = None) -> str:
    """The dataset's own name: the one it was created under, else the one the window last used for this folder,
    else the Hugging Face layout ($HF_LEROBOT_HOME/user/name), else `local/<folder>`."""
    stored = stored_repo_id(root)
    if stored is not None:
        return stored
    if remembered and repo_id_problem(remembered) is None:
        return remembered
    candidate = f"{root.parent.name}/{root.name}"
    if repo_id_problem(candidate) is None and default_root(candidate).resolve() == root.resolve():
        return candidate
    return folder_repo_id(root.name)


def read_summary(root: Path, remembered_repo_id: str | None = None) -> DatasetSummary:
    """Raises StationError (in words) when the folder is not a dataset this station can read."""
    info = load_info(root)
    spec = spec_from_info(info)
    try:
        tasks = tuple(load_tasks(root))
    except (OSError, StationError, KeyError):
        tasks = ()
    complete, partial = find_spools(root)
    return DatasetSummary(
        root=root, repo_id=dataset_repo_id(root, remembered_repo_id), spec=spec,
        episodes=int(info.get("total_episodes", 0)), frames=int(info.get("total_frames", 0)), tasks=tasks,
        unsaved_takes=len(complete) + len(partial),
    )


def camera_words(cameras: tuple[CameraSpec, ...] | list[CameraSpec]) -> str:
    return ", ".join(f"{c.name} {c.width}x{c.height}" for c in cameras) or "none"


def summary_lines(s: DatasetSummary) -> list[tuple[str, str]]:
    """(label, value) rows for the dialog."""
    duration = s.frames / s.spec.fps if s.spec.fps else 0.0
    rows = [
        ("Name", s.repo_id),
        ("Folder", str(s.root)),
        ("Episodes", f"{s.episodes} ({s.frames} frames, {duration / 60:.1f} min)"),
        ("Tasks", "; ".join(s.tasks[:4]) + (f" and {len(s.tasks) - 4} more" if len(s.tasks) > 4 else "")
         if s.tasks else "none yet"),
        ("Rate", f"{s.spec.fps} fps"),
        ("Cameras", camera_words(s.spec.cameras)),
        ("Robot", f"{s.spec.robot_type} ({len(s.spec.joint_names)} joints)"),
        ("Video", CODEC_WORDS.get(s.spec.video.codec, s.spec.video.codec)),
    ]
    if s.unsaved_takes:
        n = s.unsaved_takes
        rows.append(("Unsaved", f"{n} take{'s' if n != 1 else ''} left unsaved by the last session: "
                                f"{'they are' if n != 1 else 'it is'} saved when the dataset opens"))
    return rows


def connected_spec(s: DatasetSummary, station: DatasetSpec) -> DatasetSpec:
    """What the station would record into this dataset with its connected devices: in the dataset's codec."""
    return replace(station, video=s.spec.video)


@dataclass(frozen=True)
class Verdict:
    problem: str | None  # None: the station can add episodes as connected
    mapping: dict[str, str] | None  # connected camera name -> dataset camera name, when a renaming fixes it
    differences: tuple[str, ...] = ()  # every difference found, in words (the problem names the first)


def differences(dataset: DatasetSpec, connected: DatasetSpec) -> list[str]:
    """What differs between the dataset and the station as connected, every item in words."""
    found = []
    if dataset.fps != connected.fps:
        found.append(f"rate: the dataset {dataset.fps} fps, the station {connected.fps} fps")
    if dataset.robot_type != connected.robot_type:
        found.append(f"robot: the dataset {dataset.robot_type}, the station {connected.robot_type}")
    if tuple(dataset.joint_names) != tuple(connected.joint_names):
        found.append("joints: the dataset " + ", ".join(dataset.joint_names) + "; the station "
                     + ", ".join(connected.joint_names))
    have = {c.name: c for c in dataset.cameras}
    want = {c.name: c for c in connected.cameras}
    if set(have) != set(want):
        found.append(f"cameras: the dataset {camera_words(dataset.cameras)}; connected "
                     f"{camera_words(connected.cameras)}")
    else:
        for n in sorted(have):
            a, b = have[n], want[n]
            if (a.width, a.height) != (b.width, b.height):
                found.append(f"camera {n}: the dataset {a.width}x{a.height}, connected {b.width}x{b.height}")
    return found


def verdict(s: DatasetSummary, connected: DatasetSpec) -> Verdict:
    """Whether the connected station can add to the dataset, and if only camera names differ, how to map them."""
    problem = compatibility_problem(_info_of(s), connected)
    if problem is None:
        return Verdict(None, None)
    found = tuple(differences(s.spec, connected))
    mapping = propose_mapping(s.spec.cameras, connected.cameras)
    if mapping is not None and mapping_problem(s, connected, mapping) is None:
        return Verdict(problem, mapping, found)
    return Verdict(problem, None, found)


def mapping_problem(s: DatasetSummary, connected: DatasetSpec, mapping: dict[str, str]) -> str | None:
    """Why recording the connected cameras under these dataset names would not fit the dataset, or None."""
    renamed = replace(connected, cameras=tuple(replace(c, name=mapping.get(c.name, c.name))
                                               for c in connected.cameras))
    return compatibility_problem(_info_of(s), renamed)


def propose_mapping(dataset: tuple[CameraSpec, ...], connected: tuple[CameraSpec, ...]) -> dict[str, str] | None:
    """Each connected camera onto a dataset camera of the same size (same names first), or None if impossible."""
    if len(dataset) != len(connected) or {c.name for c in dataset} == {c.name for c in connected}:
        return None
    free = list(dataset)
    mapping: dict[str, str] = {}
    for cam in sorted(connected, key=lambda c: c.name not in {d.name for d in dataset}):
        match = next((d for d in free if d.name == cam.name and (d.width, d.height) == (cam.width, cam.height)),
                     None) or next((d for d in free if (d.width, d.height) == (cam.width, cam.height)), None)
        if match is None:
            return None
        free.remove(match)
        mapping[cam.name] = match.name
    return mapping


def _info_of(s: DatasetSummary) -> dict:
    return load_info(s.root)



def new_dataset_problems(folder: str, repo_id: str, task: str) -> list[str]:
    """What stops File > New dataset, in words (empty: it can be created). The folder is created if missing."""
    problems = []
    text = folder.strip()
    if not text:
        problems.append("Choose a folder for the dataset.")
    else:
        root = Path(text).expanduser()
        if root.exists() and not root.is_dir():
            problems.append(f"{root} is a file, not a folder.")
        elif root.is_dir() and not is_empty_but_for_leftovers(root):  # an interrupted creation does not count
            what = "already holds a dataset: use File > Open to add to it" if (root / "meta" / "info.json").exists() \
                else "is not empty"
            problems.append(f"{root} {what}.")
        else:
            parent = next((p for p in (root, *root.parents) if p.exists()), Path("/"))
            if not os.access(parent, os.W_OK | os.X_OK):
                problems.append(f"Cannot create folders in {parent}.")
    problem = repo_id_problem(repo_id.strip())
    if problem:
        problems.append(f"Name: {problem}.")
    if not task.strip():
        problems.append("Say what the operator does in each take (the task).")
    return problems
