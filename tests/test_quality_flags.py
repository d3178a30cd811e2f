"""Quality flags: each one fires on the take it describes and stays quiet on a good take."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from station.dataset.quality import (
    CAMERA_STALLED,
    CUT_SHORT,
    FOLLOWER_LAGGING,
    JOINT_JUMP,
    LEADER_STILL,
    LOOP_BEHIND,
    TOO_SHORT,
    QualityThresholds,
    take_flags,
)
from station.errors import DatasetError

FPS = 30
JOINTS = ("shoulder_pan.pos", "shoulder_lift.pos", "elbow_flex.pos", "wrist_flex.pos", "wrist_roll.pos",
          "gripper.pos")


def good_take(seconds: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(int(seconds * FPS)) / FPS
    action = np.stack([30 * np.sin(t + k) for k in range(6)], axis=1).astype(np.float32)
    state = np.roll(action, 2, axis=0)  # the follower trails the leader by two ticks
    state[:2] = action[0]
    return action, state


def names(flags) -> list[str]:
    return [f.name for f in flags]


def test_a_good_take_has_no_flags():
    action, state = good_take()
    assert take_flags(action, state, FPS, JOINTS, {"front": 3}, filled_ticks=1, planned_s=10) == []


def test_each_flag_fires_on_its_problem():
    action, state = good_take()
    n = len(action)
    assert names(take_flags(action, state, FPS, JOINTS, {"front": n // 5, "wrist": 0})) == [CAMERA_STALLED]
    assert names(take_flags(action, state, FPS, JOINTS, stalled_cameras=["wrist"])) == [CAMERA_STALLED]
    assert names(take_flags(action, state, FPS, JOINTS, filled_ticks=int(0.05 * n))) == [LOOP_BEHIND]
    short_a, short_s = good_take(0.5)
    assert TOO_SHORT in names(take_flags(short_a, short_s, FPS, JOINTS))
    assert names(take_flags(action, state, FPS, JOINTS, planned_s=60)) == [TOO_SHORT]  # 5 s of 60 s
    still = np.full_like(action, 10.0) + np.random.default_rng(0).normal(0, 0.1, action.shape).astype(np.float32)
    assert names(take_flags(still, still, FPS, JOINTS)) == [LEADER_STILL]
    lagging = state.copy()
    t = np.arange(n) / FPS
    lagging[:, 1] += np.interp(t, [1, 1.5, 3.5, 4], [0, 40, 40, 0])  # shoulder_lift held 40 deg off for 2 s
    assert names(take_flags(action, lagging, FPS, JOINTS)) == [FOLLOWER_LAGGING]
    grasp = state.copy()
    grasp[:, 5] += 50  # the gripper held open by an object is not a tracking problem
    assert names(take_flags(action, grasp, FPS, JOINTS)) == []
    jump = state.copy()
    jump[70:, 4] += 90  # wrist_roll jumps 90 deg in one tick (2700 deg/s)
    flags = take_flags(action, jump, FPS, JOINTS)
    assert JOINT_JUMP in names(flags)
    assert "wrist_roll" in next(f.detail for f in flags if f.name == JOINT_JUMP)


def test_thresholds_are_settable_per_dataset(tmp_path: Path):
    action, state = good_take()
    (tmp_path / ".station").mkdir()
    (tmp_path / ".station" / "quality.json").write_text(json.dumps({"min_seconds": 10}))
    t = QualityThresholds.load(tmp_path)
    assert t.min_seconds == 10 and t.jump_speed == QualityThresholds().jump_speed
    assert names(take_flags(action, state, FPS, JOINTS, thresholds=t)) == [TOO_SHORT]
    (tmp_path / ".station" / "quality.json").write_text(json.dumps({"min_secs": 10}))
    with pytest.raises(DatasetError, match="unknown thresholds min_secs"):
        QualityThresholds.load(tmp_path)


def test_the_save_job_stores_facts_and_flags_with_each_episode(tmp_path: Path):
    import subprocess
    import sys

    from station.dataset.episode_facts import read_episode_facts

    root = tmp_path / "ds"
    done = subprocess.run(
        [sys.executable, "-m", "station", "record", "--headless", "--demo", "--root", str(root), "--episodes", "1",
         "--episode-time", "0.5", "--reset-time", "0", "--camera", "front=testsrc@32x24", "--vcodec", "h264"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    facts = read_episode_facts(root)[0]
    # 0.5 s; the demo leader moves and the follower tracks it (on a loaded machine the loop may fall behind)
    assert TOO_SHORT in facts.flags and set(facts.flags) <= {TOO_SHORT, LOOP_BEHIND, CAMERA_STALLED}
    assert set(facts.repeated_frames) == {"front"} and facts.outcome == "unknown" and not facts.excluded


def test_a_take_cut_short_is_flagged_with_the_reason():
    action, state = good_take()
    assert CUT_SHORT not in names(take_flags(action, state, FPS, JOINTS))
    flags = take_flags(action, state, FPS, JOINTS, interrupted="could not write to disk (the disk is full)")
    cut = next(f for f in flags if f.name == CUT_SHORT)
    assert cut.badge == "cut short"
    assert cut.detail == "the take was cut short: could not write to disk (the disk is full)"
