"""``genxd info``: versions and devices (useful in bug reports)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("info", short_help="Versions of genxd and its dependencies; the devices seen.")
    def info() -> None:
        """Print the versions of genxd and its main dependencies, and the available devices."""
        import diffusers
        import torch

        import genxd

        typer.echo(f"genxd {genxd.__version__}")
        typer.echo(f"torch {torch.__version__} (CUDA available: {torch.cuda.is_available()})")
        typer.echo(f"diffusers {diffusers.__version__}")
        if torch.cuda.is_available():
            for i in range(torch.cuda.device_count()):
                typer.echo(f"cuda:{i} {torch.cuda.get_device_name(i)}")
