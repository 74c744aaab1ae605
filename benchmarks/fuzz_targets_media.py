"""Fuzz targets: user images and videos.

- ``image``: ``genxd.utils.images.load_image(path, 64, 64)`` (what ``genxd generate IMAGE`` reads) on mutated
  PNG (RGB, RGBA, 16-bit, palette with transparency, grayscale), JPEG (RGB, CMYK, progressive grayscale),
  WebP, TIFF (raw, LZW, JPEG-compressed, 16-bit, float, 1-bit group 4, multi-page), GIF, BMP, JPEG 2000, APNG,
  gray+alpha and 1-bit PNG and an EXIF-rotated JPEG (40x30 each); a file that is read must give a finite float32
  ``[3, 64, 64]`` tensor in [0, 1] (the documented contract);
- ``recon-image``: ``genxd.reconstruction.views.load_image(path)`` (frames of ``genxd reconstruct`` inputs) on
  the same files; a file that is read must give a finite float32 ``[3, H, W]`` tensor in [0, 1];
- ``video``: ``genxd.curation.frames.read_frames`` (``genxd curate``) with small limits on mutated short videos
  (mp4 H.264 and MPEG-4, phone clips with a turning and a mirroring display matrix, avi MJPEG, mkv FFV1, webm VP8, GIF) and frame
  folders (PNG, JPEG, and one of 1-bit / gray+alpha / palette / CMYK / 16-bit / LZW TIFF / EXIF-rotated files);
  a video that is read must give ``uint8 [N, H, W, 3]`` frames within the limits;
- ``video-clip``: the frame reading of ``genxd trajectory from-video`` / ``genxd generate --camera-from-video``
  (``genxd.cameras.clip_cameras._read_clip``: the container's frame count, frames picked by index, an exact
  count by decoding when the stated one is wrong) on the same inputs, without the SfM.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

from fuzz_mutations import mutate_copy
from fuzz_target import FuzzTarget

__all__ = ["TARGETS"]

W, H = 40, 30


def _picture():
    import numpy as np

    y, x = np.mgrid[0:H, 0:W]
    rgb = np.stack([x * 255 // (W - 1), y * 255 // (H - 1), (x + y) * 255 // (W + H - 2)], axis=-1)
    return rgb.astype(np.uint8)


def _image_seeds(folder: Path) -> list[Path]:
    import numpy as np
    import PIL.Image

    folder.mkdir(parents=True, exist_ok=True)
    rgb = PIL.Image.fromarray(_picture())
    alpha = PIL.Image.fromarray((np.arange(W * H).reshape(H, W) % 256).astype(np.uint8))
    rgba = rgb.copy()
    rgba.putalpha(alpha)
    gray16 = PIL.Image.fromarray((np.arange(W * H).reshape(H, W) * 50).astype(np.uint16))
    palette = rgb.quantize(16)
    palette.info["transparency"] = 3
    out = {
        "rgb.png": (rgb, {}),
        "rgba.png": (rgba, {}),
        "gray16.png": (gray16, {}),
        "palette.png": (palette, {"transparency": 3}),
        "gray.png": (rgb.convert("L"), {}),
        "rgb.jpg": (rgb, {"quality": 90}),
        "cmyk.jpg": (rgb.convert("CMYK"), {}),
        "gray_progressive.jpg": (rgb.convert("L"), {"progressive": True}),
        "rgba.webp": (rgba, {"quality": 80}),
        "rgb.tif": (rgb, {}),
        "rgb_lzw.tif": (rgb, {"compression": "tiff_lzw"}),
        "gray16.tif": (gray16, {}),
        "palette.gif": (palette, {"transparency": 3}),
        "rgb.bmp": (rgb, {}),
    }
    exif = PIL.Image.Exif()
    exif[0x0112] = 6  # EXIF orientation: turned 90 degrees (a phone photo)
    out.update({
        "exif_rotated.jpg": (rgb, {"exif": exif.tobytes()}),
        "float.tif": (PIL.Image.fromarray(np.linspace(0, 1, W * H, dtype=np.float32).reshape(H, W)), {}),
        "bilevel_g4.tif": (rgb.convert("1"), {"compression": "group4"}),
        "rgb_jpeg.tif": (rgb, {"compression": "jpeg"}),
        "la.png": (rgba.convert("LA"), {}),
        "bilevel.png": (rgb.convert("1"), {}),
        "rgb.jp2": (rgb, {}),
        "anim.png": (rgb, {"save_all": True, "append_images": [rgba.convert("RGB").rotate(180)], "duration": 100}),
        "multipage.tif": (rgb, {"save_all": True, "append_images": [rgb.convert("L")]}),
    })
    paths = []
    for name, (im, kwargs) in out.items():
        im.save(folder / name, **kwargs)
        paths.append(folder / name)
    return paths


def _mutate_bytes(rng: random.Random, seed: Path, dest: Path) -> str:
    return mutate_copy(rng, seed, dest, kind="bytes")


def _check_image(x, path: Path, size: tuple[int, int] | None) -> None:
    import torch

    if not torch.is_tensor(x) or x.dtype != torch.float32 or x.ndim != 3 or x.shape[0] != 3:
        raise AssertionError(f"{path}: accepted, but gave {type(x).__name__} {getattr(x, 'dtype', '')} "
                             f"{tuple(getattr(x, 'shape', ()))}, not float32 [3, H, W]")
    if size is not None and tuple(x.shape[1:]) != size:
        raise AssertionError(f"{path}: accepted, but gave {tuple(x.shape)}, not [3, {size[0]}, {size[1]}]")
    if x.shape[1] < 1 or x.shape[2] < 1:
        raise AssertionError(f"{path}: accepted, but gave an empty image {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()) or float(x.min()) < 0.0 or float(x.max()) > 1.0:
        raise AssertionError(f"{path}: accepted, but gave values outside [0, 1] or non-finite ones")


def read_image(path: Path) -> None:
    """``genxd generate IMAGE``'s reader, and its result checked."""
    from genxd.utils.images import load_image

    _check_image(load_image(path, 64, 64), path, (64, 64))


