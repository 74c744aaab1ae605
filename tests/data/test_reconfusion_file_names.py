"""The files of a ReconFusion folder as ``write_reconfusion_scene`` (``genxd fewshot-data``) writes them: torch file
names that are one file each also where letter case and Unicode normalisation are not told apart (macOS, Windows:
before, scenes ``Scene`` and ``scene`` were written as ``Scene.torch`` and ``scene.torch``, one file once the folder
was copied there, and both keys then read the same scene), and a scene file never left without the index naming it."""

from __future__ import annotations

import torch

from genxd.cameras import trajectories
from genxd.data.reconfusion import load_reconfusion, read_reconfusion_index, write_reconfusion_scene
from genxd.utils.paths import name_key


def _write(root, key: str, seed: int, overwrite: bool = False) -> torch.Tensor:
    images = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(seed))
    c2w, K = trajectories.orbit(num_frames=4)
    write_reconfusion_scene(root, key, images, c2w, K, {2: ([1, 2], [0])}, overwrite=overwrite)
    return images


def test_keys_alike_up_to_case_get_files_of_other_names_on_every_file_system(tmp_path) -> None:
    written = {key: _write(tmp_path, key, seed) for seed, key in enumerate(["Scene", "scene", "SCENE", "Caf\u00e9"])}
    (tmp_path / "cafe.torch").write_bytes(b"a user's own file")  # not in the index: never taken, nor its case-mate
    written["CAFE"] = _write(tmp_path, "CAFE", 9)
    index = read_reconfusion_index(tmp_path)
    keys_of_files = [name_key(name) for name in index.values()] + [name_key("cafe.torch")]
    assert len(set(keys_of_files)) == len(keys_of_files), index
    assert (tmp_path / "cafe.torch").read_bytes() == b"a user's own file"
    scenes = load_reconfusion(tmp_path)
    for key, images in written.items():
        assert (scenes[key].decoded_images() - images).abs().max() <= 0.5 / 255 + 1e-6, key
    # replacing a scene keeps its own file
    before = dict(index)
    _write(tmp_path, "scene", 5, overwrite=True)
    assert read_reconfusion_index(tmp_path) == before


def test_a_write_stopped_at_any_rename_leaves_no_scene_file_the_index_does_not_name(tmp_path, monkeypatch) -> None:
    """The scene file and the index were renamed in one after the other: a stop (Ctrl-C) between the two left
    ``scene.torch`` named by no index, and the next run (``genxd fewshot-data`` again) wrote ``scene_1.torch`` beside it,
    the stopped run's file kept for good (a capture's images: hundreds of MB)."""
    import os

    at = 0
    while True:
        root = tmp_path / f"stop_{at}"
        calls, real = [0], (os.replace, os.rename)

        def stop(real_fn):
            def call(*args, **kwargs):  # from call `at` on, every rename raises: the process was stopped there
                calls[0] += 1
                if calls[0] > at:
                    raise KeyboardInterrupt
                return real_fn(*args, **kwargs)
            return call

        monkeypatch.setattr(os, "replace", stop(real[0]))
        monkeypatch.setattr(os, "rename", stop(real[1]))
        try:
            _write(root, "scene", 0)
            stopped = False
        except KeyboardInterrupt:
            stopped = True
        monkeypatch.undo()
        if root.is_dir() and (root / "index.json").is_file():  # read back: a stopped replacement is finished first
            assert read_reconfusion_index(root) == {"scene": "scene.torch"}
        _write(root, "scene", 1, overwrite=True)  # the command again
        assert read_reconfusion_index(root) == {"scene": "scene.torch"}
        assert sorted(os.listdir(root)) == ["index.json", "scene.torch"], f"stopped at rename {at}"
        if not stopped:
            break
        at += 1
    assert at >= 2
