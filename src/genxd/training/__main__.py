"""``python -m genxd.training train CONFIG.yaml ...``: the ``genxd`` command line, for ``accelerate launch -m``; started
as ``genxd`` is (:func:`genxd.cli.main`): SIGTERM held until the step ends and saved as Ctrl-C is. It called the typer
app alone, without the command's start: a job scheduler's SIGTERM (``scancel``, a time limit) killed each process of
``accelerate launch -m genxd.training`` at once, the steps since the last checkpoint lost, without a line."""

from genxd.cli import main

if __name__ == "__main__":
    main(prog_name="genxd")
