"""The built-in dataset types' options known without importing their modules (``genxd.data.dataset_options``)."""

from __future__ import annotations

import inspect

from genxd.data.dataset_options import BUILTIN_DATASET_OPTIONS, dataset_entries_error
from genxd.data.datasets.mixture import DATASET_TYPES, dataset_class


def test_the_options_table_is_each_built_in_class_s_init_parameters():
    dataset_class("synthetic")  # registers the types defined in their own modules (photo)
    assert sorted(BUILTIN_DATASET_OPTIONS) == sorted(DATASET_TYPES)
    for kind, cls in DATASET_TYPES.items():
        params = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        assert list(BUILTIN_DATASET_OPTIONS[kind]) == params, f"{kind}: update genxd/data/dataset_options.py"


def test_entries_errors_name_the_entry_and_leave_other_types_to_the_build():
    assert dataset_entries_error([{"type": "synthetic", "length": 2, "weight": 1}, {"type": "mypkg.data.Mine",
                                                                                     "anything": 1}]) is None
    assert dataset_entries_error([{"type": "unknown_name", "x": 1}]) is None  # the build says which types there are
    error = dataset_entries_error([{"type": "camvid", "root": "r"}, {"type": "photo", "lenght": 3, "wieght": 1}])
    assert str(error).startswith("data.datasets.1 (photo): dataset type 'photo': unknown option(s) ['lenght', "
                                 "'wieght'] (did you mean 'lenght' -> 'length', 'wieght' -> 'weight'?); accepted: ")
    assert str(dataset_entries_error(["synthetic"])) == ("data.datasets.0: expected a mapping with a 'type', got "
                                                          "'synthetic'")
