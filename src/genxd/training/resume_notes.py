"""What a resumed run says of the settings it has otherwise than the checkpoint's run: valid, used, but the run no
longer continues the same training (:func:`changed_settings_note`), or a model that is not the checkpoint's model
(:func:`model_change_note`)."""

from __future__ import annotations

from typing import Any

__all__ = ["changed_settings_note", "model_change_note"]


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
    """The settings of a config section as ``{"model.unet.num_attention_heads": 1, ...}`` (lists as values)."""
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
