"""DatasetWriter: exact round trip, LeRobot's file details, atomic commits, safe resume."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from station.dataset import fsutil
from station.dataset.check import check_dataset
from station.dataset.reader import DatasetReader
from station.dataset.spec import CameraSpec, DatasetSpec, VideoSettings
from station.dataset.stats import (
    STAT_NAMES,
    downsample_for_stats,
    image_stats,
    numeric_stats,
    sample_indices,
)
from station.dataset.video import encode_video, probe_video
from station.dataset.writer import DatasetWriter, EpisodeData
from station.errors import DatasetError

FPS = 30
CAMS = (CameraSpec("front", 64, 48), CameraSpec("wrist", 64, 48))
H264 = VideoSettings.for_codec("h264")
EPISODES = [(10, "pick the cube"), (25, "place the cube"), (17, "pick the cube")]


def spec_with(**changes) -> DatasetSpec:
    base = {"fps": FPS, "cameras": CAMS, "video": H264}
    base.update(changes)
    return DatasetSpec(**base)


def frames_for(n: int, cam: CameraSpec, seed: int) -> list[np.ndarray]:
    yy, xx = np.mgrid[0 : cam.height, 0 : cam.width]
    base = np.stack([xx * 4, yy * 5, (xx + yy) * 2], axis=-1) % 256
    return [((base + 7 * i + seed) % 256).astype(np.uint8) for i in range(n)]


def make_episode(spool: Path, spec: DatasetSpec, n: int, task: str, seed: int) -> EpisodeData:
    """Encode a synthetic take like the save job does: one mp4 per camera plus its image stats."""
    spool.mkdir(parents=True, exist_ok=True)
    videos: dict[str, Path] = {}
    stats = {}
    for cam in spec.cameras:
        frames = frames_for(n, cam, seed)
        path = spool / f"ep{seed}-{cam.name}.mp4"
        assert encode_video(frames, path, spec.fps, cam.width, cam.height, spec.video) == n
        videos[cam.name] = path
        stats[cam.name] = image_stats([downsample_for_stats(frames[i]) for i in sample_indices(n)])
    rng = np.random.default_rng(seed)
    action = rng.uniform(-90, 90, size=(n, 6)).astype(np.float32)
    state = (action + rng.normal(0, 1, size=(n, 6))).astype(np.float32)
    return EpisodeData(task=task, action=action, state=state, videos=videos, image_stats=stats)


def write_dataset(
    root: Path, spec: DatasetSpec, episodes=EPISODES, fault=None
) -> tuple[DatasetWriter, list[EpisodeData]]:
    writer = DatasetWriter.create(root, "test/writer", spec, fault=fault)
    written = []
    for seed, (n, task) in enumerate(episodes):
        ep = make_episode(root / ".station" / "spool", spec, n, task, seed)
        written.append(ep)
        assert writer.commit_episode(ep) == seed
    return writer, written


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under root (spool excluded) with its content hash: proof that nothing changed."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "spool" not in p.parts
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[Path, list[EpisodeData]]:
    root = tmp_path_factory.mktemp("rt") / "ds"
    _, episodes = write_dataset(root, spec_with())
    return root, episodes


# ----- round trip ----------------------------------------------------------------------------------


def test_reader_returns_exactly_what_was_written(dataset):
    root, episodes = dataset
    reader = DatasetReader(root)
    assert (reader.total_episodes, reader.total_frames, reader.fps) == (3, 52, FPS)
    assert reader.tasks == ["pick the cube", "place the cube"]
    start = 0
    for e, ep in enumerate(episodes):
        data = reader.episode_data(e)
        n = len(ep.action)
        np.testing.assert_array_equal(data["action"], ep.action)
        np.testing.assert_array_equal(data["observation.state"], ep.state)
        assert data["frame_index"].tolist() == list(range(n))
        assert data["index"].tolist() == list(range(start, start + n))
        assert set(data["episode_index"].tolist()) == {e}
        assert set(data["task_index"].tolist()) == {reader.tasks.index(ep.task)}
        np.testing.assert_array_equal(data["timestamp"], (np.arange(n) / FPS).astype(np.float32))
        row = reader.episodes()[e]
        assert (row["length"], row["dataset_from_index"], row["dataset_to_index"]) == (n, start, start + n)
        assert row["tasks"] == [ep.task]
        for cam in CAMS:
            assert row[f"videos/{cam.key}/from_timestamp"] == 0.0
            assert row[f"videos/{cam.key}/to_timestamp"] == pytest.approx(n / FPS)
            count, stamps = probe_video(reader.video_path(e, cam.key))
            assert count == n
            np.testing.assert_allclose(stamps, np.arange(n) / FPS, atol=1e-9)
        start += n
    assert reader.spec() == spec_with()
    assert check_dataset(root) == []


def test_files_follow_lerobot_layout_and_types(dataset):
    root, _ = dataset
    info = json.loads((root / "meta/info.json").read_text())
    assert info["total_episodes"] == 3 and info["total_frames"] == 52 and info["total_tasks"] == 2
    assert info["splits"] == {"train": "0:3"} and info["codebase_version"] == "v3.0"
    assert list(info["features"])[-5:] == ["timestamp", "frame_index", "episode_index", "index", "task_index"]
    vinfo = info["features"]["observation.images.front"]["info"]
    assert vinfo["video.codec"] == "h264" and vinfo["video.pix_fmt"] == "yuv420p" and vinfo["is_depth_map"] is False
    for e in range(3):
        path = root / f"data/chunk-000/file-{e:03d}.parquet"
        meta = pq.ParquetFile(path)
        assert meta.metadata.num_row_groups == 1
        assert meta.metadata.row_group(0).column(0).compression == "SNAPPY"
        schema = meta.schema_arrow
        assert schema.names == [
            "action",
            "observation.state",
            "timestamp",
            "frame_index",
            "episode_index",
            "index",
            "task_index",
        ]
        assert schema.field("action").type == pa.list_(pa.float32(), 6)
        assert schema.field("observation.state").type == pa.list_(pa.float32(), 6)
        assert schema.field("timestamp").type == pa.float32()
        assert all(schema.field(c).type == pa.int64() for c in schema.names[3:])
        for cam in CAMS:
            assert (root / f"videos/{cam.key}/chunk-000/file-{e:03d}.mp4").is_file()
    index = np.concatenate(
        [pq.read_table(root / f"data/chunk-000/file-{e:03d}.parquet")["index"].to_numpy() for e in range(3)]
    )
    assert index.tolist() == list(range(52))


def test_tasks_parquet_carries_pandas_index_metadata(dataset):
    root, _ = dataset
    table = pq.read_table(root / "meta/tasks.parquet")
    pandas_meta = json.loads(table.schema.metadata[b"pandas"])
    assert pandas_meta["index_columns"] == ["task"]
    assert table["task_index"].to_pylist() == [0, 1]
    assert table["task"].to_pylist() == ["pick the cube", "place the cube"]
    assert table.schema.field("task_index").type == pa.int64()


def test_episode_table_has_every_stat_column(dataset):
    root, _ = dataset
    table = pq.read_table(root / "meta/episodes/chunk-000/file-001.parquet")
    row = table.to_pylist()[0]
    for feature in (
        "action",
        "observation.state",
        "timestamp",
        "frame_index",
        "episode_index",
        "index",
        "task_index",
        "observation.images.front",
        "observation.images.wrist",
    ):
        for stat in STAT_NAMES:
            assert f"stats/{feature}/{stat}" in row
    assert np.asarray(row["stats/observation.images.front/mean"]).shape == (3, 1, 1)
    assert row["stats/action/count"] == [25]
    assert table.schema.field("stats/action/mean").type == pa.list_(pa.float64())
    assert table.schema.field("stats/action/count").type == pa.list_(pa.int64())
    assert (row["meta/episodes/chunk_index"], row["meta/episodes/file_index"]) == (0, 1)
    assert (row["data/chunk_index"], row["data/file_index"]) == (0, 1)


def test_stats_json_aggregate_equals_stats_over_all_rows(dataset):
    root, episodes = dataset
    stats = json.loads((root / "meta/stats.json").read_text())
    reader = DatasetReader(root)
    columns = {
        k: np.concatenate([reader.episode_data(e)[k] for e in range(3)])
        for k in ("action", "observation.state", "timestamp", "frame_index", "episode_index", "index", "task_index")
    }
    for key, values in columns.items():
        whole = numeric_stats(values)
        for name in ("mean", "min", "max", "std"):
            np.testing.assert_allclose(stats[key][name], whole[name], atol=1e-6, err_msg=f"{key} {name}")
        assert stats[key]["count"] == [52]
        assert set(stats[key]) == set(STAT_NAMES)
    assert np.asarray(stats["action"]["mean"]).shape == (6,)
    assert np.asarray(stats["timestamp"]["mean"]).shape == (1,)
    for cam in CAMS:
        assert all(np.asarray(stats[cam.key][n]).shape == (3, 1, 1) for n in STAT_NAMES if n != "count")
        assert stats[cam.key]["count"] == [sum(len(ep.action) for ep in episodes)]


def test_libsvtav1_episode_is_on_the_frame_grid(tmp_path):
    spec = spec_with(cameras=(CameraSpec("front", 64, 48),), video=VideoSettings.for_codec("libsvtav1"))
    write_dataset(tmp_path / "ds", spec, episodes=[(12, "wave")])
    reader = DatasetReader(tmp_path / "ds")
    assert reader.info["features"]["observation.images.front"]["info"]["video.codec"] == "av1"
    count, stamps = probe_video(reader.video_path(0, "front"))
    assert count == 12
    np.testing.assert_allclose(stamps, np.arange(12) / FPS, atol=1e-9)
    assert check_dataset(tmp_path / "ds") == []


# ----- atomic commit -------------------------------------------------------------------------------


class Injected(Exception):
    pass


class FailAt:
    """The writer's commit-point hook (injected at create): raises Injected at `point` while one is set."""

    def __init__(self) -> None:
        self.point: str | None = None

    def __call__(self, point: str) -> None:
        if point == self.point:
            raise Injected(point)


