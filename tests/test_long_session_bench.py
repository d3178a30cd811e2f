"""The long-session memory bench runs and reads the session's memory after every take (a short smoke run)."""

from __future__ import annotations

from station.bench.long_session import run, slope_mb_per_100


def test_growth_is_measured_on_the_second_half():
    assert slope_mb_per_100([500.0, 300.0, 300.0, 300.0, 300.0, 300.0]) == 0.0  # the warm-up is not growth
    assert round(slope_mb_per_100([0, 0, 0, 0, 1, 2, 3, 4])) == 100


def test_a_short_session_reports_rss_after_each_take(tmp_path):
    result = run(takes=3, cameras=1, size="64x48", vcodec="h264", episode_s=0.5, root=tmp_path / "ds", echo=False)
    assert result["exit_code"] == 0, result["stderr"]
    assert len(result["rss_mb"]) == 3 and all(50 < mb < 2000 for mb in result["rss_mb"])
