"""Two CPU choices of genxd measured call by call, old and new alternating in one process (issue 26).

On a shared 2-core machine the time of the same UNet call moves by 30 % between runs, so a whole-command
before/after cannot see a 5 % change. This script loads the bundled model once as ``genxd generate`` does on a
CPU (``load_model(None, "cpu")``), records the inputs of one guided UNet call of the README command, and then
alternates, ``--reps`` times each:

- ``geglu``: the UNet's feed-forwards as diffusers' ``GEGLU`` (chunked halves) against genxd's
  ``SplitGEGLU`` (dense halves; the default), same weights;
- ``vae``: decoding the 8 frames with the VAE's convolution weights contiguous against channels-last (the
  default since the ninth session).

Reported per variant: median seconds, the paired ratio new / old (median and quartiles; each pair ran back to
back) and the largest output difference.

    python benchmarks/bench_cpu_variants.py --threads 2 --reps 40 --out bench_cpu_variants.json
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, resolve_out, save_json  # noqa: E402


def _record_unet_inputs(pipe, api, defaults) -> tuple[tuple, dict]:
    from genxd.utils.images import load_image

    captured: dict = {}
    forward = pipe.unet.forward

    def spy(*args, **kwargs):
        captured["args"], captured["kwargs"] = args, kwargs
        return forward(*args, **kwargs)

    pipe.unet.forward = spy
    try:
        res, n = int(defaults["resolution"]), int(defaults["num_frames"])
        c2w, K = api.camera_trajectory("orbit", n, defaults.get("focal"), scale=api.model_info(None).preset_scale)
        img = load_image(str(ROOT / "examples" / "scene_a.png"), res, res)
        pipe(img[None, None], c2w, K, context_index=[0], mode="3d", num_inference_steps=1,
             guidance_scale=float(defaults["guidance_scale"]), generator=torch.Generator().manual_seed(0))
    finally:
        pipe.unet.forward = forward
    return captured["args"], captured["kwargs"]


def alternate(name: str, old, new, reps: int) -> dict:
    """Run ``old()`` and ``new()`` back to back ``reps`` times (after one warm-up each); their outputs'
    largest difference and the timings."""
    out_old, out_new = old(), new()
    times: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(reps):
        for key, fn in (("old", old), ("new", new)):
            t = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - t)
    ratio = np.array(times["new"]) / np.array(times["old"])
    return {"variant": name, "reps": reps,
            "old_median_s": statistics.median(times["old"]), "new_median_s": statistics.median(times["new"]),
            "paired_ratio_median": float(np.median(ratio)),
            "paired_ratio_quartiles": [float(q) for q in np.percentile(ratio, [25, 75])],
            "new_faster_in": int((ratio < 1).sum()),
            "max_abs_difference": float((out_old - out_new).abs().max()),
            "old_s": times["old"], "new_s": times["new"]}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--variants", nargs="+", default=["geglu", "vae"], choices=["geglu", "vae"])
    ap.add_argument("--out", default=None, help=out_help("bench_cpu_variants"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from diffusers.models.activations import GEGLU

    import genxd.api as api
    from genxd.models.activations import SplitGEGLU
    from genxd.pipelines.fast import to_channels_last

    lm = api.load_model(None, "cpu")
    pipe = lm.pipe
    pipe.set_progress_bar_config(disable=True)
    results = []
    with torch.no_grad():
        if "geglu" in args.variants:
            u_args, u_kwargs = _record_unet_inputs(pipe, api, lm.defaults)
            gegs = [m for m in pipe.unet.modules() if isinstance(m, GEGLU)]

            def unet_with(cls):
                def run():
                    for m in gegs:
                        m.__class__ = cls
                    return pipe.unet(*u_args, **u_kwargs)[0]
                return run

            results.append(alternate("geglu: diffusers GEGLU -> SplitGEGLU (one guided UNet call)",
                                     unet_with(GEGLU), unet_with(SplitGEGLU), args.reps))
            for m in gegs:
                m.__class__ = SplitGEGLU
        if "vae" in args.variants:
            n = int(lm.defaults["num_frames"])
            size = int(lm.defaults["resolution"]) // pipe.vae_scale_factor
            latents = torch.randn(1, n, 4, size, size, generator=torch.Generator().manual_seed(0))
            convs = [m for m in pipe.vae.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv3d))]
            to_channels_last(pipe.vae)  # already so after load_model; made sure
            channels_last = [m.weight.data for m in convs]
            contiguous = [w.contiguous() for w in channels_last]

            def vae_with(weights):
                def run():
                    for m, w in zip(convs, weights):
                        m.weight.data = w
                    return pipe.decode_latents(latents, n)
                return run

            results.append(alternate(f"vae: contiguous -> channels-last convolutions (decoding {n} frames)",
                                     vae_with(contiguous), vae_with(channels_last), max(1, args.reps // 2)))
    summary = {"benchmark": "genxd CPU variants, old and new alternating in one process",
               "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
               "threads": args.threads, "torch": torch.__version__, "results": results}
    for r in results:
        q = r["paired_ratio_quartiles"]
        print(f"{r['variant']}: {r['old_median_s'] * 1000:.1f} -> {r['new_median_s'] * 1000:.1f} ms (medians); "
              f"paired new/old {r['paired_ratio_median']:.3f} ({q[0]:.3f}-{q[1]:.3f}), new faster in "
              f"{r['new_faster_in']} of {r['reps']}; max |diff| {r['max_abs_difference']:.2e}")
    save_json(resolve_out(args.out, "bench_cpu_variants"), summary, indent=4)
    return summary


if __name__ == "__main__":
    main()