@pytest.mark.parametrize("point", ["after-temp-files", "after-journal", "mid-rename", "before-info"])
def test_failure_at_each_point_leaves_a_valid_or_repairable_dataset(tmp_path, point):
    root = tmp_path / "ds"
    spec = spec_with()
    fault = FailAt()
    writer, _ = write_dataset(root, spec, episodes=EPISODES[:2], fault=fault)
    before = tree_digest(root)
    ep = make_episode(root / ".station" / "spool", spec, 8, "stack", seed=9)
    fault.point = point
    with pytest.raises(Injected):
        writer.commit_episode(ep)
    fault.point = None

    if point == "after-temp-files":
        assert tree_digest(root) == before
        assert check_dataset(root) == []
        assert all(p.is_file() for p in ep.videos.values())  # the take is still in the spool for a retry
        assert writer.commit_episode(ep) == 2
    else:
        assert (root / fsutil.JOURNAL_PATH).exists()
        assert check_dataset(root) != []
        said = writer.repair()
        assert any("episode 2" in line for line in said)
        assert writer.total_episodes == 3
    assert check_dataset(root) == []
    reader = DatasetReader(root)
    assert (reader.total_episodes, reader.total_frames) == (3, 10 + 25 + 8)
    assert reader.tasks == ["pick the cube", "place the cube", "stack"]
    np.testing.assert_array_equal(reader.episode_data(2)["action"], ep.action)


