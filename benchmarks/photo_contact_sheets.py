"""Contact sheets of held-out photographs (issue 24): does the model carry the user's picture?

    python benchmarks/photo_contact_sheets.py --out docs/images/contact_sheet_photos.png [--model DIR]

For each photo (default: chelsea, coffee, rocket of ``genxd.data.synthetic.photos.HELD_OUT_PHOTOS``,
never training data) and each of ``orbit``, ``forward`` (3D mode) and ``4d`` (the ``static`` camera,
4D mode, motion strength 8: inside the bundled model's trained 0-21; 30 before 2026-12-01), one row:
the input (central square at the model's resolution), a gap, then the generated frames
(``genxd generate``'s defaults otherwise: seed 0, the model's steps and guidance; presets scaled to the model's
scene depth as ``genxd generate`` does, or by ``--preset-scale``). Rows are upscaled 2x (nearest; not with
``--no-upscale``) and labelled in the JSON written next to the PNG.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import check_exists, check_out, comma_choices, positive_int  # noqa: E402

#: row name -> (camera preset, mode, motion strength, azimuth range or None for the preset's)
MODES = {"orbit": ("orbit", "3d", 0.0, None), "orbit30": ("orbit", "3d", 0.0, (0.0, 30.0)),
         "orbit_long": ("orbit", "3d", 0.0, None),
         "forward": ("forward", "3d", 0.0, None), "4d": ("static", "4d", 8.0, None)}
#: rows made as a long path (``genxd generate --frames N``: ``--long-frames`` cameras, window by window), of
#: which every ``N / window``-th frame is shown: the same cameras as the one-window row of the same preset
LONG_MODES = {"orbit_long"}


def main(argv: list[str] | None = None) -> None:
    from genxd.data.synthetic.photos import HELD_OUT_PHOTOS, load_photo

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="PNG to write (a .json with the row labels goes beside it)")
    ap.add_argument("--model", default=None, help="checkpoint folder (default: the bundled model)")
    ap.add_argument("--photos", default="chelsea,coffee,rocket", help="held-out photo names, comma-separated")
    ap.add_argument("--modes", default="orbit,forward,4d",
                    help="comma-separated: orbit (the preset: a full circle), orbit30 (an arc of 30 degrees), "
                         "orbit_long (the full circle as a long path of --long-frames cameras, every "
                         "(long-frames / window)-th shown), forward, 4d")
    ap.add_argument("--preset-scale", type=float, default=None,
                    help="camera positions x this (default: the model's preset_scale, as genxd generate; 1 = the presets' own)")
    ap.add_argument("--no-upscale", action="store_true", help="keep the model's resolution (default: 2x, nearest)")
    ap.add_argument("--long-frames", type=positive_int, default=32,
                    help="cameras of the orbit_long row (a multiple of the model's window; default 32: 4 per shown frame)")
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda (the fast path: bf16, other numbers)")
    args = ap.parse_args(argv)
    photos = comma_choices(ap, "--photos", args.photos, [p.name for p in HELD_OUT_PHOTOS])
    modes = comma_choices(ap, "--modes", args.modes, MODES)
    if args.model is not None:
        check_exists(ap, "--model", args.model)
    if not (args.device == "cpu" or args.device == "cuda" or (args.device.startswith("cuda:") and args.device[5:].isdigit())):
        ap.error(f"--device: unknown device {args.device!r} (valid: cpu, cuda, cuda:N)")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        ap.error(f"--device {args.device}: cuda requested but not available")
    if args.preset_scale is not None and not args.preset_scale > 0:
        ap.error(f"--preset-scale: must be positive, got {args.preset_scale:g}")
    check_out(ap, args.out)

    from PIL import Image

    from genxd.api import camera_trajectory, load_model
    from genxd.evaluation_photos import square_crop
    from genxd.pipelines.long_paths import LongPathSettings, generate_long, plan_for
    from genxd.utils.images import tensor_to_uint8
    from genxd.utils.io import atomic_file

    lm = load_model(args.model, args.device, "fp32" if args.device == "cpu" else None)
    d = lm.defaults
    res, n = int(d["resolution"]), int(d["num_frames"])
    by_name = {p.name: p for p in HELD_OUT_PHOTOS}
    rows, labels = [], []
    for name in photos:
        image = square_crop(load_photo(by_name[name]), res).clamp(0, 1)
        for mode in modes:
            camera, gen_mode, strength, azimuths = MODES[mode]
            scale = lm.info.preset_scale if args.preset_scale is None else args.preset_scale
            count = args.long_frames if mode in LONG_MODES else n
            if count % n:
                raise SystemExit(f"--long-frames must be a multiple of the model's window ({n})")
            c2w, K = camera_trajectory(camera, count, d.get("focal"), azimuth_range=azimuths, scale=scale)
            plan = plan_for(lm.pipe, d, gen_mode, c2w, K, [0], LongPathSettings())  # None: one window holds it
            sample = dict(mode=gen_mode, motion_strength=strength, num_inference_steps=int(d["num_inference_steps"]),
                          guidance_scale=float(d["guidance_scale"]), generator=torch.Generator().manual_seed(0))
            result = (lm.pipe(image[None, None], c2w, K, context_index=[0], **sample) if plan is None
                      else generate_long(lm.pipe, image[None, None], c2w, K, plan, **sample))
            frames = result.frames[0].cpu()[:: count // n]
            tiles = [tensor_to_uint8(image), np.full((res, 6, 3), 255, np.uint8)]
            for f in frames:
                tiles += [tensor_to_uint8(f), np.full((res, 2, 3), 255, np.uint8)]
            rows.append(np.concatenate(tiles, 1))
            labels.append(f"{name} / {mode} / preset scale {scale:g}"
                          + (f" / {args.long_frames} cameras, every {args.long_frames // n}th shown"
                             if mode in LONG_MODES else ""))
    sheet = np.concatenate([np.concatenate([r, np.full((4, r.shape[1], 3), 255, np.uint8)], 0) for r in rows], 0)
    if not args.no_upscale:
        sheet = sheet.repeat(2, 0).repeat(2, 1)
    out = Path(args.out)
    with atomic_file(out) as tmp:
        Image.fromarray(sheet).save(tmp, format="PNG")
    model = "bundled:genxd-small" if lm.bundled else str(lm.path)
    with atomic_file(out.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps({"rows": labels, "model": model}, indent=1) + "\n")
    print(f"wrote {out} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
