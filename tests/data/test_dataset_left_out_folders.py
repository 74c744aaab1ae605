"""Folders of a data root holding half a scene were left out in silence: a multi-view scene whose COLMAP model is in
``sparse/1`` (COLMAP's mapper wrote two models), a CamVid video whose model is in ``sparse/0`` (a COLMAP GUI project,
not ``genxd curate``'s ``0/``) or whose frames are not in ``images/``. They trained none of their views and the run's
data line counted nothing; each kind is now one warning counting them and naming the first
(``genxd.data.datasets.left_out``)."""

from __future__ import annotations

import re
import shutil
import warnings
import zipfile

import pytest

from genxd.data.datasets import CamVidDataset, MultiViewDataset
from genxd.data.synthetic import make_clip, write_clip
from genxd.validation import GenXDWarning

pytestmark = pytest.mark.usefixtures("single_thread")  # tests/data/conftest.py


@pytest.fixture(scope="module")
def colmap_scene(tmp_path_factory):
    """A scene folder of ``images/`` and a COLMAP model ``0/`` (``genxd synth --format camvid``), 4 views of 16x16."""
    root = tmp_path_factory.mktemp("colmap")
    write_clip(make_clip(0, "3d", 4, 16, 16), root, "scene", "camvid", num_points=100)
    return root / "scene"


def test_multiview_folders_of_half_a_scene_are_counted_in_a_warning(colmap_scene, tmp_path):
    shutil.copytree(colmap_scene, tmp_path / "good")
    shutil.copytree(colmap_scene / "images", tmp_path / "second_model" / "images")  # COLMAP's other model
    shutil.copytree(colmap_scene / "0", tmp_path / "second_model" / "sparse" / "1")
    shutil.copytree(colmap_scene / "images", tmp_path / "no_model" / "images")
    shutil.copytree(colmap_scene / "0", tmp_path / "no_images" / "sparse" / "0")
    (tmp_path / "notes").mkdir()  # a folder of the user's that is no scene at all: not said
    with pytest.warns(GenXDWarning) as caught:
        dataset = MultiViewDataset(tmp_path, num_frames=4, height=16)
    said = [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]
    assert dataset.scene_names() == ["good"]
    assert said == [
        f"MultiViewDataset: 2 folders with images/ but no COLMAP model (sparse/0, 0, colmap/sparse/0, sparse) or "
        f"transforms.json left out (not trained): {tmp_path / 'no_model'}, {tmp_path / 'second_model'}",
        f"MultiViewDataset: 1 folder with a COLMAP model (sparse/0, 0, colmap/sparse/0, sparse) but no images/ left "
        f"out (not trained): {tmp_path / 'no_images'}"]


def test_multiview_scenes_alone_say_nothing(colmap_scene, tmp_path):
    shutil.copytree(colmap_scene, tmp_path / "good")
    (tmp_path / "notes").mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert MultiViewDataset(tmp_path, num_frames=4, height=16).scene_names() == ["good"]


def test_camvid_folders_of_half_a_video_are_counted_in_a_warning(colmap_scene, tmp_path):
    shutil.copytree(colmap_scene, tmp_path / "good")
    shutil.copytree(colmap_scene / "images", tmp_path / "gui_project" / "images")  # COLMAP GUI's sparse/0, not 0/
    shutil.copytree(colmap_scene / "0", tmp_path / "gui_project" / "sparse" / "0")
    shutil.copytree(colmap_scene / "images", tmp_path / "frames_elsewhere" / "frames")
    shutil.copytree(colmap_scene / "0", tmp_path / "frames_elsewhere" / "0")
    (tmp_path / "notes").mkdir()
    with pytest.warns(GenXDWarning) as caught:
        dataset = CamVidDataset(tmp_path, num_frames=4, height=16, kind="3d")
    said = [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]
    assert dataset.scene_names() == ["good"]
    assert said == [  # gui_project once, not its sparse/ (a model 0/ without images/) again
        f"CamVidDataset: 1 folder with images/ but no COLMAP model 0/ (cameras.bin or cameras.txt) left out (not "
        f"trained): {tmp_path / 'gui_project'}",
        f"CamVidDataset: 1 folder with a COLMAP model 0/ but no images/ left out (not trained): "
        f"{tmp_path / 'frames_elsewhere'}"]


