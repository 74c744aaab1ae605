"""``genxd info``: the installation, for bug reports: versions, the optional extras, the machine, the bundled model."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path

import typer

from ..utils.machine import cpu_name, usable_cpus
from .common import one_line

#: Distributions reported, and the extra (docs/extras.md) that installs each optional one.
CORE = ("torch", "diffusers", "accelerate", "safetensors", "numpy", "opencv-python-headless", "imageio", "av",
        "pycolmap")
OPTIONAL = {"ray": "ray", "gsplat": "gsplat", "gradio": "demo", "transformers": "models", "bitsandbytes": "train",
            "tensorboard": "tensorboard", "scikit-image": "train-data", "scikit-learn": "train-data",
            "playwright": "demo-test", "pytest-xdist": "dev"}


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def import_failure(exc: BaseException, module: str) -> str:
    """Why ``module`` could not be imported, one line: a required package missing, with the pip command that puts
    it back (:func:`genxd.utils.requirements.missing_requirement_message`); else ``module cannot be imported
    (OSError: ...)``."""
    from ..utils.requirements import missing_requirement_message

    if isinstance(exc, ModuleNotFoundError) and (message := missing_requirement_message(exc)) is not None:
        return one_line(message)
    return one_line(f"{module} cannot be imported ({type(exc).__name__}: {exc})")


def bundled_model_lines(checked: bool = True) -> list[str]:
    """The bundled model's folder, size and generation defaults (read from its files; nothing is loaded).
    ``checked`` False: the folder and size only (they need no torch). An ImportError (a required package missing
    or broken: numpy, safetensors) is raised, not said to be the model's."""
    if checked:
        from ..checkpoints import BUNDLED_MODEL_DIR, GENERATION_CONFIG, model_info  # torch
    else:
        from ..checkpoint_folders import BUNDLED_MODEL_DIR  # the same folder, free of torch

    folder = BUNDLED_MODEL_DIR
    if not os.path.lexists(folder / "unet"):  # a unet that is a file or a link to nothing: damaged, said below
        return ["bundled model: not installed (generate needs --model DIR)"]
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    lines = [f"bundled model: {folder} ({size / 1e6:.1f} MB)"]
    if not checked:
        return lines
    try:
        info = model_info(None)
        g = info.defaults
        lines.append(f"  defaults: {g['resolution']}x{g['resolution']}, {g['num_frames']} frames, "
                     f"{g['num_inference_steps']} steps, guidance {g['guidance_scale']}, scene depth "
                     f"{'not given' if (depth := g.get('scene_depth')) is None else depth} "
                     f"(camera presets x {info.preset_scale:g})")
    except (OSError, ValueError, KeyError) as exc:  # the message names the file (a model config, or the settings)
        lines.append(f"  config unreadable: {exc}")
    missing = _missing_model_files(folder)
    if missing:
        lines.append(f"  incomplete: {missing}; generate without --model fails (reinstall genxd)")
    elif (damaged := _damaged_model_file(folder)) and not any(line.endswith(f": {damaged}") for line in lines):
        lines.append(f"  damaged: {damaged}; generate without --model fails (reinstall genxd)")
    if not os.path.lexists(folder / GENERATION_CONFIG):  # shipped with it; without, the released model's defaults
        lines.append(f"  incomplete: {folder / GENERATION_CONFIG}: no such file; generate without --model takes the "
                     "released model's defaults above, not this model's (reinstall genxd)")
    return lines


def _missing_model_files(folder: Path) -> str | None:
    """What the model folder lacks of its components' config and weights files (their names only: nothing is read,
    :func:`genxd.checkpoints.check_model_folder` takes seconds), None when all are there."""
    from ..checkpoints import COMPONENT_FILES, component_weights

    for component, (config_name, weights_name) in COMPONENT_FILES.items():
        if not (folder / component / config_name).is_file():
            return f"{folder / component / config_name}: no such file"
        if weights_name is not None:
            try:
                component_weights(folder / component, allow_pickle=True)
            except FileNotFoundError as exc:
                return str(exc)
    return None


#: the class genxd reads each component as (genxd.checkpoints.check_model_folder), by name: importing them takes
#: seconds (diffusers), and a config naming another is told by its name
_COMPONENT_CLASSES = {"unet": "UNetMVTemporalConditionModel", "vae": "AutoencoderKLTemporalDecoder",
                      "scheduler": "EulerDiscreteScheduler"}


