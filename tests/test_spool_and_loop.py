"""The spool (durable, self-describing takes) and the control loop that fills it."""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time

import numpy as np
import pytest

from station.dataset.take_source import SpoolTake
from station.hardware.sim import PatternCamera, SimulatedFollower, SimulatedLeader
from station.saving import spool as spool_module
from station.saving.recovery import find_spools, seal_partial
from station.saving.spool import (
    CadenceReport,
    SpoolReader,
    SpoolWriter,
    TakeInfo,
    frame_bytes,
    frame_stride,
    list_spools,
    spooled_to_rgb,
    to_spool_format,
)
from station.session.loop import ControlLoop, TakeRecorder


def take_info(cams=(("front", 8, 6),), fps=30) -> TakeInfo:
    return TakeInfo(
        task="stack", fps=fps, robot_type="so_follower", joint_names=[f"j{i}.pos" for i in range(6)],
        cameras=[{"name": n, "width": w, "height": h} for n, w, h in cams], created=time.time(),
    )


def image(value: int, w=8, h=6) -> np.ndarray:
    return np.full((h, w, 3), value, dtype=np.uint8)


def test_spool_round_trip(tmp_path):
    writer = SpoolWriter.create(tmp_path, take_info((("front", 8, 6), ("wrist", 4, 2))))
    for i in range(40):
        a = np.arange(6, dtype=np.float32) + i
        writer.append(0.1 * i, a, -a, {"front": image(i), "wrist": image(200 - i, 4, 2)})
    path = writer.finish(CadenceReport(fps=30, ticks=40, repeated_frames={"front": 1, "wrist": 0}))
    assert list_spools(tmp_path) == [path]
    spool = SpoolReader(path)
    assert spool.complete and spool.frames == 40
    assert spool.action[7].tolist() == [7, 8, 9, 10, 11, 12]
    assert np.array_equal(spool.state, -spool.action)
    assert spool.pix_fmt == "yuv420p"  # what the encoder eats: half the bytes of RGB
    assert (path / "front.yuv").stat().st_size == 40 * frame_bytes(8, 6, "yuv420p") == 40 * 8 * 6 * 3 // 2
    front = list(spool.frames_of("front"))
    assert len(front) == 40 and front[13].shape == (9, 8)
    assert abs(int(spooled_to_rgb(front[13], "yuv420p", 8, 6)[0, 0, 0]) - 13) <= 2
    wrist = spooled_to_rgb(next(iter(spool.frames_of("wrist"))), "yuv420p", 4, 2)
    assert abs(int(wrist[0, 0, 0]) - 200) <= 2
    samples = list(spool.frames_at("front", [5, 30]))  # RGB again, for image stats
    assert [f.shape for f in samples] == [(6, 8, 3)] * 2
    assert [abs(int(f[0, 0, 1]) - v) <= 2 for f, v in zip(samples, [5, 30], strict=True)] == [True, True]
    assert spool.cadence is not None and spool.cadence.repeated_frames == {"front": 1, "wrist": 0}


def test_frames_leave_the_page_cache_once_on_disk_but_not_before_the_live_encoder_has_read_them(
        tmp_path, monkeypatch):
    advice: list[tuple[str, int, int]] = []  # (file, offset, length) of every drop asked for
    real_fadvise = os.posix_fadvise

    def record(fd: int, offset: int, length: int, what: int) -> None:
        if what == os.POSIX_FADV_DONTNEED:
            advice.append((os.path.basename(os.readlink(f"/proc/self/fd/{fd}")), offset, length))
        real_fadvise(fd, offset, length, what)

    monkeypatch.setattr(os, "posix_fadvise", record)
    size = frame_bytes(8, 6, "yuv420p")
    writer = SpoolWriter.create(tmp_path, take_info((("front", 8, 6), ("wrist", 8, 6))))
    front = writer.live_frames("front", lambda: False)  # the live encoder of one camera only
    for i in range(12):
        writer.append(0.1 * i, np.zeros(6, np.float32), np.zeros(6, np.float32),
                      {"front": image(i), "wrist": image(i)})
    read = [next(front) for _ in range(5)]  # waits for the writer: 5 frames are on disk and read
    path = writer.finish(CadenceReport(fps=30, ticks=12))  # syncs every row, then drops what it may
    wrist_drops = [n for name, o, n in advice if name == "wrist.yuv" and o == 0]
    front_drops = [n for name, o, n in advice if name == "front.yuv" and o == 0]
    assert max(wrist_drops) == 12 * size  # no live reader: every frame on disk leaves the cache
    assert front_drops and max(front_drops) <= 5 * size  # the reader's 7 unread frames stay cached
    rest = list(front)
    assert len(read) + len(rest) == 12  # dropping changes what is cached, never what is read
    assert [abs(int(spooled_to_rgb(f, "yuv420p", 8, 6)[0, 0, 0]) - i) <= 2 for i, f in enumerate(read + rest)] \
        == [True] * 12
    assert SpoolReader(path).frames == 12


