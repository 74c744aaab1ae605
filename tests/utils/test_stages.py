import io

from genxd.utils.stages import StageLines


def test_stage_lines_print_one_line_per_stage_with_seconds_since_the_first():
    out = io.StringIO()
    stages = StageLines("walk.mp4", file=out)
    stages("reading frames")
    stages("structure from motion on 12 frames")
    lines = out.getvalue().splitlines()
    assert lines[0] == "genxd: walk.mp4 [0 s]: reading frames"
    assert lines[1].startswith("genxd: walk.mp4 [") and lines[1].endswith(" s]: structure from motion on 12 frames")


def test_disabled_stage_lines_print_nothing():
    out = io.StringIO()
    stages = StageLines("walk.mp4", enabled=False, file=out)
    stages("reading frames")
    assert out.getvalue() == ""