def _damaged_model_file(folder: Path) -> str | None:
    """Why a component's config or weights file of the complete model folder cannot be used: a config that is no
    JSON object or of another class (:func:`genxd.config_keys.check_config_class`: diffusers is imported only then),
    safetensors weights whose header cannot be read (cut short: the header alone is read, in milliseconds); None when
    none."""
    from ..checkpoints import COMPONENT_FILES, component_weights
    from ..component_fit import read_config
    from ..config_keys import check_config_class
    from ..config_weights import weight_shapes

    for component, (config_name, weights_name) in COMPONENT_FILES.items():
        try:
            config = read_config(folder / component / config_name)
            # a stand-in of the class by its name (a scheduler: what has set_timesteps), as check_config_class tells
            named = type(_COMPONENT_CLASSES[component], (), {"set_timesteps": None} if weights_name is None else {})
            check_config_class(folder / component / config_name, config, named)
            if weights_name is not None and (weights := component_weights(folder / component, allow_pickle=True)
                                             ).name.endswith(".safetensors"):  # a pickle file: read only by loading
                weight_shapes(weights)
        except (OSError, ValueError) as exc:  # the message names the file
            return str(exc)
    return None


def _torch_lines(cpu: str) -> list[str]:
    """The ``cpu`` line with torch's threads and vector unit, torch's version and the GPUs it sees (imports torch:
    its ImportError, or OSError from a library that does not load, is raised)."""
    import torch

    threads = torch.get_num_threads()
    lines = [f"{cpu}, torch uses {threads} thread{'' if threads == 1 else 's'}, vector unit "
             f"{torch.backends.cpu.get_cpu_capability()}", f"torch {torch.__version__}: CUDA available: "
             f"{torch.cuda.is_available()}"]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            lines.append(f"cuda:{i} {p.name} ({p.total_memory / 2**30:.1f} GiB)")
    return lines


def register(app: typer.Typer) -> None:
    @app.command("info", short_help="The installation: versions, extras, devices, the bundled model.")
    def info() -> None:
        """Print genxd's version and place, Python, the main and optional dependencies (with the extra that
        installs each missing one), the CPU and GPUs torch sees, and the bundled model: paste it into bug reports."""
        import genxd

        typer.echo(f"genxd {genxd.__version__} ({Path(genxd.__file__).parent})")
        typer.echo(f"python {platform.python_version()} ({sys.executable}); {platform.system()} {platform.machine()}")
        typer.echo("dependencies: " + ", ".join(f"{d} {_version(d) or 'missing'}" for d in CORE))
        typer.echo("optional: " + ", ".join(f"{d} {v}" if (v := _version(d)) else f"{d} - ([{extra}])"
                                            for d, extra in OPTIONAL.items()))
        failures = []  # a broken installation is what info is run for: each said, then exit 1, no traceback
        cores, usable = os.cpu_count() or 1, usable_cpus()
        limited = f" ({usable} usable by this process)" if usable < cores else ""
        cpu = f"cpu: {cpu_name()}; {cores} logical core{'' if cores == 1 else 's'}{limited}"
        try:
            lines = _torch_lines(cpu)  # after the lines above, which need no torch
        except Exception as exc:  # noqa: BLE001 - a library that will not load (OSError), a missing part ...
            failures.append(import_failure(exc, "torch"))
            lines = [cpu, f"torch: {one_line(f'cannot be imported ({type(exc).__name__}: {exc})')}"]
        for line in lines:
            typer.echo(line)
        torch_loads = not failures
        try:
            lines = bundled_model_lines(checked=torch_loads)
        except ImportError as exc:  # numpy, safetensors ... missing: not the model's fault
            why = import_failure(exc, exc.name or "a module")
            failures.append(f"the bundled model cannot be checked: {why}")
            lines = [*bundled_model_lines(checked=False), f"  not checked: {why}"]
        if not torch_loads and "not installed" not in lines[0]:
            lines.append("  not checked: torch cannot be imported")
        for line in lines:
            typer.echo(line)
        for failure in failures:
            typer.echo(f"genxd: error: {failure}", err=True)
        if failures:
            raise typer.Exit(code=1)