def test_large_frames_go_straight_to_the_disk_block_aligned_and_read_back_whole(tmp_path):
    writer = SpoolWriter.create(tmp_path, take_info((("front", 640, 480), ("wrist", 8, 6))))
    frames = [to_spool_format(image(i * 20, 640, 480), "yuv420p") for i in range(6)]
    assert fcntl.fcntl(writer._cams["front"].fileno(), fcntl.F_GETFL) & os.O_DIRECT
    assert not fcntl.fcntl(writer._cams["wrist"].fileno(), fcntl.F_GETFL) & os.O_DIRECT  # a small frame
    for i, frame in enumerate(frames):
        writer.append(0.1 * i, np.zeros(6, np.float32), np.zeros(6, np.float32), {"front": frame, "wrist": image(i)})
    path = writer.finish(CadenceReport(fps=30, ticks=6))
    stride = frame_stride(640, 480, "yuv420p")
    assert stride == 462_848 and stride % 4096 == 0 and stride - frame_bytes(640, 480, "yuv420p") < 4096
    assert (path / "front.yuv").stat().st_size == 6 * stride
    assert (path / "wrist.yuv").stat().st_size == 6 * frame_bytes(8, 6, "yuv420p")  # back to back
    spool = SpoolReader(path)
    assert spool.frames == 6
    assert [f.tobytes() for f in spool.frames_of("front")] == [f.tobytes() for f in frames]
    assert [abs(int(f[0, 0, 0]) - 100) <= 2 for f in spool.frames_at("front", [5])] == [True]
    take = SpoolTake(path)
    assert abs(int(take.frame("front", 3)[0, 0, 0]) - 60) <= 2
    take.close()


def test_the_live_encoder_gets_frames_from_memory_while_it_keeps_up_and_from_the_file_when_far_behind(
        tmp_path, monkeypatch):
    given = [to_spool_format(image(i * 20, 640, 480), "yuv420p") for i in range(8)]
    monkeypatch.setattr(spool_module, "TEE_BYTES", 3 * given[0].nbytes)
    monkeypatch.setattr(spool_module, "TEE_SECONDS", 0.0)
    writer = SpoolWriter.create(tmp_path, take_info((("front", 640, 480),)))
    writer._queue.maxsize = 1  # no free queue room to lend the tee (see the next test)
    before = [given[0]]  # written before the encoder came: from the file
    writer.append(0.0, np.zeros(6, np.float32), np.zeros(6, np.float32), {"front": given[0]})
    with writer._written_changed:
        assert writer._written_changed.wait_for(lambda: writer.written == 1, timeout=10)
    live = writer.live_frames("front", lambda: False)
    taken = [next(live)]  # the encoder starts: from the next frame written on, the writer keeps frames for it
    for i in range(1, 8):  # the encoder takes nothing meanwhile: 3 frames wait in memory, the rest on disk
        writer.append(0.1 * i, np.zeros(6, np.float32), np.zeros(6, np.float32), {"front": given[i]})
    writer.finish(CadenceReport(fps=30, ticks=8))
    taken += list(live)
    assert [f.tobytes() for f in taken] == [f.tobytes() for f in before + given[1:]]
    assert [f is g for f, g in zip(taken, given, strict=True)] == [False, True, True, True] + [False] * 4
    assert writer._tee == {} and writer._read == {}  # nothing held once the encoder is done


