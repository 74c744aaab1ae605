"""Which frames of a clip ``genxd trajectory from-video`` reads, and their times (for
:func:`genxd.cameras.clip_cameras.recover_clip_cameras`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from .clip_range import FrameSpan


def _read_clip(frames_at: Path, stride: int | None, max_frames: int | None,
               resize: int | tuple[int, int] | None, seconds: list | None = None,
               span: FrameSpan | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(frames uint8 [n, H, W, 3], their indices in the clip [n])`` (see :func:`recover_clip_cameras`);
    ``seconds``, when given, is filled with the frames' presentation times (``None`` where unknown); ``span``: only
    the frames of that range (:func:`genxd.cameras.clip_range.clip_span`), picked in it as in a whole clip. The clip is
    read up to three times (its size, its frames, again where its stated count was wrong): what they warn about
    the clip (HDR, damaged data) is shown once, after them."""
    from ..curation.read_errors import check_frame_size
    from ..curation.video_warnings import collected_warnings
    from ..validation import warn

    notes: list[str] = []
    try:
        with collected_warnings() as notes:
            frames, picked = _read_clip_frames(frames_at, stride, max_frames, resize, seconds, span)
        check_frame_size(frames_at.name, frames.shape[1], frames.shape[2], resize)  # a VideoReadError, as the others
        return frames, picked
    finally:
        for note in notes:
            warn(note)


