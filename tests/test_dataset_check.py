"""check_dataset finds the problems LeRobot is strict about; `station check` reports them and exits 0/1/2."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from station.commands import check as check_command
from station.dataset import fsutil
from station.dataset.check import check_dataset
from station.dataset.spec import CameraSpec, DatasetSpec, VideoSettings
from station.dataset.stats import image_stats
from station.dataset.video import encode_video
from station.dataset.writer import DatasetWriter, EpisodeData

FPS = 30
CAM = CameraSpec("front", 64, 48)
SPEC = DatasetSpec(fps=FPS, cameras=(CAM,), video=VideoSettings.for_codec("h264"))
LENGTHS = (8, 12, 6)


def frames(n: int, seed: int) -> list[np.ndarray]:
    return [np.full((CAM.height, CAM.width, 3), (seed * 40 + i * 9) % 256, np.uint8) for i in range(n)]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """A valid 3-episode dataset, written once; each test works on its own copy."""
    root = tmp_path_factory.mktemp("check") / "ds"
    writer = DatasetWriter.create(root, "test/check", SPEC)
    spool = root.parent / "spool"
    spool.mkdir()
    for e, n in enumerate(LENGTHS):
        video = spool / f"{e}.mp4"
        encode_video(frames(n, e), video, FPS, CAM.width, CAM.height, SPEC.video)
        rng = np.random.default_rng(e)
        writer.commit_episode(
            EpisodeData(
                task="pick" if e != 1 else "place",
                action=rng.normal(size=(n, 6)).astype(np.float32),
                state=rng.normal(size=(n, 6)).astype(np.float32),
                videos={"front": video},
                image_stats={"front": image_stats(frames(n, e))},
            )
        )
    return root


@pytest.fixture
def ds(pristine, tmp_path) -> Path:
    root = tmp_path / "ds"
    shutil.copytree(pristine, root)
    return root


def joined(problems: list[str]) -> str:
    return "\n".join(problems)


def rewrite_parquet(path: Path, change) -> None:
    table = pq.read_table(path)
    pq.write_table(change(table), path, compression="snappy")


def test_a_written_dataset_is_valid(ds):
    assert check_dataset(ds) == []
    assert check_dataset(ds, decode_videos=False) == []


def test_a_video_missing_a_frame_is_found(ds):
    video = ds / "videos/observation.images.front/chunk-000/file-001.mp4"
    video.unlink()
    encode_video(frames(LENGTHS[1] - 1, 1), video, FPS, CAM.width, CAM.height, SPEC.video)
    problems = check_dataset(ds)
    assert "file-001.mp4 decodes to 11 frames but its episodes have 12 rows" in joined(problems)
    assert "file-001.mp4" in joined(check_dataset(ds, decode_videos=False))


def test_frames_off_the_grid_are_found(ds):
    video = ds / "videos/observation.images.front/chunk-000/file-000.mp4"
    video.unlink()
    encode_video(frames(LENGTHS[0], 0), video, FPS * 2, CAM.width, CAM.height, SPEC.video)  # twice as fast
    assert "frame 7 is at 0.116667 s, off the 1/30 s grid" in joined(check_dataset(ds))


def test_wrong_total_frames_is_found(ds):
    info_path = ds / "meta/info.json"
    info = json.loads(info_path.read_text())
    info["total_frames"] += 1
    info_path.write_text(json.dumps(info))
    assert "info.json counts 27 frames but the data files hold 26 rows" in joined(check_dataset(ds))


def test_an_undeclared_column_is_found(ds):
    path = ds / "data/chunk-000/file-002.parquet"
    rewrite_parquet(path, lambda t: t.append_column("extra", pa.array(np.zeros(t.num_rows))))
    assert "column 'extra' is not a declared feature" in joined(check_dataset(ds))


def test_a_missing_declared_column_is_found(ds):
    path = ds / "data/chunk-000/file-000.parquet"
    rewrite_parquet(path, lambda t: t.drop_columns(["observation.state"]))
    assert "declared feature 'observation.state' has no column" in joined(check_dataset(ds))


def test_timestamps_not_on_frame_index_over_fps_are_found(ds):
    path = ds / "data/chunk-000/file-001.parquet"

    def shift(t: pa.Table) -> pa.Table:
        ts = t["timestamp"].to_numpy() + np.float32(0.01)
        return t.set_column(t.schema.get_field_index("timestamp"), "timestamp", pa.array(ts, pa.float32()))

    rewrite_parquet(path, shift)
    assert "timestamp is not frame_index / fps" in joined(check_dataset(ds))


def test_a_gap_in_the_global_index_is_found(ds):
    path = ds / "data/chunk-000/file-002.parquet"

    def bump(t: pa.Table) -> pa.Table:
        index = t["index"].to_numpy() + 1
        return t.set_column(t.schema.get_field_index("index"), "index", pa.array(index, pa.int64()))

    rewrite_parquet(path, bump)
    problems = joined(check_dataset(ds))
    assert "index is not contiguous from 0" in problems
    assert "dataset_to_index" in problems or "rows 20..26 but the data has 21..27" in problems


def test_tasks_without_pandas_metadata_are_found(ds):
    rewrite_parquet(ds / "meta/tasks.parquet", lambda t: t.replace_schema_metadata(None))
    assert "LeRobot would read task numbers" in joined(check_dataset(ds))


def test_wrong_image_stats_shape_is_found(ds):
    path = ds / "meta/stats.json"
    stats = json.loads(path.read_text())
    stats["observation.images.front"]["mean"] = [0.5, 0.5, 0.5]
    path.write_text(json.dumps(stats))
    assert "observation.images.front mean has shape (3,), expected (3, 1, 1)" in joined(check_dataset(ds))


def test_leftovers_of_an_interrupted_save_are_found(ds):
    (ds / "data/chunk-000/.file-003.parquet.tmp").write_bytes(b"x")
    (ds / fsutil.JOURNAL_PATH).parent.mkdir(exist_ok=True)
    (ds / fsutil.JOURNAL_PATH).write_text("{}")
    problems = joined(check_dataset(ds))
    assert ".file-003.parquet.tmp is a temporary file" in problems
    assert "a save was interrupted" in problems


def test_data_and_video_files_not_in_the_episodes_table_are_found(ds):
    shutil.copy(ds / "data/chunk-000/file-002.parquet", ds / "data/chunk-000/file-003.parquet")
    video_dir = ds / "videos/observation.images.front/chunk-000"
    shutil.copy(video_dir / "file-002.mp4", video_dir / "file-003.mp4")
    problems = joined(check_dataset(ds))
    assert "file-003.parquet is not referenced by the episodes table" in problems
    assert "file-003.mp4 is not referenced by the episodes table" in problems


def test_a_missing_video_is_found(ds):
    (ds / "videos/observation.images.front/chunk-000/file-000.mp4").unlink()
    assert "file-000.mp4 is missing" in joined(check_dataset(ds))


def test_an_episode_table_row_out_of_step_is_found(ds):
    path = ds / "meta/episodes/chunk-000/file-001.parquet"
    rewrite_parquet(
        path, lambda t: t.set_column(t.schema.get_field_index("length"), "length", pa.array([99], pa.int64()))
    )
    assert "length is 99 but the data files hold 12 rows" in joined(check_dataset(ds))


def test_not_a_dataset(tmp_path):
    assert "not a LeRobot dataset" in joined(check_dataset(tmp_path))


def test_a_folder_that_does_not_exist_or_a_file_is_named_as_such(tmp_path):
    assert joined(check_dataset(tmp_path / "typo")) == f"{tmp_path / 'typo'} does not exist: give the folder of a " \
        "LeRobot dataset"
    (tmp_path / "info.json").write_text("{}")
    assert "is a file, not a LeRobot dataset folder" in joined(check_dataset(tmp_path / "info.json"))
    assert not (tmp_path / "typo").exists()  # nothing made on disk


# ----- the command ---------------------------------------------------------------------------------


def run_command(path: Path) -> int:
    parser = argparse.ArgumentParser()
    check_command.add_parser(parser.add_subparsers(dest="command"))
    return check_command.run(parser.parse_args(["check", str(path)]))


def test_command_says_ok_for_a_valid_dataset(ds, capsys):
    assert run_command(ds) == 0
    out = capsys.readouterr().out.splitlines()
    # its episodes are under 1 s: valid for LeRobot, and warned about as too short (exit 0 without --strict)
    assert "episodes: 3" in out and out[-1] == "OK, with 3 quality warnings"
    assert sum("too short" in line for line in out) == 3
    assert any("front 64x48" in line for line in out) and any("h264" in line for line in out)


def test_command_lists_problems_and_exits_1(ds, capsys):
    (ds / "videos/observation.images.front/chunk-000/file-000.mp4").unlink()
    assert run_command(ds) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "1 problem" and any("file-000.mp4 is missing" in line for line in out)


def test_command_says_takes_that_wait_in_the_spool_and_how_to_save_them(ds, capsys):
    spool = ds / ".station" / "spool"
    (spool / "take-1796111373461489500").mkdir(parents=True)  # recorded, then a kill -9 before its save
    (spool / "take-1796111373461489500" / "done.json").write_text("{}")
    (spool / "take-1796111373461489600").mkdir()  # the next take, cut short by the kill (or not begun)
    assert run_command(ds) == 0
    out = capsys.readouterr().out.splitlines()
    assert any("1 take recorded but not in the dataset waits" in line and f"station recover {ds}` saves it" in line
               for line in out)
    assert any("1 take was not finished" in line and "drops it" in line for line in out)  # not counted as recorded
    assert out[-1] == "OK, with 3 quality warnings and takes not saved yet"  # the three, counted apart


def test_command_exits_2_when_dir_is_not_a_dataset(tmp_path, capsys):
    assert run_command(tmp_path) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1


def test_tasks_written_by_lerobot_with_an_unnamed_pandas_index_are_read(ds):
    """pandas 3 (LeRobot's own writer) stores the task text as "__index_level_0__"; both spellings work."""
    from station.dataset.reader import DatasetReader

    table = pq.read_table(ds / "meta/tasks.parquet")
    meta = json.loads(table.schema.metadata[b"pandas"])
    meta["index_columns"] = ["__index_level_0__"]
    renamed = table.rename_columns(["task_index", "__index_level_0__"])
    pq.write_table(renamed.replace_schema_metadata({b"pandas": json.dumps(meta).encode()}), ds / "meta/tasks.parquet")
    assert DatasetReader(ds).tasks == ["pick", "place"]
    assert check_dataset(ds) == []


def test_a_malformed_info_json_is_reported_not_raised(ds):
    info_path = ds / "meta/info.json"
    info = json.loads(info_path.read_text())
    info["features"]["observation.state"] = "float32"
    info["fps"] = "30"
    info_path.write_text(json.dumps(info))
    problems = joined(check_dataset(ds))
    assert "fps is '30'" in problems and "'observation.state' lacks a dtype or shape" in problems


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("point", ["after-journal", "mid-rename", "before-info"])
def test_an_interrupted_commit_is_advised_the_command_that_repairs_it(ds, capsys, qapp, point):
    """What check advises for a commit cut short is a command that exists and repairs it: run it, check passes.
    (`qapp`: recover runs on the application the test session has, not a QCoreApplication of its own.)"""
    from station.cli import main
    from station.dataset.reader import spec_from_info

    def cut(at: str) -> None:
        if at == point:
            raise Interrupted(at)

    writer = DatasetWriter.open(ds, spec_from_info(json.loads((ds / "meta/info.json").read_text())), fault=cut)
    video = ds.parent / "more.mp4"
    encode_video(frames(5, 7), video, FPS, CAM.width, CAM.height, SPEC.video)
    with pytest.raises(Interrupted):
        writer.commit_episode(EpisodeData(task="pick", action=np.zeros((5, 6), np.float32),
                                          state=np.zeros((5, 6), np.float32), videos={"front": video},
                                          image_stats={"front": image_stats(frames(5, 7))}))
    capsys.readouterr()
    assert run_command(ds) == 1
    out = capsys.readouterr().out
    advice = [line for line in out.splitlines() if "a save was interrupted" in line]
    assert len(advice) == 1 and "resum" not in out, out
    command = advice[0].split("`")[1]
    assert command == f"station recover --root {ds}", advice
    assert main(command.split()[1:]) == 0
    assert check_dataset(ds) == []
