"""The value rules of ``genxd reconstruct`` and ``genxd eval``, shared by their command lines and their Python
functions (:func:`genxd.reconstruction.reconstruct_scene`, :class:`~genxd.reconstruction.trainer.ReconstructionConfig`,
:func:`genxd.evaluation.evaluate`), so that both check the same ranges. Torch-free: the command line reads them
before it imports the model code. (The generation rules live in :mod:`genxd.validation`.)"""

from __future__ import annotations

from .validation import Int

#: reconstruction
RECON_ITERATIONS = Int(1, 10_000_000)
RECON_RESOLUTION = Int(0, 16384, optional=True, why="0 keeps the input's size")
HOLDOUT_EVERY = Int(0, 1_000_000, why="0 trains on all views")
SH_DEGREE = Int(0, 3)
INIT_POINTS = Int(1, 100_000_000)
VIDEO_FRAMES = Int(0, 100_000, why="0 writes no video")
VIDEO_FPS = Int(1, 1000)
#: evaluation
EVAL_SCENES = Int(1, 100_000)
FEWSHOT_ITERATIONS = Int(1, 10_000_000)
# the synthetic few-shot protocol (genxd.evaluation_fewshot): 3 context views and at least one test view; each
# group is one batch element of the model's call; each real view repeated at most this often among generated ones
FEWSHOT_VIEWS = Int(4, 10_000)
FEWSHOT_GROUPS = Int(1, 64)
FEWSHOT_REAL_REPEAT = Int(1, 1000)
