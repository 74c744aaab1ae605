"""A long path's kept state grows by what each sampling call adds: the bytes its saves write grow with the path, not
with its square, and a kill at any point of a save leaves a state that continues bit for bit (a stand-in model:
tests/pipelines/long_path_standin.py)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
import torch

from genxd.cameras import orbit
from genxd.pipelines import long_path_state, long_paths
from genxd.pipelines.long_path_state import PARTIAL_FOLDER, STATE_FILE, BatchState, PartialRun, PartialRuns, Scene
from genxd.pipelines.long_paths import LongPathSettings, make_plan, resolve_settings

from .long_path_standin import StandInPipe


def _plan(num_frames: int):
    c2w, K = orbit(num_frames=num_frames)
    return c2w, K, make_plan("3d", c2w, K, [0], resolve_settings(LongPathSettings(window=8), 8, 8))


def _generate(plan, c2w, K, state=None):
    img = torch.rand(1, 1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    return long_paths.generate_long(StandInPipe(8), img, c2w, K, plan, num_inference_steps=1, decode=False,
                                    state=state, max_windows_per_call=1,
                                    generator=[torch.Generator().manual_seed(0)])


def _state(folder: Path, plan) -> BatchState:
    return BatchState([PartialRun(folder, {"seed": 0}, plan)])


@contextlib.contextmanager
def _counting_writes(monkeypatch, on_write=None):
    """The sizes of the files the state writes (each through atomic_file); ``on_write(k, tmp, phase)`` is called
    with the k-th write's temporary file while it is written ("during") and once renamed into place ("after")."""
    sizes: list[int] = []
    real = long_path_state.atomic_file

    @contextlib.contextmanager
    def counted(path, *args, **kwargs):
        k = len(sizes)
        with real(path, *args, **kwargs) as tmp:
            yield tmp
            sizes.append(os.path.getsize(tmp))
            if on_write is not None:
                on_write(k, tmp, "during")
        if on_write is not None:
            on_write(k, path, "after")

    monkeypatch.setattr(long_path_state, "atomic_file", counted)
    yield sizes
    monkeypatch.setattr(long_path_state, "atomic_file", real)


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_the_saves_of_a_path_write_bytes_in_proportion_to_its_state(tmp_path, monkeypatch):
    """Every save rewrote the latents of every frame of the path ([N, 4, h, w] float32): a path of C sampling calls
    wrote about C / 2 times its state (1,024 frames at 256x256: 103 calls, 1.6 GB for a 16 MiB state). Each save
    now writes the frames its call added and a small index."""
    c2w, K, plan = _plan(160)
    with _counting_writes(monkeypatch) as sizes:
        _generate(plan, c2w, K, _state(tmp_path / "scene", plan))
    calls = len(plan.calls(1, 1))
    assert calls >= 20
    final = _folder_bytes(tmp_path / "scene")
    assert sum(sizes) < 2 * final, (sum(sizes), final, calls)


def test_a_kill_at_any_point_of_a_save_continues_bit_for_bit(tmp_path, monkeypatch):
    """Stopped in every file write of every save (while the file is written, and once it is in place), then run
    again: the latents are those of a run without a stop, bit for bit."""
    c2w, K, plan = _plan(40)
    whole = _generate(plan, c2w, K)
    with _counting_writes(monkeypatch) as sizes:
        _generate(plan, c2w, K, _state(tmp_path / "count", plan))
    assert len(sizes) >= 7
    for k in range(len(sizes)):
        for phase in ("during", "after"):
            folder = tmp_path / f"{k}-{phase}"

            def stop(j, _path, when, k=k, phase=phase):
                if (j, when) == (k, phase):
                    raise KeyboardInterrupt

            with _counting_writes(monkeypatch, stop), pytest.raises(KeyboardInterrupt):
                _generate(plan, c2w, K, _state(folder, plan))
            resumed = _generate(plan, c2w, K, _state(folder, plan))
            assert torch.equal(resumed.latents, whole.latents), (k, phase)
            assert resumed.calls < whole.calls or k < 2, (k, phase, resumed.calls)