def test_the_tee_takes_the_room_the_writers_queue_leaves_free(tmp_path, monkeypatch):
    """A writer catching up hands its queue's frames to the tee: they stay in memory for the encoder."""
    given = [to_spool_format(image(i * 20, 640, 480), "yuv420p") for i in range(8)]
    monkeypatch.setattr(spool_module, "TEE_BYTES", 0)
    monkeypatch.setattr(spool_module, "TEE_SECONDS", 0.0)
    writer = SpoolWriter.create(tmp_path, take_info((("front", 640, 480),)))
    writer.append(0.0, np.zeros(6, np.float32), np.zeros(6, np.float32), {"front": given[0]})
    with writer._written_changed:
        assert writer._written_changed.wait_for(lambda: writer.written == 1, timeout=10)
    live = writer.live_frames("front", lambda: False)
    taken = [next(live)]  # written before the encoder came: from the file
    assert writer.taken == 1  # what the capacity bench counts as encoded
    for i in range(1, 8):  # the encoder takes nothing meanwhile; the queue (8 rows at least) stays nearly empty
        writer.append(0.1 * i, np.zeros(6, np.float32), np.zeros(6, np.float32), {"front": given[i]})
    writer.finish(CadenceReport(fps=30, ticks=8))
    taken += list(live)
    assert [f is g for f, g in zip(taken, given, strict=True)] == [False] + [True] * 7  # none read back


def test_frames_far_behind_are_read_ahead_on_a_thread_straight_from_the_disk(tmp_path, monkeypatch):
    from station.saving.spool import FramesReadAhead

    writer = SpoolWriter.create(tmp_path, take_info((("front", 640, 480), ("wrist", 8, 6))))
    given = [to_spool_format(image(i * 20, 640, 480), "yuv420p") for i in range(6)]
    for i, frame in enumerate(given):
        writer.append(0.1 * i, np.zeros(6, np.float32), np.zeros(6, np.float32), {"front": frame, "wrist": image(i)})
    path = writer.finish(CadenceReport(fps=30, ticks=6))
    reads: list[tuple[str, bool]] = []  # (thread, straight from the disk) of every read
    real_preadv = os.preadv

    def preadv(fd: int, buffers: list, offset: int) -> int:
        reads.append((threading.current_thread().name, bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT)))
        return real_preadv(fd, buffers, offset)

    monkeypatch.setattr(os, "preadv", preadv)
    stride = frame_stride(640, 480, "yuv420p")
    front = FramesReadAhead(path / "front.yuv", given[0].shape, stride, ahead=3, name="front")
    front.want(range(3))
    got = [front.take(i) for i in range(6)]
    assert front.take(6) is None  # past the end of the file
    front.close()
    assert [f.tobytes() for f in got if f is not None] == [f.tobytes() for f in given]
    assert len(reads) == 7 and all(name.startswith("spool-read-front") and direct for name, direct in reads)

    small = FramesReadAhead(path / "wrist.yuv", (9, 8), frame_bytes(8, 6, "yuv420p"), ahead=3, name="wrist")
    frame = small.take(4)  # not on block boundaries: through the page cache
    small.close()
    assert frame is not None and abs(int(spooled_to_rgb(frame, "yuv420p", 8, 6)[0, 0, 0]) - 4) <= 2


def test_a_file_system_that_refuses_a_direct_read_is_read_through_the_page_cache(tmp_path, monkeypatch):
    import errno

    from station.saving.spool import FramesReadAhead

    writer = SpoolWriter.create(tmp_path, take_info((("front", 640, 480),)))
    given = [to_spool_format(image(i * 20, 640, 480), "yuv420p") for i in range(3)]
    for i, frame in enumerate(given):
        writer.append(0.1 * i, np.zeros(6, np.float32), np.zeros(6, np.float32), {"front": frame})
    path = writer.finish(CadenceReport(fps=30, ticks=3))

    def refused(fd: int, buffers: list, offset: int) -> int:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "preadv", refused)
    front = FramesReadAhead(path / "front.yuv", given[0].shape, frame_stride(640, 480, "yuv420p"), 2, "front")
    got = [front.take(i) for i in range(3)]
    front.close()
    assert [f.tobytes() for f in got if f is not None] == [f.tobytes() for f in given]


def test_an_rgb_spool_of_version_1_is_still_read_and_encoded(tmp_path):
    from station.dataset.spec import VideoSettings
    from station.dataset.video import probe_video
    from station.saving.job import NullReporter, prepare_episode

    info = take_info((("front", 16, 12),))
    info.pix_fmt = "rgb24"
    writer = SpoolWriter.create(tmp_path, info)
    for i in range(6):
        writer.append(i / 30, np.zeros(6, np.float32), np.zeros(6, np.float32), {"front": image(40 * i, 16, 12)})
    path = writer.finish(CadenceReport(ticks=6))
    raw = json.loads((path / "take.json").read_text())
    del raw["pix_fmt"]
    raw["version"] = 1  # exactly what the previous version wrote
    (path / "take.json").write_text(json.dumps(raw))
    spool = SpoolReader(path)
    assert spool.pix_fmt == "rgb24" and (path / "front.rgb").stat().st_size == 6 * 16 * 12 * 3
    assert next(iter(spool.frames_of("front"))).shape == (12, 16, 3)
    episode = prepare_episode(spool, VideoSettings.for_codec("h264"), NullReporter())
    assert probe_video(episode.videos["front"])[0] == 6


