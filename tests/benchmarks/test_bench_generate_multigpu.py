"""``benchmarks/bench_generate_multigpu.py``: its inputs are distinct and its figures come from the job summary
(the GPU run itself is recorded in docs/benchmarks.md; the multi-process command is tested on CPU in
tests/cli/test_generate_multiprocess.py)."""

import hashlib

import pytest

from ..helpers import load_script


def test_inputs_are_distinct_images(tmp_path):
    paths = load_script("benchmarks/bench_generate_multigpu.py").make_inputs(tmp_path, 16)
    assert len(paths) == 16
    assert len({hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}) == 16


def test_summary_gives_throughput_and_the_written_once_check():
    bench = load_script("benchmarks/bench_generate_multigpu.py")
    results = [{"status": "written", "output": f"o/{i}", "process_index": i // 2, "started_at": 100.0 + i,
                "finished_at": 101.0 + i} for i in range(4)]
    s = bench.summarise({"results": results}, wall=20.0, num_inputs=4)
    assert s["each_output_once"] and s["written"] == 4 and s["scenes_per_process"] == {"0": 2, "1": 2}
    assert s["generation_seconds"] == pytest.approx(4.0) and s["scenes_per_s_generation"] == pytest.approx(1.0)
    assert s["scenes_per_s_wall"] == pytest.approx(0.2)
    results[3]["output"] = "o/0"  # written twice: the check must fail
    assert not bench.summarise({"results": results}, wall=20.0, num_inputs=4)["each_output_once"]
