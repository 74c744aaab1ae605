"""The attentions of one guided UNet call on each SDPA backend PyTorch has, side by side (issue 26).

The fast path calls ``F.scaled_dot_product_attention`` on q, k, v made as its self-attention processor makes them
(``genxd.pipelines.fused_temporal.SelfAttentionProcessor``: one fused q/k/v projection ``[B, N, 3 * h * d]``,
chunked, each ``view(B, N, h, d).transpose(1, 2)``, so strided, not contiguous) and lets PyTorch pick the backend.
This times every backend on the attention shapes of one guided call of the released configuration (batch 2 x
``--frames``, latents ``res / 8``; per transformer a spatial attention over each frame's tokens and a multiview
attention over all frames' tokens of a sample; 5 transformers on each of the first three levels, one in the middle
block at the fourth), bfloat16, and reports each shape's median and the call's total per backend (weighted by how
often the shape occurs), with the largest difference from the math backend's output in float32. The 4D call's
attentions over frames run in a Triton kernel of the fast path and are not timed here. CUDA only.

    python benchmarks/bench_attention_backends.py --resolution 256 --out bench_attention_backends_256.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_output import out_help, positive_int, resolve_out, save_json  # noqa: E402

HEAD_DIM = 64
LEVELS = ((320, 1, 5), (640, 2, 5), (1280, 4, 5), (1280, 8, 1))  # channels, latent downscale, transformers


def attention_shapes(resolution: int, frames: int) -> list[dict]:
    """``[{"name", "batch", "heads", "tokens", "count"}]``: the self-attentions of one guided call (batch 2)."""
    side = resolution // 8
    shapes = []
    for channels, down, count in LEVELS:
        tokens = (side // down) ** 2
        heads = channels // HEAD_DIM
        shapes.append({"name": f"spatial_{channels}_{tokens}", "batch": 2 * frames, "heads": heads,
                       "tokens": tokens, "count": count})
        shapes.append({"name": f"multiview_{channels}_{frames * tokens}", "batch": 2, "heads": heads,
                       "tokens": frames * tokens, "count": count})
    return shapes


def processor_qkv(batch: int, heads: int, tokens: int, dtype, generator):
    """q, k, v as the fast path's processor makes them: views of one ``[B, N, 3 * h * d]`` projection."""
    import torch

    qkv = torch.randn(batch, tokens, 3 * heads * HEAD_DIM, device="cuda", dtype=dtype, generator=generator)
    return [t.view(batch, tokens, heads, HEAD_DIM).transpose(1, 2) for t in qkv.chunk(3, dim=-1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--resolution", type=positive_int, default=256)
    ap.add_argument("--frames", type=positive_int, default=12)
    ap.add_argument("--reps", type=positive_int, default=7)
    ap.add_argument("--inner", type=positive_int, default=10)
    ap.add_argument("--out", default=None, help=out_help("bench_attention_backends"))
    args = ap.parse_args()
    import torch
    import torch.nn.functional as F
    from sampling_profile.common import time_op
    from torch.nn.attention import SDPBackend, sdpa_kernel

    if not torch.cuda.is_available():
        raise SystemExit("bench_attention_backends needs a CUDA GPU")
    out = resolve_out(args.out, "bench_attention_backends")
    backends = {"default": None, "cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION,
                "efficient": SDPBackend.EFFICIENT_ATTENTION}
    result = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "resolution": args.resolution,
              "frames": args.frames, "shapes": [], "call_total_ms": {}}
    generator = torch.Generator("cuda").manual_seed(0)
    for shape in attention_shapes(args.resolution, args.frames):
        q, k, v = processor_qkv(shape["batch"], shape["heads"], shape["tokens"], torch.bfloat16, generator)
        reference = None
        if shape["tokens"] <= 4096:  # the math backend's [B, h, N, N] scores fit easily only for short sequences
            with sdpa_kernel(SDPBackend.MATH):
                reference = F.scaled_dot_product_attention(q.float(), k.float(), v.float())
        row = dict(shape)
        for name, backend in backends.items():
            try:
                if backend is None:
                    call = lambda: F.scaled_dot_product_attention(q, k, v)  # noqa: E731
                    ms = time_op(call, torch.device("cuda"), args.reps, args.inner)
                    output = call()
                else:
                    with sdpa_kernel(backend):
                        call = lambda: F.scaled_dot_product_attention(q, k, v)  # noqa: E731
                        ms = time_op(call, torch.device("cuda"), args.reps, args.inner)
                        output = call()
                row[f"{name}_ms"] = ms
                if reference is not None:
                    row[f"{name}_max_abs_diff"] = (output.float() - reference).abs().max().item()
                flops = 4 * shape["batch"] * shape["heads"] * shape["tokens"] ** 2 * HEAD_DIM
                row[f"{name}_tflops"] = flops / ms / 1e9
            except RuntimeError as error:  # a backend that refuses the shape or layout
                row[f"{name}_error"] = str(error).splitlines()[0][:200]
        result["shapes"].append(row)
        print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    for name in backends:
        if all(f"{name}_ms" in row for row in result["shapes"]):
            result["call_total_ms"][name] = sum(row[f"{name}_ms"] * row["count"] for row in result["shapes"])
    print("call total (ms):", {k: round(v, 3) for k, v in result["call_total_ms"].items()})
    save_json(out, result, indent=2)


if __name__ == "__main__":
    main()
