"""genxd.generate's camera= given matrices (genxd.generate_settings): one line saying how to pass them."""

from __future__ import annotations

import numpy as np
import pytest

import genxd
from genxd.cameras import orbit


@pytest.mark.parametrize("camera, got", [
    (orbit(num_frames=4), r"a tuple of 2 arrays \(\[4, 4, 4\], \[4, 3, 3\]\)"),  # what every preset returns
    (orbit(num_frames=4)[0], r"an array of shape \[4, 4, 4\]"),
    (list(orbit(num_frames=4)[0].numpy()), r"a list of 4 arrays \(\[4, 4\], "),
])
def test_camera_matrices_are_one_line_with_the_way_to_pass_them(tmp_path, camera, got):
    """The message printed the tensor itself, over several lines, cut at 300 characters."""
    with pytest.raises(TypeError, match=rf"^camera must be a preset name, .* got {got}.*: for your own matrices, "
                                        r"pass genxd.cameras.CameraPath\(c2w, K, height, width\)") as caught:
        genxd.generate(np.zeros((64, 64, 3), np.uint8), tmp_path / "out", camera=camera, progress=False)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()
