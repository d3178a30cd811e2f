"""A camera's yuv420p frame is drawn in its own colours, at the size of its tile."""

import av
import numpy as np

from widgets.camera_view import FrameCanvas


def yuv_frame(rgb: tuple[int, int, int], width: int = 320, height: int = 240) -> np.ndarray:
    image = np.empty((height, width, 3), np.uint8)
    image[:] = rgb
    return av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p").to_ndarray()


def test_a_yuv_frame_is_drawn_in_its_colours_at_the_tiles_size(qtbot):
    canvas = FrameCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(400, 300)
    canvas.show()
    qtbot.waitExposed(canvas)
    for colour in ((220, 40, 30), (30, 200, 60), (40, 50, 210)):
        canvas.set_frame(yuv_frame(colour))
        shown = canvas.grab().toImage()
        pixel = shown.pixelColor(shown.width() // 2, shown.height() // 2)
        assert np.allclose((pixel.red(), pixel.green(), pixel.blue()), colour, atol=12)
    assert canvas._image is not None and (canvas._image.width(), canvas._image.height()) == (400, 300)
