"""``genxd.api.load_model`` memoized by its arguments for one test module: each model a module's commands ask for
(the bundled one, a reference checkpoint) is loaded by the first command that asks for it, with the arguments
that command passes, and handed to the later ones asking the same. A loaded model is made to be used by many
jobs (``genxd.generate(..., loaded=...)``, the demo's jobs); loading the bundled model costs 1.5-3 s of CPU a
command. Only for modules whose tests are about what a command does with the model, not about its loading:
what load_model prints comes with the first load only.

A test that changed a handed-out model in place (its weights, a module, an attention processor, a hook, the
scheduler or a pipeline setting) would change what the module's later tests run: each test's end compares the
models it was handed with their state when loaded (:func:`model_state`) and fails naming what changed."""

from __future__ import annotations

from typing import Any, Iterator

import pytest


def model_state(loaded: Any) -> dict[str, Any]:
    """What a test could change in place of a ``genxd.checkpoints.LoadedModel``, cheap to take (about 10 ms for the
    bundled model): per torch module of the pipeline, each tensor's storage, in-place version counter, dtype,
    device and shape (a write through ``.data`` bumps no version: not seen), and each submodule's class, train/eval mode, hook counts and attention processor; the
    scheduler's class and config; the pipeline's settings (public attributes and config) and the model's defaults (by ``repr``)."""
    import torch

    state: dict[str, Any] = {}
    pipe = loaded.pipe
    for name, part in pipe.components.items():
        if isinstance(part, torch.nn.Module):
            state[f"{name} tensors"] = [(key, t.data_ptr(), t._version, t.dtype, str(t.device), tuple(t.shape))
                                        for key, t in part.state_dict(keep_vars=True).items()]
            state[f"{name} modules"] = [(key, type(m).__name__, m.training, len(m._forward_hooks),
                                         len(m._forward_pre_hooks), type(getattr(m, "processor", None)).__name__)
                                        for key, m in part.named_modules()]
        else:
            state[name] = (type(part).__name__, repr(getattr(part, "config", None)))
    # its settings and config; not what a call records of itself (diffusers' `_num_timesteps`, `_guidance_scale`)
    state["pipeline settings"] = sorted((k, repr(v)) for k, v in vars(pipe).items()
                                        if k not in pipe.components and (k == "_internal_dict" or k[0] != "_"))
    state["defaults"] = repr((loaded.defaults, loaded.trained))
    return state


def changed_parts(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The keys of :func:`model_state` whose values differ."""
    return [key for key in before if before[key] != after.get(key)]


@pytest.fixture(scope="module")
def _loaded_by_arguments() -> dict[str, Any]:
    return {}


@pytest.fixture
def models_loaded_once(_loaded_by_arguments: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``genxd.api.load_model`` for this test: the model of the module's earlier call with the same arguments."""
    import genxd.api as api

    real = api.load_model

    handed: dict[str, dict[str, Any]] = {}

    def load_model(*args: Any, **kwargs: Any) -> Any:
        key = repr((args, sorted(kwargs.items())))
        if key not in _loaded_by_arguments:
            _loaded_by_arguments[key] = real(*args, **kwargs)
        handed.setdefault(key, model_state(_loaded_by_arguments[key]))
        return _loaded_by_arguments[key]

    monkeypatch.setattr(api, "load_model", load_model)
    yield
    for key, before in handed.items():
        if changed := changed_parts(before, model_state(_loaded_by_arguments[key])):
            _loaded_by_arguments.pop(key)  # not handed to later tests
            pytest.fail(f"this test changed the shared model {key} in place ({', '.join(changed)}): later tests "
                        "of the module would run the changed one; load a model of its own (genxd.api.load_model "
                        "unpatched) for a test that changes it", pytrace=False)
