"""V4L2 pixel formats (fourcc codes, as `station cameras` lists them) and FFmpeg's names for them.

FFmpeg's v4l2 input takes the format to ask a device for as its `input_format` option, spelled as FFmpeg names
a pixel format (yuyv422) or a decoder (mjpeg). This is the part of FFmpeg's own table (libavdevice/v4l2-common.c)
where a name leads back to exactly one fourcc: YV12, for one, also decodes as yuv420p but cannot be asked for.
"""

from __future__ import annotations

FFMPEG_INPUT_FORMATS: dict[str, str] = {
    "MJPG": "mjpeg",  # Motion-JPEG: what most USB cameras give at full rate
    "JPEG": "mjpeg",  # FFmpeg asks for MJPG, then JPEG
    "H264": "h264",
    "YUYV": "yuyv422",
    "UYVY": "uyvy422",
    "YU12": "yuv420p",
    "422P": "yuv422p",
    "411P": "yuv411p",
    "YUV9": "yuv410p",
    "NV12": "nv12",
    "GREY": "gray",
    "Y16": "gray16le",
    "RGB3": "rgb24",
    "BGR3": "bgr24",
    "RGBO": "rgb555le",
    "RGBQ": "rgb555be",
    "RGBP": "rgb565le",
    "RGBR": "rgb565be",
    "XR24": "bgr0",
    "BX24": "0rgb",
    "AR24": "bgra",
    "BA24": "argb",
    "BA81": "bayer_bggr8",
    "GBRG": "bayer_gbrg8",
    "GRBG": "bayer_grbg8",
    "RGGB": "bayer_rggb8",
}
AUTOMATIC_FORMAT = "MJPG"  # asked for when the device offers it and no format is given (else the driver's own)


def pixel_format_problem(fourcc: str) -> str:
    """Why `fourcc` cannot be asked of a V4L2 device ("" when it can)."""
    if fourcc in FFMPEG_INPUT_FORMATS:
        return ""
    return (f"unknown pixel format {fourcc!r}: use a V4L2 fourcc such as MJPG or YUYV "
            "(`station cameras` lists what each device offers)")