def interrupted_commit(tmp_path, point: str, frames: int, seed: int):
    """A one-episode dataset whose second commit (of `frames` rows) failed at `point`."""
    root = tmp_path / "ds"
    spec = spec_with()
    fault = FailAt()
    writer, _ = write_dataset(root, spec, episodes=EPISODES[:1], fault=fault)
    ep = make_episode(root / ".station" / "spool", spec, frames, "a", seed=seed)
    fault.point = point
    with pytest.raises(Injected):
        writer.commit_episode(ep)
    fault.point = None
    return root, spec, writer


def test_writer_repairs_by_itself_before_its_next_commit(tmp_path):
    root, spec, writer = interrupted_commit(tmp_path, "before-info", frames=6, seed=1)
    ep2 = make_episode(root / ".station" / "spool", spec, 7, "b", seed=2)
    assert writer.commit_episode(ep2) == 2
    assert check_dataset(root) == []
    assert DatasetReader(root).total_frames == 10 + 6 + 7


def test_reopening_rolls_an_interrupted_commit_forward(tmp_path):
    root, spec, _ = interrupted_commit(tmp_path, "mid-rename", frames=5, seed=3)
    reopened = DatasetWriter.open(root, spec)  # a new process after a crash
    assert reopened.total_episodes == 2
    assert check_dataset(root) == []


