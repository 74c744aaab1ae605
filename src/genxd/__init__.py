"""genxd: generating any 3D and 4D scenes (GenXD, Zhao et al., ICLR 2025)."""

__version__ = "0.1.0"


def generate(*args, **kwargs):
    """Generate scenes from images; see :func:`genxd.api.generate`."""
    from .api import generate as _generate

    return _generate(*args, **kwargs)


def fewshot(*args, **kwargs):
    """Few-shot generation on ReconFusion-format scenes; see :func:`genxd.api.fewshot`."""
    from .api import fewshot as _fewshot

    return _fewshot(*args, **kwargs)
