"""genxd: generating any 3D and 4D scenes (GenXD, Zhao et al., ICLR 2025)."""

__version__ = "0.1.0"