def test_repair_deletes_leftover_temp_files(tmp_path):
    root = tmp_path / "ds"
    writer, _ = write_dataset(root, spec_with(), episodes=EPISODES[:1])
    strays = [
        root / "data/chunk-000/.file-001.parquet.tmp",
        root / "meta/.info.json.tmp",
        root / ".station/.journal.json.tmp",
    ]
    spool_tmp = root / ".station/spool/take/.info.json.tmp"  # the recorder's, not ours
    for p in [*strays, spool_tmp]:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"half")
    assert any("temporary" in p for p in check_dataset(root))
    said = writer.repair()
    assert said and "3 temporary" in said[0]
    assert not any(p.exists() for p in strays) and spool_tmp.exists()
    assert writer.repair() == []
    assert check_dataset(root) == []


def test_videos_are_copied_when_the_spool_is_on_another_filesystem(tmp_path, monkeypatch):
    root = tmp_path / "ds"
    spec = spec_with()
    writer = DatasetWriter.create(root, "test/copy", spec)
    ep = make_episode(tmp_path / "spool", spec, 9, "a", seed=4)
    monkeypatch.setattr(fsutil, "same_filesystem", lambda a, b: False)
    writer.commit_episode(ep)
    assert all(p.is_file() for p in ep.videos.values())
    assert check_dataset(root) == []


def test_commit_refuses_an_episode_whose_video_is_short(tmp_path):
    root = tmp_path / "ds"
    spec = spec_with()
    writer, _ = write_dataset(root, spec, episodes=EPISODES[:1])
    before = tree_digest(root)
    ep = make_episode(root / ".station" / "spool", spec, 6, "a", seed=5)
    ep.action, ep.state = ep.action[:5], ep.state[:5]
    with pytest.raises(DatasetError, match="6 frames but the episode has 5 rows"):
        writer.commit_episode(ep)
    assert tree_digest(root) == before and writer.total_episodes == 1


def test_encode_video_refuses_a_frame_of_another_size(tmp_path):
    frames = frames_for(3, CAMS[0], 0) + [np.zeros((24, 32, 3), np.uint8)]
    path = tmp_path / "v.mp4"
    with pytest.raises(DatasetError, match="changed resolution"):
        encode_video(frames, path, FPS, 64, 48, H264)
    assert not path.exists()


def test_encode_video_reports_progress_per_frame(tmp_path):
    seen: list[int] = []
    n = encode_video(frames_for(4, CAMS[0], 0), tmp_path / "v.mp4", FPS, 64, 48, H264, on_frame=seen.append)
    assert n == 4 and seen == [0, 1, 2, 3]


# ----- create and resume ---------------------------------------------------------------------------


def test_create_writes_an_empty_dataset(tmp_path):
    writer = DatasetWriter.create(tmp_path / "new", "test/new", spec_with())
    info = json.loads((tmp_path / "new/meta/info.json").read_text())
    assert (info["total_episodes"], info["total_frames"], info["splits"]) == (0, 0, {"train": "0:0"})
    assert writer.total_episodes == 0 and writer.tasks == []
    assert check_dataset(tmp_path / "new") == []


