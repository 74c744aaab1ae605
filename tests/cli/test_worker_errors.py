"""An error raised in a DataLoader worker reaches the command line as its own message: PyTorch raises it again in
the training process behind "Caught ValueError in DataLoader worker process 0. Original Traceback ...", and
``genxd train`` printed all of that on its one error line (found when camvid's image checks moved into items)."""

from __future__ import annotations

import sys
import traceback

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from genxd.cli.common import one_line


def _first_item(dataset: Dataset) -> torch.Tensor:
    """``next(iter(DataLoader(dataset, num_workers=1)))``, its worker shut down before an error leaves: the error's
    traceback held the iterator, which a later garbage collection (in another test) freed, after its queues, so its
    shutdown waited 5 s for the worker (torch's ``MP_STATUS_CHECK_INTERVAL``; 5.1 s of this file's 5.9 s)."""
    loader_iter = iter(DataLoader(dataset, num_workers=1))
    try:
        return next(loader_iter)
    finally:
        if sys.exc_info()[1] is not None:
            traceback.clear_frames(sys.exc_info()[1].__traceback__)  # the iterator's frames let go of it
        del loader_iter  # shut down now, its queues alive


class _Refusing(Dataset):
    """Items whose reading is refused, as a dataset refuses an image that does not fit its camera."""

    def __init__(self, chained: str) -> None:
        self.chained = chained

    def __len__(self) -> int:
        return 1

    def __getitem__(self, i: int) -> torch.Tensor:
        if self.chained == "plain":
            raise ValueError("/data/clip/images/0001.png: 640x480 px, its camera 480x640")
        try:
            {}["size"]
        except KeyError as exc:  # two tracebacks in PyTorch's text, joined by Python's sentence between them
            if self.chained == "while-handling":
                raise ValueError("/data/clip/images/0001.png: 640x480 px,\nits camera 480x640")
            raise ValueError("/data/clip/images/0001.png: 640x480 px, its camera 480x640") from exc


@pytest.mark.parametrize("chained", ["plain", "while-handling", "from"])
def test_a_workers_error_is_its_own_message_on_one_line(chained):
    with pytest.raises(ValueError) as info:
        _first_item(_Refusing(chained))
    assert str(info.value).startswith("Caught ValueError in DataLoader worker process 0.")  # PyTorch's wrapper
    assert one_line(str(info.value)) == "/data/clip/images/0001.png: 640x480 px, its camera 480x640"


def test_other_messages_are_only_collapsed():
    text = "Caught nothing here.\nOriginal Traceback (most recent call last):\n  File x"
    assert one_line(text) == " ".join(text.split())


class _SizesError(ValueError):
    """A user error with a field of its own: PyTorch cannot make it again from the message alone."""

    def __init__(self, message: str, sizes: list[tuple[int, int]]) -> None:
        super().__init__(message)
        self.sizes = sizes


class _InternalError(RuntimeError):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class _Failing(Dataset):
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __len__(self) -> int:
        return 1

    def __getitem__(self, i: int) -> torch.Tensor:
        if self.kind == "decode":
            b"caption \xff".decode()  # a text file that is not UTF-8
        if self.kind == "sizes":
            raise _SizesError("/data/clip/images: frames of 2 sizes", [(480, 640), (640, 480)])
        raise _InternalError("a bug", 3)


@pytest.mark.parametrize("kind, line", [("decode", "'utf-8' codec can't decode byte 0xff in position 8"),
                                        ("sizes", "/data/clip/images: frames of 2 sizes")])
def test_a_worker_user_error_torch_cannot_raise_again_is_one_line(kind, line, capsys):
    """An error class whose ``__init__`` takes more than a message (``UnicodeDecodeError``, a ValueError with fields)
    is raised again by PyTorch as a RuntimeError holding the worker's traceback: the command printed Python's
    traceback (not a user error). Now it is the worker's message on one ``genxd: error:`` line, exit code 2."""
    import typer

    from genxd.cli.common import run_cli

    with pytest.raises(typer.Exit) as info:
        run_cli(lambda: _first_item(_Failing(kind)))
    assert info.value.exit_code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"genxd: error: {line}") and "\n" not in err and "Traceback" not in err


def test_a_worker_bug_torch_cannot_raise_again_still_raises():
    from genxd.cli.common import run_cli

    with pytest.raises(RuntimeError, match="Caught _InternalError in DataLoader worker process 0"):
        run_cli(lambda: _first_item(_Failing("bug")))
