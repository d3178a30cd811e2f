"""The joint plots follow the data: each plot's y range widens to take in a joint's values and tightens after;
a new frame paints the lines over a picture of the plots, taken again only where a range changed."""

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter

from station.joints import JOINTS
from widgets.joint_plots import LEADER_COLOUR, RANGE_EVERY, JointPlots


def feed(plots: JointPlots, values: np.ndarray, frames: int) -> None:
    t = np.arange(60) / 30.0
    for _ in range(frames):
        a = np.tile(values, (len(t), 1))
        plots.show_history(t, a, a + 1.0)


def y_ranges(plots: JointPlots) -> list[tuple[float, float]]:
    return [tuple(p.getViewBox().viewRange()[1]) for p in plots.plots]


def test_every_plot_takes_in_its_joints_values_within_one_round_and_tightens_again(qtbot):
    plots = JointPlots()
    qtbot.addWidget(plots)
    far = np.array([100.0 * (j + 1) for j in range(len(JOINTS))])
    feed(plots, far, RANGE_EVERY)  # the plots take turns: one round checks each once
    for (lo, hi), v in zip(y_ranges(plots), far, strict=True):
        assert lo < v and v + 1.0 < hi
    near = np.zeros(len(JOINTS))
    feed(plots, near, RANGE_EVERY)
    for lo, hi in y_ranges(plots):
        assert lo < 0.0 < 1.0 < hi and hi - lo < 50.0  # far too loose: tightened around the new values


def leader_pixels(plots: JointPlots, plot: int) -> int:
    """Pixels of the leader's colour inside a plot's view box, as the window shows it."""
    image = plots.grab().toImage()
    box = plots.overlay._boxes[plot][0].toAlignedRect()
    rgb = QColor(LEADER_COLOUR).rgb()
    return sum(image.pixel(x, y) == rgb for x in range(box.left(), box.right(), 2)
               for y in range(box.top(), box.bottom()))


def painted(qtbot, plots: JointPlots) -> None:
    paints = plots.overlay.paints
    qtbot.waitUntil(lambda: plots.overlay.paints > paints, timeout=3000)


def fresh_picture(plots: JointPlots) -> QImage:
    """The plots as pyqtgraph draws them now, from scratch."""
    overlay = plots.overlay
    assert overlay.backdrop is not None
    image = QImage(overlay.backdrop.size(), overlay.backdrop.format())
    image.setDevicePixelRatio(overlay.backdrop.devicePixelRatio())
    image.fill(plots.backgroundBrush().color())
    p = QPainter(image)
    plots.render(p, QRectF(overlay.rect()), overlay.rect())
    p.end()
    return image


@pytest.fixture
def shown(qtbot) -> JointPlots:
    """Plots in a window of their own, on screen."""
    plots = JointPlots()
    qtbot.addWidget(plots)
    plots.resize(700, 500)
    plots.show()
    qtbot.waitExposed(plots)
    return plots


def test_a_frame_paints_the_lines_over_the_picture_and_a_new_range_retakes_it(qtbot, shown):
    plots = shown
    values = np.array([10.0 * (j + 1) for j in range(len(JOINTS))])
    feed(plots, values, 2 * RANGE_EVERY)  # the ranges settle
    painted(qtbot, plots)
    taken = plots.overlay.backdrops_taken
    feed(plots, values, RANGE_EVERY)
    painted(qtbot, plots)
    assert plots.overlay.backdrops_taken == taken  # new frames, same ranges: no picture taken
    assert leader_pixels(plots, 0) > 50  # the lines are there

    values[0] = 500.0  # the first joint leaves its range: its plot's axis and grid move
    for _ in range(3):
        feed(plots, values, RANGE_EVERY)
        painted(qtbot, plots)
    assert plots.overlay.backdrops_taken > taken
    assert y_ranges(plots)[0][1] > 500.0 and leader_pixels(plots, 0) > 50
    assert plots.overlay.backdrop == fresh_picture(plots)  # what the plots show now, nothing drawn twice


def test_a_plot_whose_axis_goes_away_is_drawn_where_it_now_is(qtbot, shown):
    plots = shown
    feed(plots, np.zeros(len(JOINTS)), 2)
    painted(qtbot, plots)
    before = plots.overlay._boxes[0][0]
    plots.plots[0].hideAxis("left")  # the view box widens within an unchanged plot
    qtbot.waitUntil(lambda: plots.overlay._boxes[0][0].width() > before.width(), timeout=3000)
    assert plots.overlay.backdrop == fresh_picture(plots)


def test_the_numbers_shorten_to_fit_a_narrow_plot(qtbot):
    plots = JointPlots()
    qtbot.addWidget(plots)
    feed(plots, np.full(len(JOINTS), -59.4), 1)
    lines = plots.lines[0]
    assert lines.number_words(1000) == ("leader -59.4", "   ", "follower -58.4")
    wide = lines._metrics.horizontalAdvance("leader -000.0   follower -000.0")
    assert lines.number_words(wide) == ("leader -59.4", "   ", "follower -58.4")
    assert lines.number_words(wide - 1) == ("L -59.4", "  ", "F -58.4")  # both numbers stay in view
    feed(plots, np.full(len(JOINTS), 1.0), 1)  # narrower numbers: the same words, not a switch back and forth
    assert lines.number_words(wide - 1)[0].startswith("L ")


def test_a_narrow_camera_tile_drops_the_size_then_the_rate_shown_rather_than_cut_a_number(qtbot):
    from PySide6.QtGui import QFont, QFontMetrics, QTextDocument

    from widgets.camera_view import CameraView

    view = CameraView("front_wrist_camera", 1280, 720)
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.show()
    qtbot.waitExposed(view)
    view.show_rates(30.0)
    assert view.title.text() == "<b>front_wrist_camera</b>&nbsp;&nbsp;1280x720&nbsp;&nbsp;30 fps · shown 0"
    bold = QFont(view.title.font())
    bold.setBold(True)
    seen = set()
    for width in (600, 400, 300, 250, 200, 100):
        view.resize(width, 300)
        doc = QTextDocument()
        doc.setHtml(view.title.text())
        plain = doc.toPlainText()
        seen.add(plain.replace("\u00a0", " "))
        assert QFontMetrics(bold).horizontalAdvance(plain) <= view.title.contentsRect().width() \
            or plain == "front_wrist_camera", (width, plain)  # what is shown is whole
    assert "front_wrist_camera  30 fps · shown 0" in seen and "front_wrist_camera  30 fps" in seen
    assert "capture 30 fps · shown 0" in view.title.toolTip()