def test_create_refuses_existing_or_unwritable_folders(tmp_path, dataset):
    root, _ = dataset
    with pytest.raises(DatasetError, match="--resume"):
        DatasetWriter.create(root, "test/again", spec_with())
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy/notes.txt").write_text("x")
    with pytest.raises(DatasetError, match="not empty"):
        DatasetWriter.create(tmp_path / "busy", "test/busy", spec_with())
    (tmp_path / "afile").write_text("x")
    with pytest.raises(DatasetError, match="cannot create"):
        DatasetWriter.create(tmp_path / "afile" / "ds", "test/x", spec_with())
    with pytest.raises(DatasetError, match="user/name"):
        DatasetWriter.create(tmp_path / "other", "no-slash", spec_with())


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"fps": 15}, "15 fps"),
        ({"cameras": (CameraSpec("front", 32, 24), CAMS[1])}, "32x24"),
        ({"robot_type": "so101_follower"}, "so101_follower"),
        ({"cameras": CAMS[:1]}, "cameras"),
        ({"video": VideoSettings.for_codec("libsvtav1")}, "codec"),
    ],
)
def test_open_refuses_an_incompatible_session_and_changes_nothing(dataset, changes, words):
    root, _ = dataset
    before = tree_digest(root)
    with pytest.raises(DatasetError, match=words):
        DatasetWriter.open(root, spec_with(**changes))
    assert tree_digest(root) == before


def test_open_resumes_and_appends(tmp_path):
    root = tmp_path / "ds"
    write_dataset(root, spec_with(), episodes=EPISODES[:2])
    writer = DatasetWriter.open(root, DatasetReader(root).spec())
    assert (writer.total_episodes, writer.total_frames, writer.tasks) == (2, 35, ["pick the cube", "place the cube"])
    ep = make_episode(root / ".station" / "spool", spec_with(), 4, "place the cube", seed=7)
    assert writer.commit_episode(ep) == 2
    assert check_dataset(root) == []
    assert DatasetReader(root).tasks == ["pick the cube", "place the cube"]


def test_open_refuses_what_is_not_a_dataset(tmp_path):
    with pytest.raises(DatasetError, match="not a LeRobot dataset"):
        DatasetWriter.open(tmp_path, spec_with())
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta/info.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        DatasetWriter.open(tmp_path, spec_with())


def test_open_refuses_a_corrupt_tasks_parquet(tmp_path):
    root = tmp_path / "ds"
    write_dataset(root, spec_with(), episodes=EPISODES[:1])
    (root / "meta/tasks.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(DatasetError, match="parquet"):
        DatasetWriter.open(root, spec_with())


def test_commit_never_reads_earlier_episodes(tmp_path):
    """The cost of saving episode N must not grow with N: a commit touches only its own files and the
    small meta files, so it succeeds even when earlier episodes' files are gone."""
    root = tmp_path / "ds"
    spec = spec_with()
    writer, _ = write_dataset(root, spec, episodes=EPISODES[:2])
    for path in [root / "data/chunk-000/file-000.parquet", root / "meta/episodes/chunk-000/file-000.parquet"]:
        path.unlink()
    ep = make_episode(root / ".station" / "spool", spec, 5, "a", seed=8)
    assert writer.commit_episode(ep) == 2
    assert json.loads((root / "meta/info.json").read_text())["total_frames"] == 10 + 25 + 5


def test_create_refuses_a_camera_name_lerobot_cannot_use(tmp_path):
    spec = spec_with(cameras=(CameraSpec("front/left", 64, 48),))
    with pytest.raises(DatasetError, match="camera name"):
        DatasetWriter.create(tmp_path / "ds", "test/cam", spec)
    assert not (tmp_path / "ds").exists()


def _moving_frames(count: int = 20) -> list[np.ndarray]:
    """160x120 yuv420p frames of a moving picture (an encoder cannot skip them as static)."""
    import av

    with av.open("mandelbrot=size=160x120:rate=30", format="lavfi") as src:
        return [f.to_ndarray(format="yuv420p") for f, _ in zip(src.decode(video=0), range(count), strict=False)]


def _decoded(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="yuv420p") for f in container.decode(video=0)]


