"""Quality flags of a take: plain-words warnings computed from what the save job already holds.

No second pass over the video: the flags come from the joint rows (action = leader, state = follower), the
take's cadence report (repeated frames per camera, filled ticks, stalled cameras, why it ended early) and its
planned length.
Each flag has a stable name (stored in the episodes table's `station/flags`), a short badge and a sentence.

Thresholds are one dataclass with documented defaults. A dataset may override them in
`<root>/.station/quality.json` (a JSON object with any of the field names below); the save job and
`station check` both read that file, so the flags of a dataset are computed one way.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from station.errors import DatasetError
from station.thresholds import STALL_AFTER_S

THRESHOLDS_PATH = ".station/quality.json"

CAMERA_STALLED = "camera-stalled"
LOOP_BEHIND = "loop-behind"
TOO_SHORT = "too-short"
LEADER_STILL = "leader-still"
FOLLOWER_LAGGING = "follower-lagging"
JOINT_JUMP = "joint-jump"
CUT_SHORT = "cut-short"

# name -> (badge, what it means): the badge is shown in the queue panel and the episodes view, the
# sentence as its tooltip and by `station check`.
FLAG_WORDS: dict[str, tuple[str, str]] = {
    CAMERA_STALLED: ("camera stalled", "a camera repeated many of its frames: it froze, stalled or fell behind"),
    LOOP_BEHIND: ("fell behind", "the control loop missed ticks and filled them: the take's timing is uneven"),
    TOO_SHORT: ("too short", "the take is very short, or far shorter than the planned episode time"),
    LEADER_STILL: ("leader never moved", "the leader arm hardly moved during the take"),
    FOLLOWER_LAGGING: ("follower did not track", "the follower stayed far from the leader for a long time"),
    JOINT_JUMP: ("joint jump", "a joint moved faster than an arm can: a glitch in the readings"),
    CUT_SHORT: ("cut short", "the take ended early: a device failed or the disk filled up during it"),
}
FLAG_NAMES = tuple(FLAG_WORDS)


@dataclass(frozen=True)
class QualityThresholds:
    # camera stalled: share of a camera's frames that repeated the previous one (the loop found no new frame)
    repeated_share: float = 0.10
    # loop fell behind: share of ticks the control loop filled because it missed them
    filled_share: float = 0.02
    # too short: under this many seconds, or under this share of the planned episode time
    min_seconds: float = 1.0
    min_planned_share: float = 0.20
    # leader never moved: every joint's range of motion (max - min of the action) under this, in degrees
    # (gripper: percent)
    still_range: float = 2.0
    # follower did not track: a body joint (gripper excluded: a grasp holds it away from the leader on purpose)
    # more than this many degrees from the leader, for at least `track_hold_s` seconds in a row
    track_gap: float = 15.0
    track_hold_s: float = 1.0
    # joint jump: a joint's speed between two ticks above this, in degrees (gripper: percent) per second;
    # the SO-101's servos turn at most about 300 deg/s, a hand on the leader rarely above 600
    jump_speed: float = 1000.0

    @classmethod
    def load(cls, root: Path) -> QualityThresholds:
        """Defaults, overridden by `<root>/.station/quality.json` when it exists."""
        path = Path(root) / THRESHOLDS_PATH
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise DatasetError(f"{path} is unreadable or not valid JSON ({e})") from e
        known = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or set(data) - known:
            unknown = sorted(set(data) - known) if isinstance(data, dict) else []
            raise DatasetError(f"{path}: unknown thresholds {', '.join(unknown) or '(not an object)'}; "
                               f"known: {', '.join(sorted(known))}")
        try:
            return cls(**{k: float(v) for k, v in data.items()})
        except (TypeError, ValueError) as e:
            raise DatasetError(f"{path}: thresholds must be numbers ({e})") from e


@dataclass(frozen=True)
class Flag:
    name: str
    detail: str  # one plain sentence with the measured value

    @property
    def badge(self) -> str:
        return FLAG_WORDS[self.name][0]


def _longest_run(mask: np.ndarray) -> int:
    """Length of the longest run of True in a 1-D boolean array."""
    if not mask.any():
        return 0
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[0::2]).max())


def take_flags(
    action: np.ndarray,
    state: np.ndarray,
    fps: int,
    joint_names: Sequence[str] = (),
    repeated_frames: dict[str, int] | None = None,
    filled_ticks: int = 0,
    stalled_cameras: Sequence[str] = (),
    planned_s: float = 0.0,
    thresholds: QualityThresholds | None = None,
    interrupted: str = "",
) -> list[Flag]:
    """Every quality flag of one take, in FLAG_NAMES order. `planned_s` 0 means the plan is not known;
    `interrupted` is why the take ended early (its spool's completion record), empty when it ran its course."""
    t = thresholds or QualityThresholds()
    action, state = np.asarray(action, dtype=np.float64), np.asarray(state, dtype=np.float64)
    n = len(action)
    flags: list[Flag] = []
    cut = [Flag(CUT_SHORT, f"the take was cut short: {interrupted}")] if interrupted else []
    if n == 0:
        return [Flag(TOO_SHORT, "the take has no frames"), *cut]
    names = list(joint_names) or [f"joint {i + 1}" for i in range(action.shape[1])]

    shares = {cam: count / n for cam, count in (repeated_frames or {}).items()}
    bad = {cam: s for cam, s in shares.items() if s > t.repeated_share}
    if bad or stalled_cameras:
        parts = [f"{cam} repeated {s:.0%} of its frames" for cam, s in sorted(bad.items())]
        parts += [f"{cam} stopped for over {STALL_AFTER_S:g} s" for cam in stalled_cameras if cam not in bad]
        flags.append(Flag(CAMERA_STALLED, "; ".join(parts) + f" (limit {t.repeated_share:.0%})"))

    if filled_ticks / n > t.filled_share:
        flags.append(Flag(LOOP_BEHIND, f"{filled_ticks} of {n} ticks were filled ({filled_ticks / n:.1%}, "
                                       f"limit {t.filled_share:.0%})"))

    seconds = n / fps
    if seconds < t.min_seconds:
        flags.append(Flag(TOO_SHORT, f"{seconds:.2f} s long (limit {t.min_seconds:g} s)"))
    elif planned_s > 0 and seconds < t.min_planned_share * planned_s:
        flags.append(Flag(TOO_SHORT, f"{seconds:.1f} s of a planned {planned_s:g} s "
                                     f"(limit {t.min_planned_share:.0%})"))

    motion = action.max(axis=0) - action.min(axis=0)
    if (motion < t.still_range).all():
        flags.append(Flag(LEADER_STILL, f"no joint of the leader moved more than {motion.max():.1f} "
                                        f"(limit {t.still_range:g})"))

    body = [i for i, name in enumerate(names) if not name.startswith("gripper")]
    if body:
        gap = np.abs(action[:, body] - state[:, body])
        runs = [_longest_run(gap[:, k] > t.track_gap) for k in range(len(body))]
        worst = int(np.argmax(runs))
        if runs[worst] / fps >= t.track_hold_s:
            flags.append(Flag(FOLLOWER_LAGGING, f"{names[body[worst]]} stayed over {t.track_gap:g} deg from the "
                                                f"leader for {runs[worst] / fps:.1f} s (limit {t.track_hold_s:g} s)"))

    if n > 1:
        for label, values in (("leader", action), ("follower", state)):
            speed = np.abs(np.diff(values, axis=0)) * fps
            if speed.max() > t.jump_speed:
                row, joint = np.unravel_index(int(np.argmax(speed)), speed.shape)
                flags.append(Flag(JOINT_JUMP, f"{label} {names[joint]} moved at {speed.max():.0f}/s at frame "
                                              f"{row + 1} (limit {t.jump_speed:g}/s)"))
                break
    return flags + cut


def episode_flags(root: Path, thresholds: QualityThresholds | None = None) -> dict[int, list[Flag]]:
    """episode_index -> its quality flags, for `station check`: the flags stored at save time, plus those the
    joint data and stored counts show under the current thresholds (so a dataset recorded elsewhere is checked
    too). Only flags are returned for episodes that have any."""
    from station.dataset.episode_facts import read_episode_facts
    from station.dataset.reader import DatasetReader

    t = thresholds or QualityThresholds.load(root)
    reader = DatasetReader(root)
    facts = read_episode_facts(root)
    names = list(reader.spec().joint_names)
    out: dict[int, list[Flag]] = {}
    for row in reader.episodes():
        e = int(row["episode_index"])
        f = facts.get(e)
        data = reader.episode_data(e)
        found = take_flags(
            data.get("action", np.zeros((0, 6))), data.get("observation.state", np.zeros((0, 6))), reader.fps,
            names, f.repeated_frames if f else None, f.filled_ticks if f else 0, thresholds=t,
        )
        seen = {flag.name for flag in found}
        for name in f.flags if f else []:
            if name not in seen and name in FLAG_WORDS:
                found.append(Flag(name, FLAG_WORDS[name][1] + " (flagged when it was saved)"))
        if found:
            out[e] = sorted(found, key=lambda flag: FLAG_NAMES.index(flag.name))
    return out


def dataset_warnings(root: Path) -> list[str]:
    """One plain line per quality flag of every episode, excluded episodes said so."""
    from station.dataset.episode_facts import read_episode_facts

    excluded = {e for e, f in read_episode_facts(root).items() if f.excluded}
    lines: list[str] = []
    for e, flags in sorted(episode_flags(root).items()):
        tag = " (excluded)" if e in excluded else ""
        lines.extend(f"warning: episode {e}{tag}: {flag.badge}: {flag.detail}" for flag in flags)
    return lines
