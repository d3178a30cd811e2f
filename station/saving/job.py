"""Turning a spool into a dataset episode: pure functions, testable without Qt.

`prepare_episode` does the slow part (encode each camera, compute image stats) inside the spool directory,
so it may run in parallel with other takes; `commit_episode` renames the results into the dataset, and must
run in episode order. `save_episode` is both, inline: the synchronous path (and the benchmark's baseline).
"""

from __future__ import annotations

import errno
import logging
import shutil
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import numpy as np

from station.dataset.episode_facts import EpisodeFacts
from station.dataset.fsutil import size_in_words, write_json_atomic
from station.dataset.quality import QualityThresholds, take_flags
from station.dataset.spec import CameraSpec, VideoSettings
from station.dataset.stats import downsample_for_stats, image_stats, sample_indices, stats_step
from station.dataset.video import encode_video
from station.dataset.writer import DatasetWriter, EpisodeData
from station.errors import DatasetError, DiskFullError, describe_error
from station.priority import BackgroundThreads
from station.saving.faults import checkpoint
from station.saving.memory import release_freed_memory
from station.saving.spool import SpoolReader, SpoolWriter, remove_spool

log = logging.getLogger(__name__)
COMMIT_STAMP = "commit.json"  # in a spool: the dataset slot its episode is being committed to


class Cancelled(Exception):
    """The take was discarded (re-record) while its save was running."""


class Reporter(Protocol):
    def stage(self, name: str) -> None: ...

    def progress(self, fraction: float) -> None: ...

    @property
    def cancelled(self) -> bool: ...


class NullReporter:
    cancelled = False

    def stage(self, name: str) -> None:
        pass

    def progress(self, fraction: float) -> None:
        pass


def prepare_episode(spool: SpoolReader, video: VideoSettings, reporter: Reporter) -> EpisodeData:
    """Encode a finished take (after a crash, a retry, or when saving could not start during the take)."""
    if spool.frames == 0:
        raise ValueError("the take has no frames")
    return _prepare(spool.directory, spool.info.cameras, spool.info.fps, spool.frames_of,
                    lambda: spool.frames, video, reporter, parallel=False, pix_fmt=spool.pix_fmt)


def prepare_live(spool: SpoolWriter, video: VideoSettings, reporter: Reporter) -> EpisodeData:
    """Encode a take while it is being recorded, following its spool; finishes once the take has ended."""
    return _prepare(spool.directory, spool.info.cameras, spool.info.fps,
                    lambda cam: spool.live_frames(cam, lambda: reporter.cancelled), lambda: spool.written,
                    video, reporter, parallel=True, pix_fmt=spool.info.pix_fmt)


def _prepare(
    directory: Path,
    cams: Sequence[CameraSpec],
    fps: int,
    frames_of: Callable[[str], Iterator[np.ndarray]],
    recorded: Callable[[], int],
    video: VideoSettings,
    reporter: Reporter,
    parallel: bool,
    pix_fmt: str = "rgb24",
) -> EpisodeData:
    """Encode every camera into <spool>/out/, then compute image stats.

    A live take needs every camera encoded at once (one thread each; encoders release the GIL), since its
    frames arrive together. A finished take is encoded one camera after the other: each encoder already
    uses every core (measured: ~230 frames/s alone, ~115 each when two run at once), so it is as fast and
    holds one encoder's memory (~120 MB for SVT-AV1 at 640x480) instead of one per camera.
    """
    out = directory / "out"
    out.mkdir(exist_ok=True)
    encoded = {cam.name: 0 for cam in cams}
    failed = threading.Event()
    at_once = len(cams) if parallel else 1

    def encode_camera(cam: CameraSpec) -> int:
        starting = BackgroundThreads()

        def on_frame(i: int) -> None:
            if reporter.cancelled or failed.is_set():
                raise Cancelled()
            checkpoint("encode-frame")
            encoded[cam.name] = i + 1
            reporter.progress(sum(encoded.values()) / max(1, recorded() * len(cams)))

        frames = frames_of(cam.name)
        try:
            # Normal scheduling, not the foreground: x264 encodes in this very thread, and a real-time thread
            # busy encoding shares its core with nothing of the same priority (the window's GUI thread waited
            # 170 ms behind two of them) and nothing below (the desktop). It holds the GIL only moments per
            # frame (the frame goes to the encoder wrapped, not copied).
            with starting:
                return encode_video(frames, out / f"{cam.name}.mp4", fps, cam.width, cam.height,
                                    video, on_frame=on_frame, pix_fmt=pix_fmt, encoders_at_once=at_once,
                                    on_open=starting.release)
        except BaseException:
            failed.set()
            raise
        finally:
            # The reader closes its spool file now, however the encode ended. Without this, the capacity bench
            # found both cameras' frame files of each probe still open after its session had closed and its
            # spool was removed (12 GB a probe held on disk), and the next probe had no room for its take.
            if isinstance(frames, Generator):
                frames.close()

    written: dict[str, int] = {}
    with disk_errors_in_plain_words(directory):
        if cams:
            reporter.stage("encoding " + " + ".join(cam.name for cam in cams))
            try:
                with ThreadPoolExecutor(at_once, thread_name_prefix="encode") as pool:
                    futures = {cam.name: pool.submit(encode_camera, cam) for cam in cams}
                    written = {name: f.result() for name, f in futures.items()}
            finally:
                release_freed_memory()  # the encoders are closed: give their pages back (saving/memory.py)
        if reporter.cancelled:
            raise Cancelled()
        spool = SpoolReader(directory)  # the take has ended: its rows and frame count are final
        if not spool.complete:
            raise ValueError("the take did not reach the disk completely")
        if spool.frames == 0:
            raise ValueError("the take has no frames")
        for cam in cams:
            if written[cam.name] != spool.frames:
                raise RuntimeError(f"camera {cam.name}: encoded {written[cam.name]} frames for {spool.frames} rows")
        reporter.stage("computing stats")
        indices = sample_indices(spool.frames).tolist()
        stats = {
            cam.name: image_stats([downsample_for_stats(f) for f in
                                   spool.frames_at(cam.name, indices, stats_step(cam.height, cam.width))])
            for cam in cams
        }
    return EpisodeData(
        task=spool.info.task, action=spool.action, state=spool.state,
        videos={cam.name: out / f"{cam.name}.mp4" for cam in cams}, image_stats=stats, facts=take_facts(spool),
    )


