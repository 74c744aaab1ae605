"""``python -m genxd.training train CONFIG.yaml ...``: the ``genxd`` command line, for ``accelerate launch -m``."""

from genxd.cli import app

if __name__ == "__main__":
    app(prog_name="genxd")
