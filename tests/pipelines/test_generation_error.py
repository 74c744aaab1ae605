"""GenerationError (genxd.pipelines.distributed): the message a Python caller reads when some inputs failed."""

from __future__ import annotations

import pickle

import pytest

from genxd.pipelines.distributed import GenerationError, SceneResult, describe_failures


def _results(failures: dict[str, str], written: int = 1) -> list[SceneResult]:
    done = [SceneResult(i, f"ok{i}.png", f"out/ok{i}", "written") for i in range(written)]
    return done + [SceneResult(written + i, name, f"out/{i}", "failed", error, "ValueError")
                   for i, (name, error) in enumerate(failures.items())]


def test_each_failed_input_is_named_once_with_its_error():
    """It read '1 of 2 inputs failed: bad.png (bad.png: cannot read image ...)': the name twice."""
    error = GenerationError(_results({"bad.png": "bad.png: cannot read image (UnidentifiedImageError)"}))
    assert str(error) == "1 of 2 inputs failed: bad.png: cannot read image (UnidentifiedImageError)"
    error = GenerationError(_results({"a.png": "no faces", "b.png": "b.png: too small"}, written=0))
    assert str(error) == "2 of 2 inputs failed: a.png: no faces; b.png: too small"


def test_past_three_failures_the_others_are_counted_and_named():
    error = GenerationError(_results({f"{i}.png": "broken" for i in range(10)}, written=0), what="groups")
    assert str(error) == ("10 of 10 groups failed: 0.png: broken; 1.png: broken; 2.png: broken; 7 more: 3.png, 4.png, "
                          "5.png, 6.png, 7.png, ...")
    assert len(error.results) == 10


def test_the_command_lines_error_names_the_failed_inputs_in_the_same_words_without_their_errors():
    """genxd generate / fewshot print each failure on its own line, then this one (describe_failures: the wording of
    GenerationError, whose first three inputs come with their error)."""
    results = _results({f"{i}.png": "broken" for i in range(7)}, written=2)
    assert describe_failures(results) == "7 of 9 inputs failed: 0.png, 1.png, 2.png, 3.png, 4.png, ..."
    assert describe_failures(results[:4], "groups") == "2 of 4 groups failed: 0.png, 1.png"
    assert describe_failures(results[:2]) is None
    assert str(GenerationError(results)).startswith(describe_failures(results, errors=3))


@pytest.mark.parametrize("written", [0, 2])
def test_an_error_without_a_failed_result_cannot_be_made(written):
    """GenerationError([]) said "0 of 0 inputs failed" (and of results all written, "0 of 2 ...")."""
    with pytest.raises(ValueError, match=f"GenerationError needs a failed result; got {written} inputs, none failed"):
        GenerationError(_results({}, written=written))


def test_the_error_survives_pickling():
    """Unpickling it (a job run in a process pool: its error sent to the caller) called GenerationError(message)
    and failed: AttributeError: 'str' object has no attribute 'status'."""
    error = pickle.loads(pickle.dumps(GenerationError(_results({"bad.png": "bad.png: broken"}), what="groups")))
    assert isinstance(error, GenerationError) and str(error) == "1 of 2 groups failed: bad.png: broken"
    assert [r.input for r in error.results] == ["ok0.png", "bad.png"] and error.what == "groups"