def _format_2_state(folder: Path, fingerprint: dict, latents: torch.Tensor, known: torch.Tensor) -> None:
    """A state as genxd wrote it in format 2 (before 2026-12-06): every frame's latents and known in one file."""
    import json

    import safetensors.torch

    folder.mkdir(parents=True)
    safetensors.torch.save_file({"latents": latents.contiguous(), "known": known.to(torch.uint8)},
                                str(folder / STATE_FILE),
                                metadata={"fingerprint": json.dumps({**fingerprint, "format": 2}, sort_keys=True)})


def test_a_state_of_format_2_continues_bit_for_bit(tmp_path):
    """A state an earlier genxd kept (one file of every frame) is continued; the next save writes its frames as the
    first part, and that state continues too."""
    c2w, K, plan = _plan(40)
    whole = _generate(plan, c2w, K)
    calls = plan.calls(1, 1)
    known = torch.zeros(40, dtype=torch.bool)
    known[list(plan.inputs)] = True
    for _, i in (item for call in calls[:3] for item in call):  # as after 3 calls
        known[list(plan.windows[i].targets)] = True
    latents = torch.where(known[:, None, None, None], whole.latents[0], torch.zeros(()))
    runs = PartialRuns(tmp_path, plan, {"steps": 1})
    scene = Scene("scene", torch.zeros(3, 64, 64), 0)
    fingerprint = {k: v for k, v in runs.fingerprint(scene, ["scene"]).items() if k != "format"}
    _format_2_state(tmp_path / PARTIAL_FOLDER / "scene", fingerprint, latents, known)
    assert runs.check({0: scene}, 1) == ([0], {})
    resumed = _generate(plan, c2w, K, runs.batch([0]))
    assert resumed.calls == whole.calls - 3 and torch.equal(resumed.latents, whole.latents)
    folder = tmp_path / PARTIAL_FOLDER / "scene"
    files = sorted(os.listdir(folder))  # the restored frames as the first part, then one a call, and the index
    assert files[0].startswith("part-00000-") and len(files) == whole.calls - 3 + 1
    again = PartialRuns(tmp_path, plan, {"steps": 1})
    assert again.check({0: scene}, 1) == ([0], {})
    done = _generate(plan, c2w, K, again.batch([0]))
    assert done.calls == 0 and torch.equal(done.latents, whole.latents)


def _stopped_state(tmp_path, plan, c2w, K, scene, calls: int = 3) -> Path:
    """The state folder of ``scene`` after ``calls`` sampling calls of a run stopped there."""
    runs = PartialRuns(tmp_path, plan, {"steps": 1})
    assert runs.check({0: scene}, 1) == ([0], {})
    state = runs.batch([0])
    real, done = state.save, []

    def save(*args):
        real(*args)
        done.append(1)
        if len(done) == calls:
            raise KeyboardInterrupt

    state.save = save
    with pytest.raises(KeyboardInterrupt):
        _generate(plan, c2w, K, state)
    return tmp_path / PARTIAL_FOLDER / scene.name


def test_a_missing_or_damaged_part_is_refused_before_sampling_and_overwrite_discards_it(tmp_path):
    """A part of the right size but other content (bit rot, a copied part) is refused by the check before the
    model loads, not when its frames are read: ``overwrite`` discards it and the run starts over (it could not
    before: the check passed, the run failed, every time). A missing part: only ``overwrite`` helps, and the line
    says only that."""
    c2w, K, plan = _plan(40)
    whole = _generate(plan, c2w, K)
    scene = Scene("scene", torch.zeros(3, 64, 64), 0)
    folder = _stopped_state(tmp_path, plan, c2w, K, scene)
    part = sorted(folder.glob("part-00001-*"))[0]
    data = bytearray(part.read_bytes())
    data[-1] ^= 1  # a bit of its last latent
    part.write_bytes(bytes(data))
    ready, refused = PartialRuns(tmp_path, plan, {"steps": 1}).check({0: scene}, 1)
    assert ready == [] and "\n" not in str(refused[0])
    assert str(refused[0]) == (f"{folder / STATE_FILE} cannot be read ({part.name} is not the part it names): "
                               "pass overwrite=True to start over")
    again = PartialRuns(tmp_path, plan, {"steps": 1}, overwrite=True)
    with pytest.warns(UserWarning, match=r"is not the part it names\); discarded"):
        assert again.check({0: scene}, 1) == ([0], {})
    assert not folder.exists()
    started_over = _generate(plan, c2w, K, again.batch([0]))
    assert started_over.calls == whole.calls and torch.equal(started_over.latents, whole.latents)

    folder = _stopped_state(tmp_path / "missing", plan, c2w, K, scene)
    part = sorted(folder.glob("part-00001-*"))[0]
    part.unlink()
    ready, refused = PartialRuns(tmp_path / "missing", plan, {"steps": 1}).check({0: scene}, 1)
    assert ready == [] and str(refused[0]) == (f"{folder / STATE_FILE} cannot be read ({part.name}, which it "
                                               "names, is missing): pass overwrite=True to start over")


