"""An error raised in a DataLoader worker reaches the command line as its own message: PyTorch raises it again in
the training process behind "Caught ValueError in DataLoader worker process 0. Original Traceback ...", and
``genxd train`` printed all of that on its one error line (found when camvid's image checks moved into items)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from genxd.cli.common import one_line


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
        next(iter(DataLoader(_Refusing(chained), num_workers=1)))
    assert str(info.value).startswith("Caught ValueError in DataLoader worker process 0.")  # PyTorch's wrapper
    assert one_line(str(info.value)) == "/data/clip/images/0001.png: 640x480 px, its camera 480x640"


def test_other_messages_are_only_collapsed():
    text = "Caught nothing here.\nOriginal Traceback (most recent call last):\n  File x"
    assert one_line(text) == " ".join(text.split())