def _read_clip_frames(frames_at: Path, stride: int | None, max_frames: int | None,
                      resize: int | tuple[int, int] | None, seconds: list | None,
                      span: FrameSpan | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_read_clip`'s reads, each warning as it comes."""
    from ..curation.frames import count_frames, read_frames

    def read(stride: int, max_frames: int | None, resize: int | tuple[int, int] | None, indices=None,
             known_times: tuple | None = None) -> np.ndarray:
        got: list = []
        frames = read_frames(frames_at, stride, max_frames, resize, indices=indices, times=got,
                             known_times=known_times)
        if seconds is not None:
            seconds[:] = got[:len(frames)]
        return frames

    if isinstance(resize, int):  # only scale down: the longer side at most ``resize``
        first = read_frames(frames_at, 1, 1, None)[0]
        resize = resize if max(first.shape[:2]) > resize else None
    if span is not None:  # its frames are counted (clip_span decoded them): picked, then read in one pass that
        picked = _pick_in(span.first, span.stop, stride, max_frames)  # starts at the keyframe before the range
        frames = read(1, None, resize, indices=picked, known_times=span.frame_times)
        return frames, picked[:len(frames)]
    if stride is not None:
        frames = read(stride, max_frames, resize)
        return frames, np.arange(len(frames)) * stride
    if max_frames is None:
        frames = read(1, None, resize)
        return frames, np.arange(len(frames))
    # only the frames picked are held (long clips: minutes of video)
    total = count_frames(frames_at)
    if total is not None and total > max_frames:
        picked = _spread(total, max_frames)
        # one frame past the stated end too: a container can state fewer frames than it holds (or more)
        frames = read(1, None, resize, indices=[*picked.tolist(), total])
        if len(frames) == len(picked):
            return frames, picked
    elif total is not None:  # a short clip (or a count stated short): read what is there
        frames = read(1, max_frames + 1, resize)
        if len(frames) <= max_frames:
            return frames, np.arange(len(frames))
    total = count_frames(frames_at, exact=True)  # no count, or a wrong one: count by decoding, then pick
    if total is None or total <= max_frames:
        frames = read(1, None, resize)
        return frames, np.arange(len(frames))
    picked = _spread(total, max_frames)
    return read(1, None, resize, indices=picked), picked


def _pick_in(first: int, stop: int, stride: int | None, max_frames: int | None) -> np.ndarray:
    """The frames of ``[first, stop)`` read: every ``stride``-th from ``first`` (at most ``max_frames``), else
    ``max_frames`` spread over the range (all of them where it has fewer)."""
    if stride is not None:
        return np.arange(first, stop, stride)[:max_frames]
    if max_frames is None or stop - first <= max_frames:
        return np.arange(first, stop)
    return first + _spread(stop - first, max_frames)


def clip_times(picked: np.ndarray, seconds: list | None = None) -> torch.Tensor:
    """The frames' times in [0, 1] (first 0, last 1): from their presentation times ``seconds`` when every one is
    known and they increase (a variable-frame-rate clip keeps its timing), else from their positions ``picked``
    in the clip (float64 ``[n]``; a single frame is at 0)."""
    n = len(picked)
    if n < 2:
        return torch.zeros(n, dtype=torch.float64)
    if seconds is not None and len(seconds) == n and all(t is not None for t in seconds):
        t = np.asarray(seconds, dtype=np.float64)
        if np.all(np.isfinite(t)) and np.all(np.diff(t) > 0):
            return torch.from_numpy((t - t[0]) / (t[-1] - t[0]))
    picked = np.asarray(picked, dtype=np.float64)
    return torch.from_numpy((picked - picked[0]) / max(1.0, picked[-1] - picked[0]))


def stride_cut(total: int | None, stride: int | None, max_frames: int | None, picked: np.ndarray,
               span: FrameSpan | None = None) -> str | None:
    """The warning when ``stride`` reached ``max_frames`` before the clip's end (``total``, its stated frame count;
    None: unknown), or the end of the range ``span``: the path follows only the start of the clip (the summary
    line's 'of N frames read' counts the frames read; 'of the clip's M' its length)."""
    from ..caller_style import arg, setting

    if stride is None or max_frames is None or len(picked) < max_frames:
        return None
    if span is not None:
        if span.stop <= int(picked[-1]) + stride:
            return None
        return (f"{setting('stride', stride)} with {setting('max_frames', max_frames)} reads frames "
                f"{int(picked[0])}-{int(picked[-1])} of the range's {span.first}-{span.stop - 1} ({span.label}): the "
                f"path follows the first {100 * (int(picked[-1]) + 1 - span.first) / span.count:.0f} % of it (raise "
                f"{arg('max_frames')}, or leave out {arg('stride')} to spread the frames over the whole range)")
    if total is None or total <= int(picked[-1]) + stride:
        return None
    return (f"{setting('stride', stride)} with {setting('max_frames', max_frames)} reads frames 0-{int(picked[-1])} of "
            f"the clip's {total}: the path follows the first {100 * (int(picked[-1]) + 1) / total:.0f} % of it (raise "
            f"{arg('max_frames')}, or leave out {arg('stride')} to spread the frames over the whole clip)")


def too_few_frames(clip: Path, frames_at: Path, picked: np.ndarray, stride: int | None,
                   span: FrameSpan | None = None) -> str:
    """The error for fewer than 3 frames read (``picked``, their indices): where ``stride`` is why (the clip, or the
    range ``span``, holds 3 or more), it says so and the largest stride that reads 3 (``--stride 2`` on the range
    ``0f - 3f`` read frames 0 and 2, and the error said only 'too few frames (2)')."""
    from ..caller_style import arg, setting
    from ..curation.frames import count_frames

    n = len(picked)
    plain = f"{clip}: too few frames ({n}); a camera path needs at least 3"
    if stride in (None, 1) or n == 0:
        return plain
    count = span.count if span is not None else count_frames(frames_at)
    if count is None or count < 3 or len(range(0, count, stride)) >= 3:
        return plain  # too few whatever the stride; or the read stopped early (damaged data), not for the stride
    read = " and ".join(str(int(i)) for i in picked)
    where = (f"the {count} in the range {span.label} (frames {span.first}-{span.stop - 1})" if span is not None
             else f"the clip's {count}")
    most = (count - 1) // 2
    fix = f"leave out {arg('stride')}" if most <= 1 else f"a {arg('stride')} of at most {most}"
    return (f"{clip}: too few frames ({n}): {setting('stride', stride)} reads frame{'s' * (n > 1)} {read} of {where}; "
            f"a camera path needs at least 3: {fix}" + (", or give a longer range" if span is not None else ""))


def read_to_end(total: int | None, stride: int | None, max_frames: int | None, picked: np.ndarray) -> bool:
    """Whether the frames read (``picked``, as :func:`_read_clip` returns them) reach the clip's end (``total``, its
    stated frame count): every frame (``stride`` None or 1) or every ``stride``-th, so that raising ``max_frames``
    cannot read more. Unknown (``total`` None where ``max_frames`` stopped the read) counts as not."""
    if stride is None:  # all of the clip (consecutive) or max_frames spread over a longer one (with gaps)
        return len(picked) < 2 or bool(np.all(np.diff(picked) == 1))
    if max_frames is None or len(picked) < max_frames:
        return True
    return total is not None and total <= int(picked[-1]) + stride


def _spread(total: int, count: int) -> np.ndarray:
    """``count`` frame indices spread evenly over ``0 .. total - 1``, first and last included."""
    return np.unique(np.round(np.linspace(0, total - 1, count)).astype(int))


#: a frame whose pixels spread less than this (standard deviation, 0-255 levels) is blank: one colour throughout
BLANK_STD = 2.0


def blank_frames(frames: np.ndarray) -> np.ndarray:
    """Positions (int ``[K]``) of the blank frames among ``frames`` (uint8 ``[N, H, W, 3]``): one colour throughout
    (a black frame between shots, a fade), their pixels' standard deviation under :data:`BLANK_STD` (every 4th
    pixel each way looked at)."""
    sample = frames[:, ::4, ::4].reshape(len(frames), -1).astype(np.float32)
    return np.flatnonzero(sample.std(axis=1) < BLANK_STD)


def blank_frames_note(blank: np.ndarray, picked: np.ndarray, num_read: int) -> str:
    """``"; 5 of the 12 frames read are blank (one colour: nothing for SfM to match): clip frames 4-7, 9"``: the
    ``blank`` positions among the ``num_read`` frames read, named by their frame numbers in the clip (``picked``);
    runs of frames read one after another as one range, 5 at most; "" when none is blank."""
    if len(blank) == 0:
        return ""
    runs: list[list[int]] = []
    for j in blank.tolist():
        if runs and runs[-1][1] == j - 1:
            runs[-1][1] = j
        else:
            runs.append([j, j])
    said = ", ".join(f"{int(picked[a])}" + (f"-{int(picked[b])}" if b > a else "") for a, b in runs[:5])
    return (f"; {len(blank)} of the {num_read} frames read are blank (one colour: nothing for SfM to match): clip "
            f"frames {said}{', ...' if len(runs) > 5 else ''}")
