"""A training dataset of one's own is read once (item 0) before training and a wrong sample refused naming the key:
channels-last frames failed inside the VAE's first convolution, a missing c2w as KeyError: 'c2w' in the loop,
uint8 frames (0-255) trained silently as if in [0, 1]."""

from __future__ import annotations

import multiprocessing
import re
import sys

import pytest
import torch
from torch.utils.data import Dataset

from genxd.data.datasets import DATASET_TYPES, check_sample, make_sample
from genxd.training.config import DataConfig
from genxd.training.data import build_training_dataset


def good_sample(num_frames: int = 4, size: int = 32, index: int = 0) -> dict:
    c2w = torch.eye(4).repeat(num_frames, 1, 1)
    c2w[:, 0, 3] = torch.linspace(0, 0.2, num_frames)
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]]).repeat(num_frames, 1, 1)
    frames = torch.rand(num_frames, 3, size, size, generator=torch.Generator().manual_seed(index))
    return make_sample(frames, c2w, K, "4d", 2.0, f"clip{index}")


def _hwc(s):
    s["frames"] = s["frames"].permute(0, 2, 3, 1).contiguous()


def _uint8(s):
    s["frames"] = (s["frames"] * 255).to(torch.uint8)


def _no_c2w(s):
    del s["c2w"]


def _frames_0_255(s):
    s["frames"] = s["frames"] * 255


def _short(s):
    s["c2w"] = s["c2w"][:2]


def _scaled_rotation(s):
    s["c2w"][:, :3, :3] *= 2


def _int_indicator(s):
    s["indicator"] = 2


def _kind_mismatch(s):
    s["kind"] = "3d"


SPOILS = {
    "hwc": (_hwc, r"'frames' must have shape \[4, 3, 32, 32\], got \[4, 32, 32, 3\]"),
    "uint8": (_uint8, r"'frames' must be a floating-point tensor, got torch.uint8"),
    "no_c2w": (_no_c2w, r"no 'c2w' \(a sample holds frames, c2w, K, indicator, motion_strength, kind, name\)"),
    "0_255": (_frames_0_255, r"'frames' must be in \[0, 1\], got values in \[0\.\d+, 25\d\]"),
    "short": (_short, r"'c2w' must have shape \[4, 4, 4\], got \[2, 4, 4\]"),
    "scaled": (_scaled_rotation, r"'c2w' \(OpenCV camera-to-world\): rotation part is not orthonormal"),
    "int_indicator": (_int_indicator, r"'indicator' must be a tensor, got int"),
    "kind": (_kind_mismatch, r"'kind' must be the indicator's name .* got '3d' for indicator 2"),
}


class OwnDataset(Dataset):
    """A researcher's dataset of their own format, spoilt as asked."""

    def __init__(self, num_frames: int = 4, height: int = 32, spoil: str | None = None) -> None:
        self.num_frames, self.height, self.spoil = num_frames, height, spoil

    def __len__(self) -> int:
        return 3

    def __getitem__(self, index: int) -> dict:
        sample = good_sample(self.num_frames, self.height, index)
        if self.spoil:
            SPOILS[self.spoil][0](sample)
        return sample


def test_a_good_sample_passes():
    check_sample(good_sample(), 4, 32, 32)


@pytest.mark.parametrize("spoil", list(SPOILS))
def test_a_wrong_sample_of_ones_own_dataset_is_refused_before_training(monkeypatch, spoil):
    monkeypatch.setitem(DATASET_TYPES, "own", OwnDataset)
    cfg = DataConfig(num_frames=4, height=32, num_workers=0, datasets=[{"type": "own", "spoil": spoil}])
    where = re.escape(f"data.datasets.0 (own): item 0 of {OwnDataset.__module__}.OwnDataset: ")
    with pytest.raises(ValueError, match="^" + where + SPOILS[spoil][1]) as info:
        build_training_dataset(cfg, seed=0)
    assert str(info.value).endswith("genxd.data.datasets.make_sample(frames, c2w, K, kind, motion_strength, name) "
                                    "builds one")


def test_a_good_dataset_of_ones_own_is_built(monkeypatch):
    monkeypatch.setitem(DATASET_TYPES, "own", OwnDataset)
    cfg = DataConfig(num_frames=4, height=32, num_workers=0, datasets=[{"type": "own"}])
    dataset = build_training_dataset(cfg, seed=0)
    assert len(dataset) == 3 and torch.equal(dataset[1]["frames"], good_sample(index=1)["frames"])