def take_facts(spool: SpoolReader) -> EpisodeFacts:
    """The take's per-episode facts and quality flags, from its rows and cadence report (no video is read).

    A problem here never fails the save: the take is saved without flags and the problem is logged.
    """
    cadence = spool.cadence
    repeated = dict(cadence.repeated_frames or {}) if cadence else {}
    filled = cadence.filled_ticks if cadence else 0  # ticks the loop could not run, filled with the row before
    facts = EpisodeFacts(filled_ticks=filled, repeated_frames=repeated)
    try:
        thresholds = QualityThresholds.load(spool.directory.parents[2])  # <root>/.station/spool/<take>
    except DatasetError as e:
        log.warning("quality thresholds: %s; using the defaults", e)
        thresholds = QualityThresholds()
    try:
        flags = take_flags(
            spool.action, spool.state, spool.info.fps, spool.info.joint_names, repeated, filled,
            (cadence.stalled_cameras or []) if cadence else [], spool.info.episode_time_s, thresholds,
            cadence.interrupted if cadence else "",
        )
    except Exception:
        log.exception("computing the quality flags of %s failed; saved without flags", spool.directory.name)
        return facts
    facts.flags = [f.name for f in flags]
    return facts


def commit_episode(writer: DatasetWriter, episode: EpisodeData, reporter: Reporter, spool_dir: Path | None) -> int:
    """Write the episode's data and metadata and move its videos into the dataset, atomically.

    The spool is first stamped with the slot the episode will take, so that recovery after a crash between
    the commit and the spool's removal knows the take is already in the dataset and does not add it twice.
    If the commit fails after its journal was written, repair() rolls it forward: the episode is then in
    the dataset, and committing it again would duplicate it, so that case counts as committed.
    """
    reporter.stage("writing data")
    before = writer.total_episodes
    if spool_dir is not None:
        stamp = {"episode_index": before, "dataset_from_index": writer.total_frames, "length": len(episode.action)}
        write_json_atomic(spool_dir / COMMIT_STAMP, stamp)

    def stage(name: str) -> None:
        reporter.stage("committing" if name in ("updating stats", "saving") else "writing data")

    try:
        with disk_errors_in_plain_words(writer.root):
            return writer.commit_episode(episode, on_stage=stage)
    except BaseException:
        try:
            writer.repair()
        except Exception as e:  # rolled forward by the next commit, or by opening the dataset again
            # Said in the log only (--verbose): the failed save's own message is what the operator reads,
            # once, and the dataset as readers see it is whole either way.
            log.info("could not put %s in order after the failed save (%s): the next save does", writer.root,
                     describe_error(e), exc_info=True)
        if writer.total_episodes > before:
            return before
        raise


def save_episode(spool: SpoolReader, writer: DatasetWriter, reporter: Reporter | None = None) -> int:
    """Prepare and commit inline, then remove the spool. Returns the episode index."""
    reporter = reporter or NullReporter()
    episode = prepare_episode(spool, writer.spec.video, reporter)
    index = commit_episode(writer, episode, reporter, spool.directory)
    checkpoint("committed")
    remove_spool(spool.directory)
    return index


@contextmanager
def disk_errors_in_plain_words(where: Path) -> Iterator[None]:
    """Turn ENOSPC/EDQUOT into a DiskFullError the operator can act on; the spool is kept to save it again."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        free = size_in_words(shutil.disk_usage(where).free if where.exists() else 0)
        raise DiskFullError(
            f"the disk holding {where} is full ({free} free): free some space, then save it again"
        ) from exc
