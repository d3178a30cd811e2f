"""The joint plots follow the data: each plot's y range widens to take in a joint's values and tightens after."""

import numpy as np

from station.joints import JOINTS
from widgets.joint_plots import RANGE_EVERY, JointPlots


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