def test_camvid_archive_folders_of_half_a_video_are_counted_in_a_warning(colmap_scene, tmp_path):
    archive = tmp_path / "batch_1.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(p for p in colmap_scene.rglob("*") if p.is_file()):
            relative = f.relative_to(colmap_scene).as_posix()
            zf.write(f, f"good/{relative}")
            if relative.startswith("0/"):
                zf.write(f, f"no_images/{relative}")
                zf.write(f, f"gui_project/sparse/{relative}")
            else:
                zf.write(f, f"gui_project/{relative}")
    with pytest.warns(GenXDWarning) as caught:
        dataset = CamVidDataset(archive, num_frames=4, height=16, kind="3d")
    said = [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]
    assert dataset.scene_names() == ["good"]
    assert said == [
        f"CamVidDataset: 1 folder with images/ but no COLMAP model 0/ (cameras.bin or cameras.txt) left out (not "
        f"trained): {archive}/gui_project",
        f"CamVidDataset: 1 folder with a COLMAP model 0/ but no images/ left out (not trained): {archive}/no_images"]


def test_camvid_videos_alone_say_nothing(colmap_scene, tmp_path):
    shutil.copytree(colmap_scene, tmp_path / "good")
    (tmp_path / "notes").mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert CamVidDataset(tmp_path, num_frames=4, height=16, kind="3d").scene_names() == ["good"]


def _frames_in_a_sub_folder(colmap_scene, video):
    """``video`` as ``colmap_scene`` with its frames in ``images/cam1/`` and its model naming them ``cam1/NAME``."""
    import pycolmap

    for frame in sorted((colmap_scene / "images").iterdir()):
        (video / "images" / "cam1").mkdir(parents=True, exist_ok=True)
        shutil.copy(frame, video / "images" / "cam1" / frame.name)
    model = pycolmap.Reconstruction(str(colmap_scene / "0"))
    for image in model.images.values():
        image.name = f"cam1/{image.name}"
    (video / "0").mkdir()
    model.write(str(video / "0"))


def test_a_camvid_video_with_its_frames_in_a_sub_folder_is_said_so(colmap_scene, tmp_path):
    """Such a video was counted with the videos too short for a clip (``1 scene skipped: fewer than 4 frames``), its
    four frames being in ``images/cam1/``, which the layout does not read; it is now named as what it is."""
    shutil.copytree(colmap_scene, tmp_path / "good")
    _frames_in_a_sub_folder(colmap_scene, tmp_path / "rig")
    with pytest.warns(GenXDWarning) as caught:
        dataset = CamVidDataset(tmp_path, num_frames=4, height=16, kind="3d")
    said = [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]
    assert dataset.scene_names() == ["good"] and dataset.num_skipped_scenes == 0
    assert said == [f"CamVidDataset: 1 folder with a COLMAP model 0/ and frames in sub-folders of images/ only (the "
                    f"camvid layout reads images/FRAME; a multiview dataset reads such a folder, as 3D) left out (not "
                    f"trained): {tmp_path / 'rig'}"]
    assert len(MultiViewDataset(tmp_path / "rig", num_frames=4, height=16)) == 1  # as the warning says

    archive = tmp_path / "batch_1.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(p for p in (tmp_path / "rig").rglob("*") if p.is_file()):
            zf.write(f, f"rig/{f.relative_to(tmp_path / 'rig').as_posix()}")
        for f in sorted(p for p in (tmp_path / "good").rglob("*") if p.is_file()):
            zf.write(f, f"good/{f.relative_to(tmp_path / 'good').as_posix()}")
    with pytest.warns(GenXDWarning, match=rf"1 folder with a COLMAP model 0/ and frames in sub-folders of images/ only "
                                          rf".* left out \(not trained\): {re.escape(str(archive))}/rig$"):
        assert CamVidDataset(archive, num_frames=4, height=16, kind="3d").scene_names() == ["good"]


def test_multiview_scenes_one_level_further_down_are_said_so(colmap_scene, tmp_path):
    """A folder of categories beside scene folders (``root/chairs/chair1``) is not searched: its scenes trained
    nothing, in silence; now one warning names it and says how to give it."""
    shutil.copytree(colmap_scene, tmp_path / "good")
    shutil.copytree(colmap_scene, tmp_path / "chairs" / "chair1")
    with pytest.warns(GenXDWarning) as caught:
        dataset = MultiViewDataset(tmp_path, num_frames=4, height=16)
    said = [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]
    assert dataset.scene_names() == ["good"]
    assert said == [f"MultiViewDataset: 1 folder with scene folders inside, one level further down than a root's "
                    f"scenes are searched (give such a folder as a root too: root: [ROOT, ROOT/FOLDER]) left out (not "
                    f"trained): {tmp_path / 'chairs'}"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        both = MultiViewDataset([tmp_path, tmp_path / "chairs"], num_frames=4, height=16, view_sampling="clip")
    assert both.scene_names() == ["good", "chair1"]
