"""Decoding a video file's frames with PyAV: upright, in square pixels, with their times; a file cut short or
damaged in its middle, and an HDR clip (read without tone mapping), is warned about (:func:`iter_video_frames`,
read by :mod:`genxd.curation.frames`)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..utils.io import is_environment_error
from .read_errors import VideoReadError
from .decoded_frames import PacketFrames
from .video_streams import main_video_stream, sample_aspect_ratio, shown_frame_count, square_pixels

__all__ = ["HDR_TRANSFERS", "SEEKABLE_FORMATS", "SHORT_READ_FRACTION", "DecodeEnd", "hdr_transfer", "iter_video_frames", "warn_damaged"]


def _display_matrix(frame) -> np.ndarray | None:
    """The frame's display matrix as a float ``[3, 3]`` (FFmpeg's 16.16 fixed-point ``int32`` layout, row-major,
    ``[a b u; c d v; x y w]``), or ``None`` when it has none (or this PyAV does not expose side data)."""
    container = getattr(frame, "side_data", None) or ()
    for item in container:  # PyAV <= 18 iterates the side data; PyAV 19 its types (a mapping type -> side data)
        side_data = item if hasattr(item, "type") else container[item]
        if "DISPLAYMATRIX" in str(getattr(side_data, "type", "")).upper():
            raw = bytes(side_data)
            if len(raw) == 36:
                return np.frombuffer(raw, np.int32).reshape(3, 3).astype(np.float64) / 65536.0
    return None


def _upright(frame, pixels: np.ndarray) -> np.ndarray:
    """A decoded frame ``uint8 [H, W, 3]`` as it is meant to be shown, as ffmpeg's own autorotation shows it: phone
    videos are stored sideways with a display matrix that says how far to turn them (PyAV's
    ``VideoFrame.rotation``, degrees counter-clockwise; multiples of 90), and a mirrored one (a front camera, an
    editor's flip) also says which way to flip them. Without the flip a horizontally mirrored clip reads as a
    half turn (FFmpeg's angle of such a matrix is 180) and came out upside down. A display matrix that holds no
    rotation (all zeros: FFmpeg's angle is NaN, which PyAV gives as -2**31) turns nothing, as in ffmpeg; angles
    between the multiples of 90 go to the nearest one."""
    angle = float(getattr(frame, "rotation", 0) or 0)
    if not math.isfinite(angle) or abs(angle) > 360.0:
        return pixels
    matrix = _display_matrix(frame)
    if matrix is None:  # no flip known: the rotation alone (np.rot90 turns counter-clockwise)
        turns = round(angle / 90.0) % 4
        return np.ascontiguousarray(np.rot90(pixels, turns)) if turns else pixels
    theta = -round(angle / 90.0) * 90 % 360  # ffmpeg's: clockwise degrees to turn for display
    # ffmpeg's autorotate filters (fftools: transpose / hflip / vflip by the angle and the matrix's signs)
    if theta == 90:  # transpose=clock, or cclock_flip (a plain transpose) when mirrored
        out = pixels.swapaxes(0, 1) if matrix[1, 0] > 0 else np.rot90(pixels, -1)
    elif theta == 270:  # transpose=cclock, or clock_flip (the anti-transpose) when mirrored
        out = np.rot90(pixels, -1)[::-1] if matrix[1, 0] < 0 else np.rot90(pixels, 1)
    else:  # 0 or 180: hflip where the first column is negative (180 only), vflip where the second is
        out = pixels
        if theta == 180 and matrix[0, 0] < 0:
            out = out[:, ::-1]
        if matrix[1, 1] < 0:
            out = out[::-1]
    return out if out is pixels else np.ascontiguousarray(out)


#: Fewer frames decoded than this fraction of the count a video states is warned about (cut short).
SHORT_READ_FRACTION = 0.9


def _warn_if_short(path: Path, decoded: int, stated: int) -> None:
    """One warning when a video decoded to its end gave clearly fewer frames than its container states (a file
    cut short, e.g. a copy or download that stopped: its index still counts every frame)."""
    if stated > 0 and decoded < SHORT_READ_FRACTION * stated:
        from ..validation import warn

        warn(f"decoded {decoded} of the {stated} frames {path.name} states; the file may be cut short")


def warn_damaged(path: Path, decoded: int, reason: str) -> None:
    """One warning when decoding a video stopped at damaged data after ``decoded`` frames (a file with a corrupt
    middle: a bad copy, a card error): those frames are kept, the rest of the clip is not read."""
    from ..validation import warn

    warn(f"{path.name}: decoding stopped at damaged data after {decoded} frames ({reason}); the frames before it "
         "are kept, the rest of the file is not read")


#: FFmpeg's transfer characteristics (``AVColorTransferCharacteristic``) of HDR video: PQ (SMPTE ST 2084, HDR10
#: and Dolby Vision) and HLG (ARIB STD-B67, what iPhones and many Android phones record).
HDR_TRANSFERS = {16: "PQ", 18: "HLG"}


def hdr_transfer(frame, stream=None) -> str | None:
    """``"PQ"`` or ``"HLG"`` when a decoded frame (or, where the frame says nothing, its stream) is tagged with an
    HDR transfer, else None."""
    for owner in (frame, getattr(stream, "codec_context", None)):
        try:
            trc = int(getattr(owner, "color_trc", None) or 0)
        except (TypeError, ValueError):
            continue
        if trc in HDR_TRANSFERS:
            return HDR_TRANSFERS[trc]
    return None


def _warn_if_hdr(path: Path, frame, stream) -> None:
    """One warning when a video is HDR: its frames are converted to 8-bit RGB as they are (FFmpeg's ``rgb24``
    conversion keeps the HLG / PQ code values and does no tone mapping), so their colours come out flat and
    washed out next to what a player shows."""
    transfer = hdr_transfer(frame, stream)
    if transfer is not None:
        from ..validation import warn

        warn(f"{path.name} is HDR video ({transfer}, {frame.format.name}): its colours are converted to 8-bit RGB "
             "without tone mapping and come out flat and washed out; convert it to SDR first (an ffmpeg command is "
             "in docs/curation.md, 'HDR video')")


def _mp4_index_missing(path: Path) -> bool:
    """Whether ``path`` is an MP4 / MOV (its first box an ``ftyp``) whose ``moov`` box (the index of its frames, which
    cameras, phones and ffmpeg write last) runs past the end of the file, or is missing while the last top-level box
    does: a file cut short before its index was written whole (a copy or download that stopped, a recording that did
    not end)."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            at, first = 0, True
            while at + 8 <= size:
                fh.seek(at)
                head = fh.read(16)
                length, kind = int.from_bytes(head[:4], "big"), head[4:8]
                if first and kind != b"ftyp":
                    return False
                if length == 1 and len(head) == 16:  # a 64-bit size follows the type
                    length = int.from_bytes(head[8:16], "big")
                elif length == 0:  # the box runs to the end of the file
                    length = size - at
                if length < 8:
                    return False  # not boxes: another reason
                if kind == b"moov":
                    return at + length > size  # the index itself cut
                at, first = at + length, False
            return not first and at > size
    except OSError:
        return False


def _open_failure(path: Path, reason: str) -> str:
    """Why ``path`` cannot be opened as a video, said plainly where FFmpeg's words (``reason``: "Invalid data found
    when processing input") do not: an empty file, an MP4 / MOV cut short before its index
    (:func:`_mp4_index_missing`)."""
    try:
        empty = path.stat().st_size == 0
    except OSError:
        empty = False
    if empty:
        return f"{path.name}: cannot open as a video (the file is empty: 0 bytes)"
    if _mp4_index_missing(path):
        return (f"{path.name}: cannot open as a video: the file is cut short before its index of frames (the 'moov' "
                "box, written when a recording ends) was written whole: a copy or download that stopped, or a "
                "recording that did not end; copy it again from its source")
    return f"{path.name}: cannot open as a video ({reason})"


def _warn_if_interlaced(path: Path, frame) -> None:
    """One warning when a video's frames are flagged interlaced (camcorder footage: AVCHD ``.mts``, broadcast 1080i):
    each frame is read as stored, its two fields (taken 1/50 or 1/60 s apart) woven together, so that whatever moves
    combs, and SfM and the flow masks see the comb; it was read so without a word."""
    if getattr(frame, "interlaced_frame", False):
        from ..validation import warn

        warn(f"{path.name} is interlaced video: its frames are read as stored, two fields woven together, and "
             "whatever moves comes out combed; deinterlace it first (an ffmpeg command is in docs/curation.md, "
             "'Interlaced video')")


def _frame_seconds(frame) -> float | None:
    """A decoded frame's presentation time in seconds (its timestamp), or None when unknown."""
    try:
        pts = frame.pts
        base = frame.time_base
        return None if pts is None or base is None else float(pts * base)
    except (AttributeError, TypeError, ValueError, ZeroDivisionError):
        return None


@dataclass
class DecodeEnd:
    """Where decoding a video stopped at damaged data: after ``decoded`` frames, FFmpeg's ``reason``; ``reason``
    None where it did not."""

    decoded: int = 0
    reason: str | None = None


class _SeekLost(Exception):
    """A frame decoded after a seek whose time is not the one the earlier pass gave its index."""

    def __init__(self, yielded: int) -> None:
        self.yielded = yielded


#: Containers (FFmpeg demuxer names) whose seek is by an index of every frame (MP4 / MOV, Matroska / WebM, AVI): the
#: frames decoded after it carry the times a read from the start gives them. MPEG-PS / TS and FLV seek by searching the
#: file for a timestamp: near a clip's end the seek gave no frame (a range of its last frames read as "no frames could
#: be decoded"), and MPEG-PS's frames after a seek carried other frames' times (another picture read at the range's
#: first index, the rest of the range lost); such clips are decoded from their start.
SEEKABLE_FORMATS = frozenset({"mov", "mp4", "matroska", "webm", "avi"})


def _seekable(container) -> bool:
    """Whether ``container``'s format is one of :data:`SEEKABLE_FORMATS` (FFmpeg names a demuxer ``"mov,mp4,..."``)."""
    names = str(getattr(getattr(container, "format", None), "name", "") or "")
    return not SEEKABLE_FORMATS.isdisjoint(names.split(","))


def _seek_target(seek: tuple[int, Sequence] | None) -> tuple[int, Sequence] | None:
    """``seek`` where it can be used: a first frame past 0 whose time, and every earlier frame's, is known, the times
    strictly increasing (so each time names one frame); else None (decoded from the start)."""
    if seek is None:
        return None
    first, known = seek
    if not 0 < first < len(known) or any(t is None for t in known):
        return None
    if any(not b > a for a, b in zip(known, known[1:])):
        return None
    return first, known


def iter_video_frames(path: Path, wanted=None, check_length: bool = True, times: list | None = None,
                      end: DecodeEnd | None = None, times_all: bool = False, seek: tuple[int, Sequence] | None = None):
    """RGB frames of a video, upright; with ``wanted`` (a predicate on the frame index) frames not wanted are
    decoded but not converted, and ``None`` is yielded in their place. Decoded to its end, a video that gives
    clearly fewer frames than it states is warned about (``check_length``). Decoding that fails at damaged data
    (FFmpeg's invalid data) ends the frames there: recorded in ``end`` where given (the caller knows whether
    the frames it asked for came before it), else warned about (the frames after it, read for, are lost); with no
    frame before it VideoReadError. ``times``, when given, gets each wanted frame's presentation time in seconds
    (``None`` when unknown) as it is yielded; with ``times_all`` every decoded frame's, wanted or not (one pass
    that times a clip's frames without converting them: :func:`genxd.cameras.clip_range.clip_span`). An HDR clip (HLG / PQ transfer) is warned about once, at its first
    converted frame (its colours are not tone mapped; a count, which converts none, does not warn).

    ``seek``: ``(first, known)``, where no frame before index ``first`` is wanted and ``known`` holds the presentation
    times of the clip's frames from an earlier pass (:func:`genxd.cameras.clip_range.clip_span`, at least up to
    ``first``). Decoding then starts at the keyframe before frame ``first`` (``None`` yielded for the frames before it,
    not decoded), each frame decoded matched to its index by its time: exactly the frames a decode from the start
    gives. Where the times are not all known and increasing, or a decoded frame's time is not the one ``known`` gives
    its index, the clip is decoded from its start (the frames already yielded not again)."""
    target = _seek_target(seek)
    if target is None:
        yield from _decode(path, wanted, check_length, times, end, times_all)
        return
    try:
        yield from _decode(path, wanted, False, times, end, times_all, seek=target)
    except _SeekLost as lost:
        yield from _decode(path, wanted, check_length, times, end, times_all, skip=lost.yielded)


def _whole_packets(packets):
    """``packets`` (a stream's, demuxed) without a last one FFmpeg flags corrupt: the bytes of a frame a file cut short
    ends in the middle of. Decoding it fails (H.264, HEVC) or gives a picture missing below the cut (MPEG-4); with
    threaded decoding the failure comes out while the decoder is drained at the end, and PyAV drops the frames still
    queued behind it: the last good frames of a clip with B-frames (2 of an H.264 clip's 21, which ffmpeg keeps).
    Each packet is held until the next one shows it is not the last (the end of the file being the one PyAV yields
    with no data); a demuxing error passes on after the packet before it."""
    held = None
    try:
        for packet in packets:
            if held is not None and not (held.is_corrupt and not packet.size):
                yield held
            held = packet
    except Exception:  # the demuxer's (a read error): not a reader closing this early (GeneratorExit)
        if held is not None and not held.is_corrupt:
            yield held
        raise
    if held is not None and not held.is_corrupt:
        yield held


def _rgb24(reformatter, frame) -> np.ndarray:
    """``frame`` as ``uint8 [H, W, 3]`` RGB, converted by ``reformatter`` (a decode's own: :func:`_decode`)."""
    return reformatter.reformat(frame, format="rgb24").to_ndarray()


def _decode(path: Path, wanted, check_length: bool, times: list | None, end: DecodeEnd | None, times_all: bool,
            seek: tuple[int, Sequence] | None = None, skip: int = 0):
    """:func:`iter_video_frames`' decoding, from the keyframe before ``seek``'s first frame, or from the start,
    the first ``skip`` frames decoded but not yielded (a seek that lost its frames yielded them)."""
    import av  # PyAV: streaming decode, stops early when enough frames are read
    from av.video.reformatter import VideoReformatter

    try:
        container = av.open(str(path))
    except Exception as exc:  # noqa: BLE001 - PyAV raises many error types for bad files
        reason = getattr(exc, "strerror", None) or str(exc)  # FFmpeg's words, without its errno and the path
        if isinstance(exc, OSError) and is_environment_error(exc):  # no read permission: the machine's, not the
            # video's (curate retries it)
            error = PermissionError(f"{path.name}: cannot open as a video ({reason})")
            error.errno = exc.errno
            raise error from None
        raise VideoReadError(_open_failure(path, reason)) from None
    try:
        stream = main_video_stream(container)
        if stream is None:
            if not container.streams.video and _mp4_index_missing(path):  # FFmpeg's mov demuxer opens it, streamless
                raise VideoReadError(_open_failure(path, "no video stream"))
            raise VideoReadError(f"{path.name}: no video stream" + (" (only cover art)" if container.streams.video
                                                                   else ""))
        if stream.codec_context is None:  # FFmpeg has no decoder for its codec; PyAV < 18 crashed decoding it
            raise VideoReadError(f"{path.name}: cannot decode its video stream (no decoder for its codec)")
        stream.thread_type = "AUTO"
        # this decode's own converter, freed with it: PyAV 19 (Python >= 3.12) keeps frame.to_ndarray(format=...)'s
        # converter for the thread's lifetime, with FFmpeg's thread pool, and a process that later started ffmpeg
        # from another thread (imageio-ffmpeg's preexec_fn) hung for good: the forked child freed that converter
        # and waited on threads it does not have (docs/robustness.md)
        reformatter = VideoReformatter()
        decoded = 0  # frames decoded
        converted = False  # a frame converted yet: the first is checked for HDR
        sar = sample_aspect_ratio(stream)  # non-square pixels: resampled to square ones before turning upright
        first = 0  # the first frame decoded, where a seek starts past the start
        if seek is not None:
            if not _seekable(container):
                raise _SeekLost(0)  # decoded from the start (nothing yielded yet)
            first, known = seek
            base = stream.time_base
            try:
                container.seek(round(known[first] / base), stream=stream, backward=True, any_frame=False)
            except (av.error.FFmpegError, OSError, ValueError, OverflowError):  # a seek FFmpeg refuses: no range
                raise _SeekLost(0) from None  # read lost, the clip decoded from its start (nothing yielded yet)
            for _ in range(first):
                yield None  # before the range: not decoded
            decoded = first
        # container.decode(stream), the packets an edit list hides counted (a trimmed clip's: not shown), and at
        # damaged data the whole frames the decoder still holds
        frames = PacketFrames(_whole_packets(container.demux(stream)), stream.codec_context)
        try:
            for frame in frames:
                if seek is not None and decoded < len(known):
                    t = _frame_seconds(frame)
                    if decoded == first and t is not None and t < known[first]:
                        continue  # from the keyframe to the first frame asked for
                    if t != known[decoded]:
                        raise _SeekLost(decoded)
                if decoded < skip:
                    decoded += 1
                    continue
                if wanted is not None and not wanted(decoded):
                    if times is not None and times_all:
                        times.append(_frame_seconds(frame))
                    decoded += 1
                    yield None
                    continue
                if not converted:
                    _warn_if_hdr(path, frame, stream)
                    _warn_if_interlaced(path, frame)
                    converted = True
                pixels = _upright(frame, square_pixels(_rgb24(reformatter, frame), sar))
                decoded += 1  # counted once converted: a frame that fails to convert is not kept
                if times is not None:
                    times.append(_frame_seconds(frame))
                yield pixels
            if seek is not None and decoded < len(known):  # the seek's decoding ended before frames the earlier pass
                raise _SeekLost(decoded)  # decoded (a seek past the frames asked for): from the start instead
        except av.error.InvalidDataError as exc:  # damaged data: the frames before it are kept, as yielded
            reason = getattr(exc, "strerror", None) or str(exc)  # FFmpeg's words, without its errno and call
            if decoded == 0:
                raise VideoReadError(f"{path.name}: decoding failed ({reason})") from None
            if end is not None:
                end.decoded, end.reason = decoded, reason
            else:
                warn_damaged(path, decoded, reason)
            return
        except av.error.FFmpegError as exc:  # out of memory, a read error (a network drive): not the file's fault
            reason = getattr(exc, "strerror", None) or str(exc)
            raise VideoReadError(f"{path.name}: decoding failed after {decoded} frames ({reason})") from None
        if check_length:  # decoded to the end (a reader that stopped early closed this generator)
            _warn_if_short(path, decoded, shown_frame_count(stream, hidden=frames.hidden) or 0)
    finally:
        container.close()

