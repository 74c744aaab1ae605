"""``python -m genxd`` runs the ``genxd`` command line."""

from .cli import main

main()