def test_two_runs_on_one_output_folder_do_not_replace_each_others_parts(tmp_path):
    """Two runs of one OUT (other seeds) saving into one scene's folder: each run's index names its own parts, so
    the one whose index is left continues from its own frames (94e5726 named parts by number only: run B's first
    part replaced run A's, and A's state could then never be read, not even discarded)."""
    folder = tmp_path / "scene"
    a, b = PartialRun(folder, {"seed": 0}, None), PartialRun(folder, {"seed": 1}, None)
    latents_a = torch.randn(20, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    latents_b = torch.randn(20, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    first = torch.zeros(20, dtype=torch.bool)
    first[:8] = True
    second = first.clone()
    second[8:14] = True
    a.save(latents_a, first)
    b.save(latents_b, first)
    a.save(latents_a, second)  # A's index last
    c = PartialRun(folder, {"seed": 0}, None)
    assert c.read_header()[0] == {"seed": 0}
    latents, known = torch.zeros(20, 4, 8, 8), torch.zeros(20, dtype=torch.bool)
    c.restore(latents, known)
    assert torch.equal(known, second) and torch.equal(latents[second], latents_a[second])


def test_parts_named_without_their_digest_are_read(tmp_path):
    """A state of genxd between 94e5726 and the digest in the part's name (``part-00001.safetensors``)
    continues bit for bit."""
    c2w, K, plan = _plan(40)
    whole = _generate(plan, c2w, K)
    scene = Scene("scene", torch.zeros(3, 64, 64), 0)
    folder = _stopped_state(tmp_path, plan, c2w, K, scene)
    for part in folder.glob("part-*"):
        part.rename(folder / long_path_state.OLD_PART_FILE.format(int(part.name.split("-")[1])))
    runs = PartialRuns(tmp_path, plan, {"steps": 1})
    assert runs.check({0: scene}, 1) == ([0], {})
    resumed = _generate(plan, c2w, K, runs.batch([0]))
    assert resumed.calls == whole.calls - 3 and torch.equal(resumed.latents, whole.latents)


@pytest.mark.parametrize("parts", ['[[100, 12345678]]', '3'])
def test_an_index_with_damaged_parts_is_refused_and_overwrite_discards_it(tmp_path, parts):
    """An index whose ``parts`` entry is not ``[[size, digest], ...]`` (a damaged file): a digest that is no string
    raised a TypeError (``digest[:8]``) that the check did not catch, so that not even ``overwrite`` discarded it.
    Now refused as unreadable, and discarded with ``overwrite``."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    c2w, K, plan = _plan(40)
    scene = Scene("scene", torch.zeros(3, 64, 64), 0)
    folder = _stopped_state(tmp_path, plan, c2w, K, scene)
    with safe_open(str(folder / STATE_FILE), "pt") as f:
        meta, known = f.metadata(), f.get_tensor("known")
    save_file({"known": known}, str(folder / STATE_FILE), metadata={**meta, "parts": parts})
    ready, refused = PartialRuns(tmp_path, plan, {"steps": 1}).check({0: scene}, 1)
    assert ready == [] and str(refused[0]) == (f"{folder / STATE_FILE} cannot be read (its parts entry is not a list "
                                               "of [size, digest] pairs): pass overwrite=True to start over")
    again = PartialRuns(tmp_path, plan, {"steps": 1}, overwrite=True)
    with pytest.warns(UserWarning, match=r"not a list of \[size, digest\] pairs\); discarded"):
        assert again.check({0: scene}, 1) == ([0], {})
    assert not folder.exists()


def test_a_continued_run_reads_its_kept_frames_a_part_at_a_time(tmp_path, monkeypatch):
    """Continuing read every kept part and joined them (every frame's latents twice, 1.3 GB for 10,000 frames at
    512x512) before writing them into the latents' file; now a part at a time (a call's frames): at most two
    windows' latents alive while restoring 85 frames, and the run continues to the same latents, bit for bit."""
    from .test_long_path_memory import LatentFramesAlive

    c2w, K, plan = _plan(120)
    whole = _generate(plan, c2w, K)
    scene = Scene("scene", torch.zeros(3, 64, 64), 0)
    _stopped_state(tmp_path, plan, c2w, K, scene, calls=16)
    runs = PartialRuns(tmp_path, plan, {"steps": 1})
    assert runs.check({0: scene}, 1) == ([0], {})
    restored, real = [], PartialRun.restore

    def counted(self, latents, known):
        with LatentFramesAlive((4, 8, 8)) as counter:
            real(self, latents, known)
        restored.append((int(known.sum()), counter.most))

    monkeypatch.setattr(PartialRun, "restore", counted)
    img = torch.rand(1, 1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    resumed = long_paths.generate_long(StandInPipe(8), img, c2w, K, plan, num_inference_steps=1, decode=False,
                                       state=runs.batch([0]), max_windows_per_call=1, latents_in_memory=False,
                                       latents_folder=tmp_path, generator=[torch.Generator().manual_seed(0)])
    ((frames, most),) = restored
    assert frames > 60 and most <= 2 * 8, (frames, most)
    assert resumed.calls == whole.calls - 16 and torch.equal(resumed.latents.whole(), whole.latents)


@pytest.mark.parametrize("damage", ["missing", "resized", "other frames"])
def test_a_restore_that_fails_writes_no_frame(tmp_path, damage):
    """A part the index names gone (or changed) between the job's check and the restore: the restore raises
    before any part is written, so the latents it was given are as they were (the parts before it were written
    into them before)."""
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "scene"
    run = PartialRun(folder, {"seed": 0}, None)
    latents = torch.randn(20, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    known = torch.zeros(20, dtype=torch.bool)
    for end in (8, 13, 18):  # three calls, three parts
        known[:end] = True
        run.save(latents, known)
    last = sorted(folder.glob("part-*"))[-1]
    if damage == "missing":
        last.unlink()
    elif damage == "resized":
        last.write_bytes(last.read_bytes() + b" ")
    else:  # the same size, frames 18-19 for 13-17: the digest and the frames differ
        part = load_file(str(last))
        save_file({"latents": part["latents"], "frames": part["frames"] + 2}, str(last))
    target, restored = torch.full((20, 4, 8, 8), 7.0), torch.zeros(20, dtype=torch.bool)
    with pytest.raises(ValueError, match="cannot be read"):
        PartialRun(folder, {"seed": 0}, None).restore(target, restored)
    assert bool(target.eq(7.0).all()) and not restored.any()


@pytest.mark.parametrize("file_at", [PARTIAL_FOLDER, f"{PARTIAL_FOLDER}/scene"])
def test_a_file_where_the_states_folder_goes_is_said_before_sampling(tmp_path, file_at):
    """A file named OUT/.genxd-partial (or OUT/.genxd-partial/NAME) was found only by the first save, after a sampling
    call (minutes with the released model), and each run again did the same: now the check before the model loads
    says it, naming the file, and ``overwrite`` (which cannot help) is not offered."""
    _, _, plan = _plan(20)
    (tmp_path / file_at).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / file_at).write_text("not genxd's")
    for overwrite in (False, True):
        with pytest.raises(NotADirectoryError, match=rf"^{tmp_path / file_at} is a file, where genxd keeps the "
                                                     r"windows of a long path \(a folder\): move it away$"):
            PartialRuns(tmp_path, plan, {"steps": 1}, overwrite=overwrite).check(
                {0: Scene("scene", torch.zeros(3, 64, 64), 0)}, 1)
    assert (tmp_path / file_at).read_text() == "not genxd's"