def read_recon_image(path: Path) -> None:
    """The reconstruction inputs' frame reader, and its result checked."""
    from genxd.reconstruction.views import load_image

    _check_image(load_image(path), path, None)


def _frames(n: int, size: int) -> "object":
    import numpy as np

    t = np.arange(n)[:, None, None, None]
    y, x = np.mgrid[0:size, 0:size][..., None]
    base = np.concatenate([x * 4 + 0 * y, y * 4 + 0 * x, (x + y) * 2], axis=-1)[None]
    return ((base + t * 9) % 256).astype(np.uint8)


def _pyav_write(path: Path, frames, codec: str, pix_fmt: str, rate: int = 8) -> Path:
    """Encode ``frames`` with PyAV; bit-exact muxing, so that a seed (and each case made from it) is the same
    file in every run (Matroska wrote a random segment id and the date: one case of ``video-clip`` read in some
    runs and not in others)."""
    import av

    with av.open(str(path), "w", options={"fflags": "+bitexact"}) as container:  # no random ids or dates
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = pix_fmt
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _with_display_matrix(path: Path, matrix: tuple[int, ...]) -> Path:
    """A short sideways H.264 clip (8 frames of 48x32) at ``path`` whose track header holds the display matrix
    ``matrix`` (9 fixed-point ints, as the MP4 ``tkhd`` box stores them)."""
    from genxd.utils.video import write_mp4

    clip = write_mp4(path, _frames(8, 48)[:, :32], fps=8)
    data = bytearray(clip.read_bytes())
    start = data.index(b"tkhd") + 4 + 4 + 5 * 4 + 8 + 4 * 2  # version-0 tkhd: the display matrix
    data[start:start + 36] = struct.pack(">9i", *matrix)
    clip.write_bytes(bytes(data))
    return clip


