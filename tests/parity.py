"""Tolerances of the parity tests against the reference fixtures (the authors' code on another CPU).

Float32 results differ between CPUs and between the kernels torch and oneDNN pick for one CPU (vector
width, blocking, thread split), so "reproduces the reference" means "within the spread measured across
kernel families", not bit-exact. Every number here comes from ``benchmarks/parity_spread.py``: the
fixture cases run under the default kernels (AVX-512 here), ``ATEN_CPU_CAPABILITY=avx2
ONEDNN_MAX_CPU_ISA=AVX2`` and ``ATEN_CPU_CAPABILITY=default`` (no SIMD), each with 1 and 2 threads, on an
AMD EPYC (Zen 4, AVX-512; ``benchmarks/results/parity_spread_amd_epyc.json``). The fixtures themselves
match the AVX2 kernels with 2 threads bit for bit there (error 0.0), so they were made by that kernel
family. Each tolerance is about 4x the worst error seen (against the fixture or between two families of
the same machine, whichever is larger), and far below what a real mistake does (figures in the comments).
Comparisons that are exact by construction (same machine, same kernels: eager vs a switch, the 3D skip,
a state-dict round trip) stay exact in the tests and do not use these.

The tests that use these carry ``@pytest.mark.parity``; ``tests/test_parity_kernels.py`` re-runs them in
a child process under a second kernel family, so CI checks them both ways on one machine.
"""

from __future__ import annotations

#: UNet output (magnitude up to 2.5) against ``unet.<case>.out``. Worst measured: 1.18e-4 (4d_nomotion,
#: AVX-512, 2 threads) against the fixture, 1.26e-4 between two kernel families, 1.7e-4 for the
#: channels-last + fused q/k/v model against the plain one (4d_nomotion, AVX2). Mistakes: motion ids
#: dropped 8.8e-2, the context-mask channel scaled by 1.001: 3.6e-3.
UNET_ATOL = 4e-4

#: bfloat16 UNet against the same machine's float32 output (case 4d), as fractions of the float32
#: output's mean and max magnitude. Worst measured: mean error 0.051 x mean |out| (no-SIMD kernels;
#: 0.045 AVX2, 0.048 AVX-512), max error 0.069 x max |out|. A path left in float32 or a broken cast
#: changes the dtype check; a wrong computation gives errors of the order of the output itself.
BF16_MEAN_REL = 0.1
BF16_MAX_REL = 0.15

#: Pipeline (full sampling with the reference's steps) against ``pipe.<case>.latents_out`` / ``frames_out``:
#: (latents max abs, frames max abs). Sampling with random weights amplifies round-off, the 4D case most
#: (its final latents move 1.5e-3 when the initial noise moves by one float32 rounding step).
#: Worst measured (latents / frames): single3d 2.9e-4 / 7.0e-5, fewshot3d 7.9e-5 / 3.8e-5,
#: 4d 2.5e-3 / 4.3e-4, video 1.3e-4 / 7.7e-5.
#: Mistakes, on the latents: guidance scale 1% off: 0.13 / 0.026 / 0.44 / 0.0085; every target camera
#: moved by 1e-3 sideways: 0.020 / 0.011 / 0.078 / (video ignores cameras). (A motion strength off by 1
#: in 4D moves the latents only 8.8e-4 with these random weights: below the round-off amplification, so
#: the UNet cases, which see the motion ids directly, are what checks them.)
PIPELINE_ATOL = {
    "single3d": (1.2e-3, 3e-4),
    "fewshot3d": (4e-4, 2e-4),
    "4d": (1e-2, 2e-3),
    "video": (6e-4, 3e-4),
}