def test_a_spool_in_an_unknown_pixel_format_is_refused_in_plain_words(tmp_path):
    writer = SpoolWriter.create(tmp_path, take_info())
    path = writer.finish(CadenceReport())
    raw = json.loads((path / "take.json").read_text())
    raw["pix_fmt"] = "nv12"
    (path / "take.json").write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="stored as 'nv12', which this version of station cannot read"):
        SpoolReader(path)


def test_a_crash_cut_spool_is_partial_and_can_be_sealed(tmp_path):
    writer = SpoolWriter.create(tmp_path, take_info())
    for i in range(5):
        writer.append(i / 30, np.zeros(6, np.float32), np.zeros(6, np.float32), {"front": image(i)})
    writer._queue.put(None)  # the process 'dies': data reached the files, done.json never written
    writer._thread.join()
    writer._close()
    complete, partial = find_spools(tmp_path)
    assert complete == [] and partial == [writer.directory]
    assert SpoolReader(writer.directory).frames == 5
    assert seal_partial(writer.directory) == 5
    assert SpoolReader(writer.directory).complete


def test_truncated_complete_spool_is_refused(tmp_path):
    writer = SpoolWriter.create(tmp_path, take_info())
    for i in range(3):
        writer.append(i / 30, np.zeros(6, np.float32), np.zeros(6, np.float32), {"front": image(i)})
    path = writer.finish(CadenceReport(ticks=3))
    with open(path / "front.yuv", "r+b") as f:
        f.truncate(frame_bytes(8, 6, "yuv420p") * 2)
    with pytest.raises(ValueError, match="truncated"):
        SpoolReader(path)


def test_wrong_frame_size_is_an_error_not_a_silent_truncation(tmp_path):
    writer = SpoolWriter.create(tmp_path, take_info())
    writer.append(0.0, np.zeros(6, np.float32), np.zeros(6, np.float32), {"front": image(0, w=9)})
    with pytest.raises(ValueError, match="expected 8x6"):
        writer.finish(CadenceReport())


def test_loop_records_one_row_per_tick_with_repeats_counted(tmp_path):
    cam = PatternCamera("front", 8, 6, fps=10)  # slower than the loop: about two of three ticks repeat
    cam.start()
    loop = ControlLoop(SimulatedLeader(), SimulatedFollower(), [cam], fps=30)
    full = threading.Event()
    take = TakeRecorder(SpoolWriter.create(tmp_path, take_info()), 30, max_rows=15, on_full=full.set)
    loop.start()
    try:
        loop.swap_take(take)
        assert full.wait(5)
        assert loop.swap_take(None) is take
    finally:
        loop.stop()
        cam.stop()
    path = take.spool.finish(take.cadence)
    spool = SpoolReader(path)
    assert spool.frames == 15 == take.cadence.ticks
    assert take.cadence.repeated_frames is not None
    assert 5 <= take.cadence.repeated_frames["front"] <= 14
    periods = np.diff(spool.rows["t"])
    assert np.all(periods > 0)
    # the follower tracks the leader with lag: close, but not equal
    assert np.abs(spool.action - spool.state).max() < 60
    assert not np.array_equal(spool.action, spool.state)


def test_loop_has_no_catch_up_burst_after_a_stall():
    class SlowOnce(SimulatedLeader):
        calls = 0

        def read(self):
            SlowOnce.calls += 1
            if SlowOnce.calls == 3:
                threading.Event().wait(0.2)  # one tick takes 6 periods
            return super().read()

    loop = ControlLoop(SlowOnce(), SimulatedFollower(), [], fps=30)
    times: list[float] = []
    done = threading.Event()
    real_tick = loop.tick

    def tick(t, tick_no=None):
        times.append(t)
        real_tick(t, tick_no)
        if len(times) == 14:
            done.set()

    loop.tick = tick  # type: ignore[method-assign]
    loop.start()
    try:
        assert done.wait(5)
    finally:
        loop.stop()
    t = np.asarray(times[:14])
    stall_end = int(np.argmax(np.diff(t))) + 1
    assert t[stall_end] - t[stall_end - 1] > 0.15  # the stall shows
    # After it the loop goes on at its rate: about 3 ticks in the next 0.1 s. Catching up on the 6 missed
    # ticks would put 9 there.
    after = np.sum((t > t[stall_end]) & (t <= t[stall_end] + 0.1))
    assert after <= 4
    assert loop.late_ticks >= 1