class LazyDataset(OwnDataset):
    """Opens its 'handle' on the first read (the h5py / LMDB pattern: meant to happen in each loader worker)."""

    def __init__(self, num_frames: int = 4, height: int = 32) -> None:
        super().__init__(num_frames, height)
        self.handle: object | None = None

    def __getitem__(self, index: int) -> dict:
        if self.handle is None:
            self.handle = object()
        return super().__getitem__(index)


def test_item_0_is_checked_without_opening_the_datasets_handle_in_this_process(monkeypatch):
    """With loader workers, item 0 is read by a worker as the training's are (without them the loader reads in this
    process, and so does the check)."""
    monkeypatch.setitem(DATASET_TYPES, "lazy", LazyDataset)
    cfg = DataConfig(num_frames=4, height=32, num_workers=1, datasets=[{"type": "lazy"}])
    dataset = build_training_dataset(cfg, seed=0)
    assert isinstance(dataset, LazyDataset) and dataset.handle is None  # the workers open their own


class InMemoryLazyDataset(LazyDataset):
    """Holds its data in memory (a copy would double it: refused here) and opens a handle on the first read."""

    def __deepcopy__(self, memo: dict) -> "InMemoryLazyDataset":
        raise MemoryError("a copy of this dataset would not fit")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="loader workers fork (no copy) on Linux only")
def test_item_0_of_a_dataset_too_big_to_copy_is_checked_without_copying_or_opening_it_here(monkeypatch):
    """The check read item 0 on a deep copy (a dataset holding its data in memory doubled), or, where the copy
    failed, in this process (the handle then inherited by every loader worker); now in a loader worker."""
    monkeypatch.setitem(DATASET_TYPES, "in_memory_lazy", InMemoryLazyDataset)
    cfg = DataConfig(num_frames=4, height=32, num_workers=1, datasets=[{"type": "in_memory_lazy"}])
    dataset = build_training_dataset(cfg, seed=0)
    assert isinstance(dataset, InMemoryLazyDataset) and dataset.handle is None


class RaisingDataset(OwnDataset):
    def __getitem__(self, index: int) -> dict:
        raise KeyError("nope")


@pytest.mark.parametrize("num_workers", [0, 1])
def test_an_error_reading_item_0_names_the_entry_and_the_class(monkeypatch, num_workers):
    """In this process or in a loader worker (whose re-raised error holds the worker's traceback: the line keeps only
    the error's own message, the chained error the traceback)."""
    monkeypatch.setitem(DATASET_TYPES, "raising", RaisingDataset)
    cfg = DataConfig(num_frames=4, height=32, num_workers=num_workers, datasets=[{"type": "raising"}])
    where = re.escape(f"data.datasets.0 (raising): item 0 of {RaisingDataset.__module__}.RaisingDataset raised "
                      "KeyError: 'nope'")
    with pytest.raises(RuntimeError, match="^" + where + "$") as info:
        build_training_dataset(cfg, seed=0)
    assert isinstance(info.value.__cause__, KeyError)


class ValueRaisingDataset(OwnDataset):
    def __getitem__(self, index: int) -> dict:
        raise ValueError("bad clip")


@pytest.mark.parametrize("kind, error", [(RaisingDataset, RuntimeError), (ValueRaisingDataset, ValueError)])
def test_the_probe_worker_is_gone_while_the_error_is_still_held(monkeypatch, kind, error):
    """The error's traceback held the probe's DataLoader iterator, so its worker (which ignores SIGTERM) lived on
    while the error did: a caller that caught it (the CLI's message) then hung at exit, multiprocessing waiting for
    the worker. The worker is shut down before the error leaves build_training_dataset."""
    monkeypatch.setitem(DATASET_TYPES, "raising", kind)
    cfg = DataConfig(num_frames=4, height=32, num_workers=1, datasets=[{"type": "raising"}])
    before = set(multiprocessing.active_children())  # processes earlier tests of this worker left are not ours
    with pytest.raises(error, match=r"^data\.datasets\.0 \(raising\): item 0 of ") as info:
        build_training_dataset(cfg, seed=0)
    assert info.value is not None and set(multiprocessing.active_children()) - before == set()


class RequestError(Exception):
    """Shaped like botocore's ClientError: pickles, but cannot be re-made from its args."""

    def __init__(self, response: dict, operation: str) -> None:
        super().__init__(f"An error occurred ({response['code']}) when calling the {operation} operation")


class RemoteDataset(OwnDataset):
    def __getitem__(self, index: int) -> dict:
        raise RequestError({"code": "NoSuchKey"}, "GetObject")