def test_an_encode_cut_short_leaves_no_file_and_no_encoder_complaint(tmp_path, capfd):
    """A save cancelled (quit anyway, a take thrown away) or failing mid-encode: the encoder is drained before it
    is freed, as SVT-AV1 expects (it printed "Svt[error]: deinit called without sending EOS!" on the terminal)."""

    class Cancelled(Exception):
        pass

    def cut_short():
        yield from _moving_frames(6)
        raise Cancelled

    path = tmp_path / "v.mp4"
    with pytest.raises(Cancelled):
        encode_video(cut_short(), path, FPS, 160, 120, VideoSettings.for_codec("libsvtav1"), pix_fmt="yuv420p")
    assert not path.exists()
    assert "EOS" not in capfd.readouterr().err


def test_av1_with_lerobots_short_gop_gives_the_same_frames_without_the_buffers_it_never_uses(tmp_path, monkeypatch):
    """SVT-AV1's mini-GOP and lookahead are turned down for g=2 (station.dataset.video): same pictures."""
    from station.dataset import video

    frames = _moving_frames()
    settings = VideoSettings.for_codec("libsvtav1")
    assert settings.g <= video.SHORT_GOP
    assert video.SVT_SHORT_GOP_PARAMS in video._encoder_options(settings)["svtav1-params"]
    encode_video(iter(frames), tmp_path / "short.mp4", 30, 160, 120, settings, pix_fmt="yuv420p")
    monkeypatch.setattr(video, "SHORT_GOP", 0)  # SVT-AV1's own buffers, as before
    assert video.SVT_SHORT_GOP_PARAMS not in video._encoder_options(settings)["svtav1-params"]
    encode_video(iter(frames), tmp_path / "own.mp4", 30, 160, 120, settings, pix_fmt="yuv420p")

    short, own = _decoded(tmp_path / "short.mp4"), _decoded(tmp_path / "own.mp4")
    assert len(short) == len(own) == 20
    assert all(np.array_equal(a, b) for a, b in zip(short, own, strict=True))


def test_av1_encoders_at_once_share_the_cores_and_give_the_same_frames(tmp_path, monkeypatch):
    """SVT-AV1's level of parallelism is the one it would pick itself for the cores each encoder has when several
    run at once (station.dataset.video.SVT_LEVELS): fewer threads to open, the same pictures."""
    from station.dataset import video
    from station.priority import thread_ids

    assert [video.svt_parallelism(c) for c in (1, 2, 3, 5, 6, 11, 12, 23, 24, 64)] == [1, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    monkeypatch.setattr(video.os, "sched_getaffinity", lambda pid: set(range(4)))
    settings = VideoSettings.for_codec("libsvtav1")
    lps = [video._encoder_options(settings, n)["svtav1-params"].split(":")[-1] for n in (1, 2, 3, 8)]
    assert lps == ["lp=3", "lp=2", "lp=1", "lp=1"]

    frames = _moving_frames()
    threads = {}
    for n in (1, 4):
        before = len(thread_ids())
        encode_video(iter(frames), tmp_path / f"{n}.mp4", 30, 160, 120, settings, pix_fmt="yuv420p",
                     encoders_at_once=n, on_open=lambda n=n, b=before: threads.setdefault(n, len(thread_ids()) - b))
    assert threads[4] < threads[1]  # level 1 against 3: the level reached the encoder

    alone, shared = _decoded(tmp_path / "1.mp4"), _decoded(tmp_path / "4.mp4")
    assert len(alone) == len(shared) == 20
    assert all(np.array_equal(a, b) for a, b in zip(alone, shared, strict=True))
