"""How far synthetic renders differ between machines, kernel families and render precisions.

Renders 16-frame 128-px 4D clips (``genxd.data.synthetic.make_clip``, seeds 0, 8, 18 by default) in float32 and in
float64 (``render_dtype``) and saves them in one ``.npz`` (``--save``); ``--compare A.npz B.npz`` then reports,
per clip and precision, the largest difference, the fraction of values that differ and how many 8-bit values differ
(the frames as the tests and benchmarks write them). Run the first on each machine (or under
``ATEN_CPU_CAPABILITY=default`` for no SIMD), copy the files together, compare:

    python benchmarks/render_spread.py --save here.npz
    ATEN_CPU_CAPABILITY=default python benchmarks/render_spread.py --save here_nosimd.npz
    python benchmarks/render_spread.py --compare here.npz there.npz --out benchmarks/results/render_spread_X.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import check_exists, check_out, out_help, resolve_out, save_json  # noqa: E402


def render_all(seeds: list[int], path: Path) -> None:
    import torch

    from genxd.data.synthetic import make_clip
    from genxd.utils.io import atomic_file

    torch.set_num_threads(1)
    arrays = {"capability": np.array(torch.backends.cpu.get_cpu_capability()), "torch": np.array(torch.__version__)}
    for seed in seeds:
        for name, dtype in (("float32", torch.float32), ("float64", torch.float64)):
            arrays[f"{seed}_{name}"] = make_clip(seed, "4d", 16, 128, 128, render_dtype=dtype).images.numpy()
            print(f"seed {seed} {name}: rendered", flush=True)
    with atomic_file(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    print(f"saved {path} ({arrays['capability']}, torch {arrays['torch']})")


def compare(a_path: Path, b_path: Path) -> dict:
    import torch

    from genxd.data.synthetic.writers import to_uint8_frames  # 8-bit as the clip writers make them

    a, b = np.load(a_path), np.load(b_path)
    rows = []
    for key in sorted(k for k in a.files if "_float" in k and k in b.files):
        x, y = a[key], b[key]
        diff = np.abs(x - y)
        x8, y8 = (to_uint8_frames(torch.from_numpy(v)) for v in (x, y))
        rows.append({"clip": key, "max_abs_diff": float(diff.max()), "fraction_differing": float((diff > 0).mean()),
                     "eight_bit_values_differing": int((x8 != y8).sum()), "values": int(x.size)})
        print(f"{key:14s} max {rows[-1]['max_abs_diff']:.2e}  differing {rows[-1]['fraction_differing']:.2%}  "
              f"8-bit values differing {rows[-1]['eight_bit_values_differing']} of {x.size}")
    return {"a": {"file": str(a_path), "capability": str(a["capability"]), "torch": str(a["torch"])},
            "b": {"file": str(b_path), "capability": str(b["capability"]), "torch": str(b["torch"])}, "clips": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--save", default=None, help="render the clips here and save them to this .npz")
    parser.add_argument("--compare", nargs=2, default=None, metavar=("A", "B"), help="two saved .npz files")
    parser.add_argument("--seeds", default="0,8,18", help="comma-separated 4D clip seeds")
    parser.add_argument("--out", default=None, help=out_help("render_spread"))
    args = parser.parse_args()
    if (args.save is None) == (args.compare is None):
        parser.error("give one of --save FILE or --compare A B")
    if not all(s.strip().isdigit() for s in args.seeds.split(",")):
        parser.error(f"--seeds: {args.seeds!r} is not comma-separated seeds")
    if args.save is not None:
        if args.out is not None:
            parser.error("--out goes with --compare")
        render_all([int(s) for s in args.seeds.split(",")], Path(args.save))
        return
    check_exists(parser, "--compare", args.compare)
    check_out(parser, args.out)
    report = compare(Path(args.compare[0]), Path(args.compare[1]))
    out = resolve_out(args.out, "render_spread")
    save_json(out, report)


if __name__ == "__main__":
    main()
