"""A transforms.json without an image size whose ``file_path`` cannot name a file (a NUL byte, a name past the file
system's limit): one ValueError naming the JSON, as for an image that is not there."""

from __future__ import annotations

import json

import pytest

from genxd.cameras.reader import read_camera_path


@pytest.mark.parametrize("file_path", ["images/frame\u00001.png", "x" * 5000, "images/" + "y" * 300 + "/a.png"],
                         ids=["nul", "long-name", "long-folder"])
def test_a_file_path_no_file_can_have_is_an_image_not_found(tmp_path, file_path):
    """Before: a bare 'embedded null byte' (ValueError not naming the file) or OSError '[Errno 36] File name too
    long' with the 5000 characters, from genxd generate --camera as from Python."""
    obj = {"camera_angle_x": 0.7, "frames": [{"file_path": file_path, "transform_matrix": [[1, 0, 0, 0], [0, 1, 0, 0],
                                                                                         [0, 0, 1, 0], [0, 0, 0, 1]]}]}
    path = tmp_path / "transforms.json"
    path.write_text(json.dumps(obj))
    with pytest.raises(ValueError, match=rf"^{path} \(transforms\.json\): frames\[0\]: no image size \(w, h\) in the "
                                         "file and the frame's image was not found"):
        read_camera_path(path)
