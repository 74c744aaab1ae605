"""``genxd.api.load_model`` memoized by its arguments for one test module: each model a module's commands ask for
(the bundled one, a reference checkpoint) is loaded by the first command that asks for it, with the arguments
that command passes, and handed to the later ones asking the same. A loaded model is made to be used by many
jobs (``genxd.generate(..., loaded=...)``, the demo's jobs); loading the bundled model costs 1.5-3 s of CPU a
command. Only for modules whose tests are about what a command does with the model, not about its loading:
what load_model prints comes with the first load only."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module")
def _loaded_by_arguments() -> dict[str, Any]:
    return {}


@pytest.fixture
def models_loaded_once(_loaded_by_arguments: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """``genxd.api.load_model`` for this test: the model of the module's earlier call with the same arguments."""
    import genxd.api as api

    real = api.load_model

    def load_model(*args: Any, **kwargs: Any) -> Any:
        key = repr((args, sorted(kwargs.items())))
        if key not in _loaded_by_arguments:
            _loaded_by_arguments[key] = real(*args, **kwargs)
        return _loaded_by_arguments[key]

    monkeypatch.setattr(api, "load_model", load_model)