def test_ticks_the_loop_could_not_run_become_filled_rows_so_time_stays_true(tmp_path):
    class Stalls(SimulatedLeader):
        calls = 0

        def read(self):
            Stalls.calls += 1
            if Stalls.calls in (5, 12):
                threading.Event().wait(0.25)  # two stalls of about 7 periods each
            return super().read()

    cam = PatternCamera("front", 8, 6, fps=30)
    cam.start()
    loop = ControlLoop(Stalls(), SimulatedFollower(), [cam], fps=30)
    full = threading.Event()
    take = TakeRecorder(SpoolWriter.create(tmp_path, take_info()), 30, max_rows=45, on_full=full.set)
    loop.swap_take(take)
    loop.start()
    try:
        assert full.wait(5)
        loop.swap_take(None)
    finally:
        loop.stop()
        cam.stop()
    c = take.cadence
    assert c.ticks == 45 and c.filled_ticks >= 10  # each stall's missed ticks are rows too
    # one row per period of wall-clock time: the rows' span is what their count says
    assert abs((c.last_tick - c.first_tick) - 44 / 30) < 1.5 / 30
    assert take.last_tick_no - take.first_tick_no == 44  # consecutive on the loop's grid
    assert c.filled_fraction > 0.02 and "filled ticks: " in c.summary()
    path = take.spool.finish(c)
    spool = SpoolReader(path)
    assert spool.frames == 45 and spool.cadence is not None and spool.cadence.filled_ticks == c.filled_ticks


@pytest.mark.parametrize("height", [6, 8, 480, 722])  # PyAV wraps yuv420p only for heights that are multiples of 4
def test_a_frame_handed_to_the_encoder_or_swscale_keeps_its_size_and_pixels(height):
    from station.dataset.video import video_frame

    planes = to_spool_format(image(90, 16, height), "yuv420p")
    frame = video_frame(planes, "yuv420p")
    assert (frame.width, frame.height) == (16, height)
    assert np.array_equal(frame.to_ndarray(), planes)
    rgb = image(90, 16, height)
    assert np.array_equal(video_frame(rgb, "rgb24").to_ndarray(), rgb)


def test_rows_filled_after_a_stall_are_not_the_disk_falling_behind(tmp_path, monkeypatch):
    """A process stopped for seconds fills its missed ticks at once, more than the writer's queue holds: those
    appends wait, but not for a slow disk. A row that ran and found the queue full is counted."""
    writes = threading.Semaphore(0)  # the writer writes only what the test lets it

    def held_write(f, data):
        writes.acquire()
        return original(f, data)

    original = spool_module.write_all
    monkeypatch.setattr(spool_module, "write_all", held_write)
    writer = SpoolWriter.create(tmp_path, take_info(fps=30))
    a = np.zeros(6, dtype=np.float32)
    row = {"front": image(1)}
    burst = threading.Thread(target=lambda: [writer.append(i / 30, a, a, row, filled=True) for i in range(60)])
    burst.start()  # twice what the queue holds
    for _ in range(2 * 40):
        writes.release()  # a row and its frame at a time: room for the burst
    burst.join(5)
    while writes._value:  # the writer uses up what it was let write, then waits: the queue holds still
        time.sleep(0.01)
    time.sleep(0.05)
    while not writer._queue.full():
        writer.append(1.5, a, a, row, filled=True)
    assert not burst.is_alive() and writer._queue.full() and writer.waited == 0
    ran = threading.Thread(target=writer.append, args=(2.0, a, a, row))  # a row that ran: it waits for room
    ran.start()
    for _ in range(2 * 20):
        writes.release()
    ran.join(5)
    assert writer.waited == 1  # the disk held the loop up: counted
    for _ in range(100_000):
        writes.release()
    writer.finish(CadenceReport(fps=30, ticks=writer.frames, repeated_frames={"front": 0}))
