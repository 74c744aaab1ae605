"""``genxd demo``: the local web app (needs the ``demo`` extra: ``pip install "genxd[demo]"``)."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import shutil
import signal
from typing import List, Optional

import typer

from .. import validation as v
from ..utils.extras import install_extra
from .common import DEFERRED_IMPORTS, import_libraries, run_cli
from .options import AllowPickle, Dtype, Model, checked, device_help

#: ``--device`` of the demo (a list of them).
_DEVICES = v.Device(allow=("cpu", "cuda"))

# Checked without importing gradio (slow): a missing extra disables this command only (genxd.cli).
if importlib.util.find_spec("gradio") is None:
    raise ImportError(f"genxd demo needs gradio: {install_extra('demo')}", name="gradio")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def page_address(host: str, port: int) -> str:
    """The address ``genxd demo`` prints for ``--host host --port port``: this machine's own for a wildcard
    (``0.0.0.0``, ``::``), an IPv6 address in brackets (``http://[::1]:7860``; it was ``http://::1:7860``)."""
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1"}
    host = wildcard.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def check_port(host: str, port: int) -> None:
    """Raise a one-line error when ``host:port`` cannot be served (in use, not allowed, no such address), before
    the model loads (Gradio's own failure comes after it, as a traceback)."""
    import errno
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise v.InvalidValue(f"--host {host}: not an address of this machine ({exc.strerror})") from None
    with socket.socket(family, kind, proto) as probe:
        if os.name != "nt":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no clash
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                why = "is in use (another server?); choose another with --port"
            elif exc.errno == errno.EACCES:
                why = "is not allowed for this user (ports below 1024 need privileges); choose another with --port"
            elif exc.errno == errno.EADDRNOTAVAIL:
                why = "cannot be served: the address is not one of this machine's (--host)"
            else:
                why = f"cannot be served ({exc.strerror or exc})"
            raise v.InvalidValue(f"{host}:{port} {why}") from None


def check_devices(devices: Optional[List[str]]) -> None:
    """Each ``--device`` once: two jobs on one device would share its pipeline (``cuda`` is ``cuda:0``)."""
    if devices and len(devices) > 1:
        from ..demo.jobs import duplicate_devices

        if dup := duplicate_devices(devices):
            raise v.InvalidValue(f"--device {dup[0]} names a device given before; one job runs at a time per device, "
                                 "so give each device once")


def register(app: typer.Typer) -> None:
    @app.command("demo", short_help="Serve the web app (127.0.0.1 by default).")
    def demo_cmd(
        model: Model = None,
        host: str = typer.Option("127.0.0.1", "--host", help="Address to serve on. The default serves this machine only; 0.0.0.0 serves your network (anyone who reaches it can use your GPU)."),
        port: int = typer.Option(7860, "--port", callback=checked(v.Int(1, 65535)), help="Port to serve on."),
        device: Optional[List[str]] = typer.Option(None, "--device", callback=checked(_DEVICES), help=device_help(_DEVICES, "Device(s) to generate on") + " Repeat it for several, e.g. --device cuda:0 --device cuda:1 (default: every GPU, else the CPU). One job runs at a time per device."),
        dtype: Dtype = None,
        max_upload_mb: float = typer.Option(20.0, "--max-upload-mb", callback=checked(v.Float(0.0, 100_000.0, lo_open=True)), help="Largest upload accepted, in MiB (2^20 bytes)."),
        max_images: int = typer.Option(4, "--max-images", callback=checked(v.Int(1, 1000)), help="Most input images per generation."),
        max_frames: int = typer.Option(48, "--max-frames", callback=checked(v.Int(2, 10_000)), help="Most frames one generation makes, from any camera path (the Frames slider's maximum; a longer camera file is refused)."),
        lift_iterations: Optional[int] = typer.Option(None, "--lift-iterations", callback=checked(v.Int(1, 10_000_000, optional=True)), help="Default optimisation steps of 'Lift to 3D' (default: 300 on CPU, 2000 on GPU)."),
        lift_points: int = typer.Option(5000, "--lift-points", callback=checked(v.Int(1, 100_000_000)), help="Gaussians 'Lift to 3D' starts from (random initialisation; densification may add more)."),
        allow_pickle: AllowPickle = False,
    ) -> None:
        """Serve the web app: upload images, author the camera path, generate, look at the result in 3D."""

        def job() -> None:
            from .generate import check_model_folder

            check_model_folder(model)  # a typo in --model fails at once, not after seconds of start-up
            check_devices(device)
            check_port(host, port)
            if not _is_loopback(host):
                typer.echo(f"genxd: serving on {host}: anyone who can reach this machine can use the demo", err=True)
            serve(model, host, port, device, dtype, max_upload_mb, max_images, lift_iterations, lift_points, max_frames,
                  allow_pickle=allow_pickle)

        run_cli(job)


def _interrupt(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt


def serve(model: Optional[str], host: str, port: int, device: Optional[List[str]], dtype: Optional[str],
          max_upload_mb: float, max_images: int, lift_iterations: Optional[int], lift_points: int = 5000,
          max_frames: int = 48, allow_pickle: bool = False) -> None:
    """Build and serve the app; every temporary file lives under one folder, removed when the server stops."""
    from ..demo.workdir import make_workdir, remove_stale_workdirs

    root, lock = make_workdir()  # lock: held open while the server runs (marks the folder as in use)
    typer.echo(f"genxd: temporary files in {root} (removed when the server stops)", err=True)
    stale, freed = remove_stale_workdirs(keep=root)
    if stale:
        typer.echo(f"genxd: removed {stale} temporary folder(s) of demo servers that did not stop cleanly "
                   f"({freed / 1e6:.1f} MB)", err=True)
    # SIGTERM stops the server like Ctrl-C, so the folder is removed then too
    signal.signal(signal.SIGTERM, _interrupt)
    # pycolmap (SfM of "from a video" paths, run in a job thread) takes SIGTERM over on its first import; loaded
    # here, in the main thread, genxd puts the handler above back (genxd.utils.pycolmap_import)
    try:
        from ..utils.pycolmap_import import load_pycolmap

        load_pycolmap()
    except ImportError:
        pass
    # Gradio's uploads and served copies go under the same folder (read when Gradio creates components).
    os.environ["GRADIO_TEMP_DIR"] = str(root / "gradio")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        # as generate: scipy.stats and bitsandbytes, which the model code's imports pull in unused, load only if
        # used; the collector paused during the imports (genxd.cli.common.import_libraries)
        import_libraries("genxd.demo.app", defer=DEFERRED_IMPORTS)
        from ..demo.app import DemoConfig, build_app, launch
        from ..demo.jobs import Devices
        from ..demo.session import Limits

        from ..pipelines.cublas_workspace import prefer_no_cublas_workspace

        devices = Devices(model, device, dtype, allow_pickle)
        on_gpu = devices.names[0].startswith("cuda")
        prefer_no_cublas_workspace(devices.names[0])  # as genxd generate: before a model loads
        config = DemoConfig(root=root / "sessions", limits=Limits(max_file_mb=max_upload_mb, max_images=max_images),
                            lift_iterations=lift_iterations or (2000 if on_gpu else 300), lift_init_points=lift_points,
                            max_frames=max_frames)
        typer.echo(f"genxd: loading the model on {', '.join(devices.names)} ...", err=True)
        app = build_app(devices, config)
        check_port(host, port)  # again: the model took a while, and the port may have been taken meanwhile
        address = page_address(host, port)
        launch(app, host, port, config, devices, quiet=True,  # genxd prints the address; no "share=True" hint
               on_ready=lambda: typer.echo(f"genxd: demo at {address} (Ctrl-C stops it)", err=True))
        typer.echo("genxd: demo stopped", err=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if lock is not None:
            lock.close()