@pytest.mark.parametrize("num_workers", [0, 1])
def test_an_error_that_cannot_be_remade_still_names_the_entry(monkeypatch, num_workers):
    """Item 0 read in a forked child (dc68d06) sent the exception object back: one that pickles but cannot be
    unpickled ended in the parent as a raw TypeError naming neither the entry nor the error, the child left a zombie."""
    monkeypatch.setitem(DATASET_TYPES, "remote", RemoteDataset)
    cfg = DataConfig(num_frames=4, height=32, num_workers=num_workers, datasets=[{"type": "remote"}])
    with pytest.raises(RuntimeError, match=r"^data\.datasets\.0 \(remote\): item 0 of .*RemoteDataset raised "
                                           r"\w+: .*NoSuchKey.*GetObject"):
        build_training_dataset(cfg, seed=0)


class JsonClips(OwnDataset):
    def __init__(self, num_frames: int = 4, height: int = 32) -> None:
        import json

        json.loads("{not json")  # its index file, damaged: json.JSONDecodeError, a ValueError of three arguments


def test_a_value_error_subclass_is_named_as_a_value_error(monkeypatch):
    """The entry's prefix was added by type(exc)(message): a JSONDecodeError (msg, doc, pos) became a TypeError."""
    monkeypatch.setitem(DATASET_TYPES, "json_clips", JsonClips)
    cfg = DataConfig(num_frames=4, height=32, num_workers=0, datasets=[{"type": "json_clips"}])
    with pytest.raises(ValueError, match=r"^data\.datasets\.0 \(json_clips\): Expecting"):
        build_training_dataset(cfg, seed=0)


class UnpicklableDataset(OwnDataset):
    """Holds a lambda (as an open file or a lock would be): it cannot be pickled."""

    def __init__(self, num_frames: int = 4, height: int = 32) -> None:
        super().__init__(num_frames, height)
        self.transform = lambda sample: sample


@pytest.fixture
def spawned_workers():
    """Loader workers started by spawn (macOS's and Windows's default; Linux's forkserver from Python 3.14 sends the
    dataset pickled too)."""
    import multiprocessing

    method = multiprocessing.get_start_method()
    multiprocessing.set_start_method("spawn", force=True)
    yield
    multiprocessing.set_start_method(method, force=True)


def test_a_dataset_that_cannot_be_pickled_for_spawned_workers_says_so(monkeypatch, spawned_workers):
    """Found by the leftovers audit: with data.num_workers > 0 where workers start by spawn, a dataset of one's own
    that does not pickle was "item 0 of ... raised AttributeError: Can't pickle local object ..." (a RuntimeError:
    genxd train printed its traceback, after PyTorch's warning paragraph) though item 0 was never read. It is one
    line now, naming the entry and the two ways out."""
    import warnings

    monkeypatch.setitem(DATASET_TYPES, "unpicklable", UnpicklableDataset)
    cfg = DataConfig(num_frames=4, height=32, num_workers=1, datasets=[{"type": "unpicklable"}])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PyTorch's paragraph on it is not shown
        with pytest.raises(ValueError) as refused:
            build_training_dataset(cfg, seed=0)
    message = str(refused.value)  # "Can't get local object": Python 3.13's words
    assert re.match(r"data\.datasets\.0 \(unpicklable\): \S+\.UnpicklableDataset cannot be sent to the data "
                    r"loader's workers, which start by spawn here: the dataset must be picklable \(AttributeError: "
                    r"Can't (pickle|get) local object .*\); .* or set data\.num_workers: 0$", message), message
    cfg = DataConfig(num_frames=4, height=32, num_workers=0, datasets=[{"type": "unpicklable"}])
    assert isinstance(build_training_dataset(cfg, seed=0), UnpicklableDataset)  # the way out it names


def test_a_pickling_error_is_told_from_other_errors_on_every_python():
    """What pickle raises for a dataset it cannot send, in the words of each Python (the spawn test above meets only
    the running one's): a lambda or class defined in a function was "Can't pickle local object" up to 3.12 and is
    "Can't get local object" on 3.13, which was taken for an error of item 0 (a traceback, the test above failed on
    3.13); an AttributeError of one's own code is not a pickling error."""
    import pickle

    from genxd.utils.worker_errors import not_sent_to_workers

    sent = [AttributeError("Can't pickle local object 'f.<locals>.<lambda>'"),  # Python 3.10 - 3.12
            AttributeError("Can't get local object 'f.<locals>.<lambda>'"),  # 3.13
            pickle.PicklingError("Can't pickle local object <function f.<locals>.<lambda>>"),  # 3.14
            TypeError("cannot pickle '_io.TextIOWrapper' object")]
    assert all(not_sent_to_workers(exc) for exc in sent)
    assert not not_sent_to_workers(AttributeError("'NoneType' object has no attribute 'shape'"))
    assert not not_sent_to_workers(ValueError("Can't get local object 'f'"))
