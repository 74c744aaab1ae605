"""The ``cli-args`` fuzz target (``benchmarks/fuzz_targets_cli.py``: every command's options combined): a short
fixed-seed run finds nothing, and the target's judge does report what it is there to find."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import ROOT, assert_fuzz_finds_nothing, fuzz_cli_inputs, load_script


def test_fuzzing_the_command_line_finds_nothing(tmp_path, tmp_path_factory):
    # the inputs (a generated scene, a reconstruction, SfM of a clip) are made once for this and the other
    # target of the same inputs. No warm-up: the worker's warm-up is the first seed (a generation of 2 steps) run
    # only to be thrown away, about 2-4 s of CPU; case 0 pays the imports instead (those the fork server of
    # tests/helpers.py has not made), well within the 120 s timeout.
    # 20 cases in CI (seed 0: 6 commands that ran, 14 refusals; cases 20-39 added ~7 s and no new outcome kind);
    # a longer run by hand: python benchmarks/fuzz_inputs.py --targets cli-args --cases 200
    counts = assert_fuzz_finds_nothing("cli-args", 20, tmp_path, timeout=120.0,
                                       inputs=lambda: fuzz_cli_inputs(tmp_path_factory), warm_up=False)
    assert counts["ok"] > 0 and counts["clear"] > 0, counts  # commands that ran and commands that refused


@pytest.fixture()
def target(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # the target imports the fuzzer's modules
    module = load_script("benchmarks/fuzz_targets_cli.py")
    inputs = tmp_path / "seeds" / "in"
    inputs.mkdir(parents=True)
    (inputs / "mine.json").write_text("{}")
    (tmp_path / "seeds" / "in.pristine").mkdir()
    (tmp_path / "seeds" / "in.pristine" / "mine.json").write_text("{}")

    def case(argv: list[str]) -> Path:
        path = tmp_path / "case" / "case.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps({"argv": argv, "inputs": str(inputs)}))
        return path

    return module, case, inputs


def test_the_judge_reports_a_traceback_a_changed_input_and_an_unnamed_error(target, monkeypatch):
    module, case, inputs = target
    import genxd.cli.info as info

    def broken(checked: bool = True) -> list[str]:
        raise RuntimeError("boom")

    monkeypatch.setattr(info, "bundled_model_lines", broken)
    with pytest.raises(RuntimeError, match="boom"):  # an exception out of the command: internal
        module.run_case(stop_at_work=False, path=case(["info"]))
    monkeypatch.undo()

    def overwrite_input(checked: bool = True) -> list[str]:
        (inputs / "mine.json").write_text('{"changed": true}')
        return []

    monkeypatch.setattr(info, "bundled_model_lines", overwrite_input)
    with pytest.raises(AssertionError, match="input files changed or removed: mine.json"):
        module.run_case(stop_at_work=False, path=case(["info"]))
    assert (inputs / "mine.json").read_text() == "{}"  # put back for the next case
    monkeypatch.undo()

    with pytest.raises(ValueError, match=r"^case.json: genxd: error: No such option: --nope"):  # clear
        module.run_case(stop_at_work=False, path=case(["info", "--nope"]))
    assert not module._named("genxd: error: something went wrong", ["info"])  # unnamed
    assert module._named("genxd: error: Missing argument 'INPUTS'.", ["curate", "-o", "x"])
