"""What a resumed run says of the settings it has otherwise than the checkpoint's run: valid, used, but the run no
longer continues the same training (:func:`changed_settings_note`), or a model that is not the checkpoint's model
(:func:`model_change_note`), or other settings of what it learns (:func:`training_change_note`)."""

from __future__ import annotations

from typing import Any

__all__ = ["changed_settings_note", "model_change_note", "training_change_note"]


def _shown(value: Any) -> str:
    """A setting's value in a note: numbers as ``:g``."""
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def changed_settings_note(state: dict[str, Any], saved_data: dict[str, Any], data: Any, global_batch: int,
                          data_items: int | None, learning_rate: float, seed: int) -> str | None:
    """One note listing what differs from the checkpoint's run (global batch, data items, learning rate, seed from
    its ``training_state.json``, ``state``; frames per clip and frame size from the ``data`` section of its
    ``config.yaml``, ``saved_data``) against this run's (``data``: its data config): valid, but the run no longer
    continues the same training (the data stream continues at step x new batch). None when nothing differs."""
    now = {"global batch": global_batch, "data items": data_items,
           "learning rate": learning_rate, "frames per clip": data.num_frames,
           "frame size": f"{data.height}x{data.width or data.height}", "seed": seed}
    height, width = saved_data.get("height"), saved_data.get("width") or saved_data.get("height")
    was = {"global batch": state.get("global_batch"), "data items": state.get("data_items"),
           "learning rate": state.get("learning_rate"), "frames per clip": saved_data.get("num_frames"),
           "frame size": f"{height}x{width}" if isinstance(height, int) and isinstance(width, int) else None,
           "seed": state.get("seed")}  # another data order and other noise from here (docs/training.md, Determinism)
    changed = [f"{k} {_shown(was[k])} -> {_shown(now[k])}" for k in now
               if isinstance(was[k], (int, float, str)) and now[k] is not None and was[k] != now[k]]
    if not changed:
        return None
    return (f"note: resuming with other settings than the checkpoint's: {', '.join(changed)} (the data stream "
            "continues at step x new global batch)")


def _leaves(config: Any, prefix: str) -> dict[str, Any]:
    """The settings of a config section as ``{"model.unet.num_attention_heads": 1, "data.datasets.0.root": ...}``
    (a list of mappings by index, other lists as values)."""
    if isinstance(config, list) and config and all(isinstance(item, dict) for item in config):
        config = {str(i): item for i, item in enumerate(config)}
    if not isinstance(config, dict):
        return {prefix: config}
    found: dict[str, Any] = {}
    for key, value in config.items():
        found.update(_leaves(value, f"{prefix}.{key}"))
    return found


def model_change_note(saved: dict[str, Any], current: dict[str, Any], section: str) -> str | None:
    """The note for a run whose model settings (``section``: ``model`` for ``genxd train``, ``vae`` for ``genxd
    train-vae``) differ from those of the checkpoint it resumed (``saved``: its ``config.yaml``; ``current``: this
    run's config as a dict) where its weights still fit (another size is refused as they are loaded): another number of
    attention heads splits the same weights otherwise, another ``model.vae.pretrained`` is another frozen VAE, so
    other latents. Used, as the checkpoint's weights load; they were without a word. Settings one of the two configs
    does not have (a checkpoint of an earlier genxd) are not compared. None when none differs."""
    was, now = _leaves(saved.get(section), section), _leaves(current.get(section), section)
    changed = [f"{key} {was[key]} -> {now[key]}" for key in now if key in was and was[key] != now[key]]
    if not changed:
        return None
    return (f"note: resuming with other {section} settings than the checkpoint's: {', '.join(changed)} (its weights "
            "are loaded into the model this config makes)")


#: what :func:`training_change_note` leaves to others: the model (:func:`model_change_note`), what the other notes name
#: (seed, data items and frame size, learning rate and schedule, batch, optimiser) or refuse (another optimiser), how
#: long and where the run goes, and what changes its speed or memory, not what it learns
_NOT_LEARNT = frozenset({
    "output_dir", "seed", "model", "vae", "checkpoint", "logging", "validation", "generation",
    "data.num_frames", "data.height", "data.width", "data.length", "data.num_workers", "data.preload",
    "training.learning_rate", "training.lr_schedule", "training.lr_warmup_steps", "training.min_lr_ratio",
    "training.max_steps", "training.max_minutes", "training.batch_size", "training.gradient_accumulation_steps",
    "training.weight_decay", "training.adam_beta1", "training.adam_beta2", "training.adam_epsilon",
    "training.use_8bit_adam", "training.compile", "training.allow_tf32", "training.gradient_checkpointing",
    "training.find_unused_parameters", "training.ddp_comm_hook", "training.ddp_bucket_mb",
    "training.ema.enabled"})  # (the EMA started from a checkpoint without one: its own note)
#: a dataset's options that the data items (another number: noted) or caching are, not what is learnt
_NOT_LEARNT_OPTIONS = frozenset({"length", "cache_size", "cache_dir"})


def _learnt(key: str) -> bool:
    if key.startswith("data.datasets.") and key.rpartition(".")[2] in _NOT_LEARNT_OPTIONS:
        return False
    return not any(key == k or key.startswith(k + ".") for k in _NOT_LEARNT)


def training_change_note(saved: dict[str, Any], current: dict[str, Any]) -> str | None:
    """The note for a run resumed with other settings of what it learns than the checkpoint's run (``saved``: its
    ``config.yaml``; ``current``: this run's config as a dict): its data (``data.datasets.0.root``), objective
    (``noise.p_mean``, ``conditioning.*``, the VAE's ``loss.*``), precision (``training.mixed_precision``), EMA or
    clipping. Used from here, as the config says; they were without a word (the other notes name the seed, data
    items, batch, learning rate and optimiser settings). Settings one of the two configs lacks are not compared."""
    changed = []
    for section in current:
        if section in _NOT_LEARNT:
            continue
        was, now = _leaves(saved.get(section), section), _leaves(current.get(section), section)
        changed += [f"{key} {was[key]} -> {now[key]}" for key in now if key in was and was[key] != now[key] and _learnt(key)]
    if not changed:
        return None
    return f"note: resuming with other settings than the checkpoint's: {', '.join(changed)} (used from here)"
