"""Spherical-harmonics colours (``genxd.reconstruction.sh``, ``GaussianModel.colors``) against the DC constant by hand."""

from __future__ import annotations

import math

import torch

from genxd.reconstruction.gaussians import GaussianModel
from genxd.reconstruction.sh import eval_sh, rgb_to_sh, sh_to_rgb

C0 = 1 / (2 * math.sqrt(math.pi))  # Y_00 = 0.28209479...: the 3DGS convention colour = 0.5 + C0 * dc


def test_dc_coefficient_is_the_colour_offset_over_y00():
    """A DC coefficient of 1 is the colour 0.5 + Y_00 (the 3DGS / .ply convention the viewers read), from the
    conversions and from the degree-0 colours of a Gaussian model. Found by mutation testing: rgb_to_sh
    multiplying by Y_00 instead of dividing, or the model's degree-0 colours dropping Y_00, passed
    test_recon_rasterizer, test_recon_ply and test_recon_viewer_files (round trips and renders that only used
    the conversions' own inverse)."""
    torch.testing.assert_close(sh_to_rgb(torch.tensor([1.0, -1.0])), torch.tensor([0.5 + C0, 0.5 - C0]))
    torch.testing.assert_close(rgb_to_sh(torch.tensor([0.5 + C0, 0.5])), torch.tensor([1.0, 0.0]))
    coeffs = torch.tensor([[[1.0, 0.5, -1.0]]])  # one DC coefficient per channel
    torch.testing.assert_close(eval_sh(0, coeffs, torch.tensor([[0.0, 0.0, 1.0]])),
                               torch.tensor([[0.5 + C0, 0.5 + C0 / 2, 0.5 - C0]]))
    colours = torch.tensor([[0.2, 0.5, 0.9], [1.0, 0.0, 0.7]])
    model = GaussianModel.from_points(torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]), colours, sh_degree=0)
    torch.testing.assert_close(model.params["sh0"][:, 0].detach(), (colours - 0.5) / C0)
    torch.testing.assert_close(model.colors(torch.zeros(1, 3), model.means_at(None)).detach(), colours)