def _video_seeds(folder: Path) -> list[Path]:
    import numpy as np
    import PIL.Image

    from genxd.utils.video import write_mp4

    folder.mkdir(parents=True, exist_ok=True)
    frames = _frames(12, 32)
    seeds = [write_mp4(folder / "h264.mp4", frames, fps=8),
             _pyav_write(folder / "mpeg4.mp4", _frames(10, 48), "mpeg4", "yuv420p"),
             _pyav_write(folder / "mjpeg.avi", frames, "mjpeg", "yuvj420p"),
             _pyav_write(folder / "ffv1.mkv", _frames(8, 32), "ffv1", "yuv420p"),
             _pyav_write(folder / "vp8.webm", _frames(8, 32), "libvpx", "yuv420p")]
    # Phone clips stored sideways (48x32): a display matrix that turns it 90 degrees, and a front camera's that
    # mirrors it (FFmpeg reads that one's angle as 180 degrees).
    seeds.append(_with_display_matrix(folder / "rotated.mp4", (0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30)))
    seeds.append(_with_display_matrix(folder / "mirrored.mp4", (-65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30)))
    gif = folder / "anim.gif"
    ims = [PIL.Image.fromarray(f) for f in _frames(8, 32)]
    ims[0].save(gif, save_all=True, append_images=ims[1:], duration=100, loop=0)
    seeds.append(gif)
    for kind, suffix in (("frames_png", ".png"), ("frames_jpg", ".jpg")):
        sub = folder / kind
        sub.mkdir()
        for i, f in enumerate(_frames(6, 32)):
            PIL.Image.fromarray(f).save(sub / f"{i:04d}{suffix}")
        seeds.append(sub)
    # Frame files of every kind a camera or an editor writes, one size: 1-bit, gray + alpha, palette, CMYK,
    # 16-bit, LZW TIFF, an EXIF-rotated photo.
    sub = folder / "frames_mixed"
    sub.mkdir()
    ims = [PIL.Image.fromarray(f) for f in _frames(7, 32)]
    exif = PIL.Image.Exif()
    exif[0x0112] = 8
    ims[0].convert("1").save(sub / "0000.png")
    ims[1].convert("LA").save(sub / "0001.png")
    ims[2].quantize(16).save(sub / "0002.png", transparency=1)
    ims[3].convert("CMYK").save(sub / "0003.jpg")
    PIL.Image.fromarray(np.asarray(ims[4].convert("L"), dtype=np.uint16) * 257).save(sub / "0004.png")
    ims[5].save(sub / "0005.tif", compression="tiff_lzw")
    ims[6].save(sub / "0006.jpg", exif=exif.tobytes())
    seeds.append(sub)
    return seeds


MAX_FRAMES, RESIZE = 6, 24


def _check_frames(frames, path: Path, most: int) -> None:
    import numpy as np

    if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise AssertionError(f"{path}: accepted, but gave {type(frames).__name__} {getattr(frames, 'dtype', '')} "
                             f"{getattr(frames, 'shape', '')}, not uint8 [N, H, W, 3]")
    n, h, w = frames.shape[:3]
    if not 1 <= n <= most or not (1 <= h <= RESIZE and 1 <= w <= RESIZE):
        raise AssertionError(f"{path}: accepted, but gave frames {frames.shape} (at most {most} of "
                             f"{RESIZE}x{RESIZE} asked for)")


def read_video(path: Path) -> None:
    """``genxd curate``'s reader with small limits, and its result checked."""
    from genxd.curation.frames import read_frames

    frames = read_frames(path, stride=2, max_frames=MAX_FRAMES, resize=RESIZE, max_bytes=64 * 2**20)
    _check_frames(frames, path, MAX_FRAMES)


def read_clip(path: Path) -> None:
    """``genxd trajectory from-video``'s frame reading (no SfM), and its result checked."""
    from genxd.cameras.clip_cameras import _read_clip

    frames, picked = _read_clip(path, None, MAX_FRAMES, RESIZE)
    _check_frames(frames, path, MAX_FRAMES)
    if len(picked) != len(frames):
        raise AssertionError(f"{path}: {len(frames)} frames but {len(picked)} indices")


def _mutate_video(rng: random.Random, seed: Path, dest: Path) -> str:
    return mutate_copy(rng, seed, dest, kind="bytes")


TARGETS = [
    FuzzTarget("image", "user images for genxd generate (utils.images.load_image), byte mutations",
               _image_seeds, _mutate_bytes, read_image),
    FuzzTarget("recon-image", "reconstruction frames (reconstruction.views.load_image), byte mutations",
               _image_seeds, _mutate_bytes, read_recon_image),
    FuzzTarget("video", "videos and frame folders for genxd curate (curation.frames.read_frames), byte mutations",
               _video_seeds, _mutate_video, read_video),
    FuzzTarget("video-clip", "frame reading of trajectory from-video (clip_cameras._read_clip), byte mutations",
               _video_seeds, _mutate_video, read_clip),
]
