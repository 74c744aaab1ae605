"""What a resumed run says of the settings it has otherwise than the checkpoint's run: valid, used, but the run no
longer continues the same training (:func:`changed_settings_note`)."""

from __future__ import annotations

from typing import Any

__all__ = ["changed_settings_note"]


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
