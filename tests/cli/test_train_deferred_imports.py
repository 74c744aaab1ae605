"""``genxd train`` imports the trainer with the CLI's deferred modules (``DEFERRED_IMPORTS``: ``scipy.stats``,
``bitsandbytes``), as ``genxd generate`` does: every training process (each one of ``accelerate launch``) paid
for importing them though a run with ``training.use_8bit_adam`` off never uses them."""

from __future__ import annotations

from typer.testing import CliRunner

from genxd.cli import app

from ..training.conftest import QUIET, TINY


def test_train_imports_the_trainer_with_the_deferred_modules(tmp_path, monkeypatch):
    import genxd.cli.train as train_cli
    import genxd.training.trainer as trainer
    from genxd.cli.common import DEFERRED_IMPORTS

    calls, runs = [], []
    monkeypatch.setattr(train_cli, "import_libraries", lambda *mods, defer=(): calls.append((mods, defer)))
    monkeypatch.setattr(trainer, "train_genxd", lambda cfg, **kwargs: runs.append(cfg.output_dir))
    res = CliRunner().invoke(app, ["train", str(TINY), f"output_dir={tmp_path / 'run'}", *QUIET, "--cpu"])
    assert res.exit_code == 0, res.output
    assert len(runs) == 1 and calls == [(("genxd.training.trainer",), DEFERRED_IMPORTS)]
    assert "bitsandbytes" in DEFERRED_IMPORTS and "scipy.stats" in DEFERRED_IMPORTS
