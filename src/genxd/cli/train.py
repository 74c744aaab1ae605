"""``genxd train`` and ``genxd train-vae``: train GenXD (or its small VAE) from a YAML preset.

Multi-GPU: ``accelerate launch --num_processes 8 -m genxd.training train CONFIG`` (DDP; pass an
accelerate config with FSDP for sharding). See ``docs/training.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .common import DEFERRED_IMPORTS, import_libraries, run_cli
from .options import flag

_CONFIG_HELP = ("A YAML config file, or the name of a preset genxd ships (tiny, small_genxd, ...: a wrong name "
                "lists them); a file that exists wins over a preset of its name.")
_OVERRIDES_HELP = "Overrides section.key=value (values in YAML), e.g. training.max_steps=2000 data.height=128."


def _run(kind: str, config: Path, overrides: list[str], resume: Optional[str], overwrite: bool, cpu: bool,
         print_config: bool) -> None:
    import yaml

    from genxd.training.config import config_to_dict, load_config
    from genxd.training.presets import resolve_config

    config = resolve_config(config, kind)  # a path that exists, else a shipped preset's name (tiny)
    cfg = load_config(config, overrides, kind=kind)
    if print_config:
        typer.echo(yaml.safe_dump(config_to_dict(cfg), sort_keys=False), nl=False)
        return
    # before the trainer's imports (seconds): the same errors, at once
    from genxd.training.checkpoint_files import (existing_run_error, foreign_config_error, output_dir_error,
                                                 pretrained_error, resume_error)
    from genxd.training.optional_packages import optional_package_error
    from genxd.training.run_lock import in_use_error

    # another run in the folder first: its checkpoints would read as an earlier run's ('pass --resume latest')
    error = output_dir_error(cfg.output_dir) or resume_error(resume, overwrite, kind) or in_use_error(cfg.output_dir)
    if error is None and resume is None and not overwrite:
        error = existing_run_error(cfg.output_dir) or foreign_config_error(cfg.output_dir, config)
    error = error or pretrained_error(cfg) or optional_package_error(cfg)
    if error is not None:
        raise error
    if kind == "genxd":
        import_libraries("genxd.training.trainer", defer=DEFERRED_IMPORTS)
        from genxd.training.trainer import train_genxd

        train_genxd(cfg, resume=resume, overwrite=overwrite, cpu=cpu, config_path=config)
    else:
        from genxd.training.vae_trainer import train_vae

        train_vae(cfg, resume=resume, overwrite=overwrite, cpu=cpu, config_path=config)


def register(app: typer.Typer) -> None:
    resume_help = "Continue from a checkpoint: 'latest' (newest in OUTPUT_DIR/checkpoints, or start fresh) or a checkpoint folder."

    @app.command("train", short_help="Train GenXD's UNet on mixed 3D / 4D data.")
    def train(
        config: Path = typer.Argument(..., help=_CONFIG_HELP),
        overrides: Optional[List[str]] = typer.Argument(None, help=_OVERRIDES_HELP),
        resume: Optional[str] = typer.Option(None, "--resume", help=resume_help),
        overwrite: bool = flag("--overwrite", help="Delete what earlier runs wrote in output_dir (checkpoints, TensorBoard logs, validation videos, metrics.jsonl; other files stay) and start over."),
        cpu: bool = flag("--cpu", help="Train on the CPU even if a GPU is present."),
        print_config: bool = flag("--print-config", help="Print the resolved config and exit."),
    ) -> None:
        """Train GenXD (diffusion UNet) on mixed 3D/4D data; checkpoints load with genxd generate --model."""
        run_cli(lambda: _run("genxd", config, list(overrides or []), resume, overwrite, cpu, print_config))

    @app.command("train-vae", short_help="Train a small temporal-decoder VAE.")
    def train_vae(
        config: Path = typer.Argument(..., help=_CONFIG_HELP.replace("tiny, small_genxd", "tiny_vae, small_vae")),
        overrides: Optional[List[str]] = typer.Argument(None, help=_OVERRIDES_HELP),
        resume: Optional[str] = typer.Option(None, "--resume", help=resume_help),
        overwrite: bool = flag("--overwrite", help="Delete what earlier runs wrote in output_dir (checkpoints, TensorBoard logs, validation videos, metrics.jsonl; other files stay) and start over."),
        cpu: bool = flag("--cpu", help="Train on the CPU even if a GPU is present."),
        print_config: bool = flag("--print-config", help="Print the resolved config and exit."),
    ) -> None:
        """Train a small temporal-decoder VAE (AutoencoderKLTemporalDecoder) on clips; saves vae/ folders."""
        run_cli(lambda: _run("vae", config, list(overrides or []), resume, overwrite, cpu, print_config))
