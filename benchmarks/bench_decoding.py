"""How far decoding in frame windows (and in bfloat16) is from decoding the whole clip at once.

Latents: the bundled model's VAE encodings of held-out synthetic clips (seed 7, ``--frames`` frames; the
model was trained on 8, the released one samples 12-14) and, with ``--sampled N``, the latents of N real
samples of the pipeline (1 context view, the model's default steps). Every ``CHUNK:OVERLAP`` setting decodes
each clip in windows (``genxd.pipelines.decoding``) and is compared, frame by frame, with the whole-clip
decode: mean PSNR over clips and the worst frame. ``bf16`` rows decode the whole clip with the VAE in
bfloat16.

    python benchmarks/bench_decoding.py --clips 16 --frames 8 12 --sampled 4 \
        --out benchmarks/results/bench_decoding_cpu.json
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, resolve_out, save_json  # noqa: E402

SETTINGS = ["1:0", "2:0", "2:1", "3:1", "3:2", "4:0", "4:1", "4:2", "4:3", "6:2", "6:3", "bf16"]


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = (a - b).square().mean().item()
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="checkpoint folder (default: bundled)")
    ap.add_argument("--clips", type=int, default=16, help="encoded held-out clips per frame count")
    ap.add_argument("--frames", type=int, nargs="+", default=[8, 12])
    ap.add_argument("--sampled", type=int, default=0, help="also this many sampled clips (model's frame count)")
    ap.add_argument("--settings", nargs="+", default=SETTINGS, help="CHUNK:OVERLAP or bf16")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None, help=out_help("bench_decoding"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from genxd.api import load_model
    from genxd.data.datasets import SyntheticDataset
    from genxd.pipelines.decoding import decode_in_windows, frame_windows

    lm = load_model(args.model, "cpu", "fp32", fast=False)
    pipe = lm.pipe
    pipe.set_progress_bar_config(disable=True)
    res = int(lm.defaults["resolution"])
    sets: dict[str, list[torch.Tensor]] = {}
    for f in args.frames:
        data = SyntheticDataset(length=args.clips, num_frames=f, height=res, kinds=["3d"], seed=7, motion_source="world")
        sets[f"encoded_{f}"] = [pipe.encode_images(data[i]["frames"][None])[0] for i in range(args.clips)]
    if args.sampled:
        f = int(lm.defaults["num_frames"])
        data = SyntheticDataset(length=args.sampled, num_frames=f, height=res, kinds=["3d"], seed=7, motion_source="world")
        lat = []
        for i in range(args.sampled):
            s = data[i]
            lat.append(pipe(s["frames"][[0]][None], s["c2w"][None], s["K"][None], context_index=[[0]], mode="3d",
                            num_inference_steps=int(lm.defaults["num_inference_steps"]),
                            guidance_scale=float(lm.defaults["guidance_scale"]), generator=torch.Generator().manual_seed(i),
                            output_type="latent").latents[0])
        sets[f"sampled_{f}"] = lat

    vae = pipe.vae
    scale = vae.config.scaling_factor

    def decoder(dtype):
        def run(z, n):
            return vae.decode((z / scale).to(dtype), num_frames=n).sample.float()
        return run

    result = {"benchmark": "windowed / bf16 VAE decoding vs whole-clip decoding", "model": args.model or "bundled:genxd-small",
              "resolution": res, "cpu": platform.processor() or platform.machine(), "threads": args.threads, "sets": {}}
    for name, clips in sets.items():
        with torch.no_grad():
            whole = [(decoder(torch.float32)(z, z.shape[0]) / 2 + 0.5).clamp(0, 1) for z in clips]
        rows = {}
        for setting in args.settings:
            t0 = time.perf_counter()
            per_clip, worst = [], float("inf")
            for z, ref in zip(clips, whole):
                f = z.shape[0]
                if setting == "bf16":
                    vae.to(torch.bfloat16)
                    with torch.no_grad():
                        out = decoder(torch.bfloat16)(z, f)
                    vae.to(torch.float32)
                    windows = 1
                else:
                    chunk, overlap = (int(x) for x in setting.split(":"))
                    if chunk >= f:
                        continue
                    out = decode_in_windows(decoder(torch.float32), z, chunk, overlap)
                    windows = len(frame_windows(f, chunk, overlap))
                out = (out / 2 + 0.5).clamp(0, 1)
                per_clip.append(psnr(out, ref))
                worst = min(worst, min(psnr(out[i], ref[i]) for i in range(f)))
            if per_clip:
                rows[setting] = {"psnr_mean": statistics.mean(per_clip), "psnr_min_clip": min(per_clip),
                                 "psnr_worst_frame": worst, "windows": windows, "seconds": time.perf_counter() - t0}
                print(f"{name:<12} {setting:>5}: mean {rows[setting]['psnr_mean']:6.2f} dB, worst clip "
                      f"{rows[setting]['psnr_min_clip']:6.2f}, worst frame {worst:6.2f}, {windows} windows", flush=True)
        result["sets"][name] = {"clips": len(clips), "frames": clips[0].shape[0], "settings": rows}
    save_json(resolve_out(args.out, "bench_decoding"), result, indent=2)
    return result


if __name__ == "__main__":
    main()
