"""Lifting generated views into 3D and 4D Gaussian splats (``genxd reconstruct``, ``genxd eval-recon``).

- :mod:`~genxd.reconstruction.rasterizer`: differentiable EWA Gaussian rasterisation (pure PyTorch
  on any device, gsplat's CUDA kernels on CUDA);
- :mod:`~genxd.reconstruction.gaussians`: static and time-conditioned Gaussian models;
- :mod:`~genxd.reconstruction.trainer`: optimisation (L1 + D-SSIM, densification);
- :mod:`~genxd.reconstruction.ply`: the standard 3DGS .ply layout and ``motion.npz``;
- :mod:`~genxd.reconstruction.pipeline`: the command-line workflows;
- :mod:`~genxd.reconstruction.scene_evaluation`: the held-out metrics of a reconstruction (``genxd eval-recon``);
- :mod:`~genxd.reconstruction.inria_model`: the 3DGS code's model folder (``OUT/3dgs/``: its SIBR viewer, render.py);
- :mod:`~genxd.reconstruction.extra_views`: the folders of ``--extra-views`` (inputs, ``genxd fewshot`` outputs);
- :mod:`~genxd.reconstruction.masks`: DTU's object-masked metrics (``genxd eval-recon --masks``, RegNeRF's protocol).

See ``docs/reconstruction.md``.
"""

from .densify import DensifyStrategy, make_strategy, short_run_schedule
from .gaussians import GaussianModel, MotionBasis
from .init import InitialPoints, initial_points
from .masks import load_view_masks, masked_metrics
from .metrics import load_lpips, load_lpips_module, psnr, ssim
from .pipeline import evaluate_scene, flythrough_path, holdout_split, reconstruct_scene
from .ply import load_motion, load_ply, load_scene, save_motion, save_ply
from .rasterizer import RasterOutput, project_gaussians, rasterize, rasterize_with_info
from .sh import eval_sh, rgb_to_sh, sh_to_rgb
from .trainer import ReconstructionConfig, TrainResult, evaluate_views, render_views, train_gaussians
from .views import Views, load_views

__all__ = [
    "rasterize",
    "rasterize_with_info",
    "project_gaussians",
    "RasterOutput",
    "GaussianModel",
    "MotionBasis",
    "ReconstructionConfig",
    "TrainResult",
    "train_gaussians",
    "render_views",
    "evaluate_views",
    "Views",
    "load_views",
    "InitialPoints",
    "initial_points",
    "DensifyStrategy",
    "make_strategy",
    "short_run_schedule",
    "psnr",
    "ssim",
    "load_lpips",
    "load_lpips_module",
    "load_view_masks",
    "masked_metrics",
    "save_ply",
    "load_ply",
    "save_motion",
    "load_motion",
    "load_scene",
    "eval_sh",
    "rgb_to_sh",
    "sh_to_rgb",
    "reconstruct_scene",
    "evaluate_scene",
    "flythrough_path",
    "holdout_split",
]
