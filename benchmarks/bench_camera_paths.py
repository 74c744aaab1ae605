"""Camera paths from videos and camera accuracy of generated videos (issue 21), on synthetic clips.

Three parts, each printed as a table and saved in one JSON (``--out``):

- ``from-video``: 20 synthetic videos with exact cameras (orbit, forward, spiral, dolly, hand-held;
  moving objects in half of them, motion strength drawn as ``genxd synth`` does), written as H.264
  mp4 and given to :func:`genxd.cameras.from_video.recover_clip_cameras` (what ``genxd trajectory
  from-video`` runs). Per clip: mean rotation error (both paths relative to their first camera) and
  camera-centre error over the path length after the similarity alignment (free Umeyama and anchored),
  registered frames, wall / CPU seconds. A clip passes at < 1 degree and < 2 %; every failure listed.
- ``eval-camera``: the same scenes rendered at the bundled model's output size (64 px, 8 frames) and at
  a size where SfM has enough pixels (``--eval-settings``, default also 256 px, 16 frames): eval-camera
  on the ground-truth renders (the noise floor) and on renders at cameras perturbed by a known amount (each camera turned about its own y axis by up to ``--perturb-deg`` and moved sideways
  by up to 5 % of the path), whose expected errors are known exactly.
- ``model``: ``genxd eval``'s ``camera-3d`` / ``camera-4d`` figures of the bundled model.

    nice -n 10 env OMP_NUM_THREADS=1 python benchmarks/bench_camera_paths.py --threads 2 \\
        --out benchmarks/results/bench_camera_paths.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import (  # noqa: E402
    add_render_dtype, check_out, comma_choices, out_help, positive_int, resolve_out, save_json)

CAMERAS = ("orbit", "forward", "spiral", "dolly", "handheld")
PARTS = ("from-video", "eval-camera", "model")


def clip_specs(num: int) -> list[dict]:
    """``num`` clips: the cameras in turn; clips 5-9 and 15-19 have moving objects (half of 20)."""
    return [{"index": i, "camera": CAMERAS[i % len(CAMERAS)], "kind": "4d" if (i // len(CAMERAS)) % 2 else "3d",
             "seed": 2100 + i} for i in range(num)]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _uint8(rgb) -> np.ndarray:
    return (rgb.permute(0, 2, 3, 1).cpu().numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)


def part_from_video(args, work: Path) -> dict:
    import torch

    from genxd.cameras.accuracy import compare_paths
    from genxd.cameras.from_video import recover_clip_cameras
    from genxd.data.synthetic import make_clip
    from genxd.data.synthetic.writers import write_video

    rows = []
    only = None if not args.clip_ids else {int(i) for i in args.clip_ids.split(",")}
    for spec in [s for s in clip_specs(args.clips) if only is None or s["index"] in only]:
        clip = make_clip(spec["seed"], spec["kind"], args.frames, args.size, args.size, camera=spec["camera"],
                         focal=args.clip_focal, render_dtype=getattr(torch, args.render_dtype))
        video = write_video(work / f"clip{spec['index']:02d}.mp4", clip.images, fps=8.0, quality=9)
        row = {**spec, "motion_strength": clip.motion_strength,
               "image_motion_strength": clip.meta()["image_motion_strength"] if spec["kind"] == "4d" else 0.0}
        t0, c0 = time.perf_counter(), _cpu()
        try:
            cams = recover_clip_cameras(video, focal=None if args.estimate_focal else args.clip_focal, num_threads=args.threads,
                                        seed=0)
        except ValueError as exc:
            row.update({"status": "failed", "reason": str(exc), "seconds": time.perf_counter() - t0})
            rows.append(row)
            print(f"{spec['index']:2d} {spec['camera']:9s} {spec['kind']} FAILED: {exc}", flush=True)
            continue
        seconds, cpu = time.perf_counter() - t0, _cpu() - c0
        idx = cams.frame_indices
        e = compare_paths(cams.c2w, clip.c2w.double()[idx])
        passed = (len(idx) == args.frames and e.mean_rot_err_deg < 1.0 and e.centre_err_sim3_rel is not None
                  and e.centre_err_sim3_rel < 0.02)
        row.update({"status": "ok", "method": cams.method, "registered": len(idx), "mean_rot_err_deg": e.mean_rot_err_deg,
                    "max_rot_err_deg": max(e.rot_err_deg), "centre_err_sim3_rel": e.centre_err_sim3_rel,
                    "centre_err_rel": e.centre_err_rel, "focal": float(cams.K[0, 0, 0]), "passed": passed,
                    "seconds": seconds, "cpu_seconds": cpu, "timings": cams.report.get("timings"),
                    "mask_fraction": cams.report.get("mask_fraction"), "klt_window": cams.report.get("klt_window"),
                    "sfm_tried": cams.report.get("sfm_tried")})
        rows.append(row)
        print(f"{spec['index']:2d} {spec['camera']:9s} {spec['kind']} reg {len(idx)}/{args.frames} rot "
              f"{e.mean_rot_err_deg:6.3f} (max {max(e.rot_err_deg):6.3f}) deg, centre {100 * e.centre_err_sim3_rel:5.2f} % "
              f"(anchored {100 * e.centre_err_rel:5.2f} %), {'pass' if passed else 'FAIL'}, {seconds:.0f} s wall, "
              f"{cpu:.0f} s CPU", flush=True)
        del clip, cams
        torch.cuda.empty_cache() if torch.cuda.is_available() else None
    ok = [r for r in rows if r["status"] == "ok"]

    def mean(key: str, sel: list[dict]) -> float | None:
        values = [r[key] for r in sel if r.get(key) is not None]
        return statistics.mean(values) if values else None

    summary = {"clips": len(rows), "reconstructed": len(ok), "passed": sum(r.get("passed", False) for r in rows),
               "mean_rot_err_deg": mean("mean_rot_err_deg", ok), "mean_centre_err_sim3_rel": mean("centre_err_sim3_rel", ok),
               "mean_centre_err_rel": mean("centre_err_rel", ok), "mean_seconds": mean("seconds", ok),
               "mean_cpu_seconds": mean("cpu_seconds", ok),
               "static": {"passed": sum(r.get("passed", False) for r in rows if r["kind"] == "3d"),
                          "mean_rot_err_deg": mean("mean_rot_err_deg", [r for r in ok if r["kind"] == "3d"]),
                          "mean_centre_err_sim3_rel": mean("centre_err_sim3_rel", [r for r in ok if r["kind"] == "3d"])},
               "moving_objects": {"passed": sum(r.get("passed", False) for r in rows if r["kind"] == "4d"),
                                  "mean_rot_err_deg": mean("mean_rot_err_deg", [r for r in ok if r["kind"] == "4d"]),
                                  "mean_centre_err_sim3_rel": mean("centre_err_sim3_rel",
                                                                   [r for r in ok if r["kind"] == "4d"])},
               "failures": [f"clip {r['index']} ({r['camera']}, {r['kind']}): "
                            + (r.get("reason") or f"rot {r['mean_rot_err_deg']:.2f} deg, centre {100 * r['centre_err_sim3_rel']:.2f} %")
                            for r in rows if not r.get("passed")]}
    return {"settings": {"frames": args.frames, "size": args.size, "video": "H.264 mp4, quality 9",
                         "focal": "estimated" if args.estimate_focal else f"known (fx/W = {args.clip_focal:g})",
                         "clip_focal": args.clip_focal},
            "summary": summary, "clips": rows}


def _perturbed(c2w, max_deg: float, max_shift: float):
    """Each camera j turned about its own y axis by ``max_deg * j / (F - 1)`` and moved along its own x axis
    by ``max_shift * j / (F - 1)``."""
    import torch
    from scipy.spatial.transform import Rotation

    f = len(c2w)
    t = torch.linspace(0, 1, f, dtype=torch.float64)
    out = c2w.double().clone()
    turn = torch.from_numpy(Rotation.from_euler("y", (max_deg * t.numpy())[:, None], degrees=True).as_matrix())
    out[:, :3, 3] += out[:, :3, 0] * (max_shift * t)[:, None]
    out[:, :3, :3] = out[:, :3, :3] @ turn
    return out


def part_eval_camera(args, work: Path, size: int = 64, frames: int = 8) -> dict:
    import torch

    from genxd.cameras.accuracy import compare_paths
    from genxd.cameras.evaluate import evaluate_scene
    from genxd.cameras.resample import path_length
    from genxd.data.synthetic import make_clip, render
    from genxd.evaluation import _camera_scene

    rows = []
    only = None if not args.clip_ids else {int(i) for i in args.clip_ids.split(",")}
    for spec in [s for s in clip_specs(args.clips) if only is None or s["index"] in only]:
        clip = make_clip(spec["seed"], spec["kind"], frames, size, size, camera=spec["camera"])
        c2w, K = clip.c2w.double(), clip.K
        tag = f"{size}x{frames}_{spec['index']:02d}"
        truth = _camera_scene(work / f"gt{tag}", clip.images.cpu(), c2w, K)
        t0, c0 = time.perf_counter(), _cpu()
        floor = evaluate_scene(truth, num_threads=args.threads)
        seconds, cpu = time.perf_counter() - t0, _cpu() - c0
        moved = _perturbed(c2w, args.perturb_deg, 0.05 * path_length(torch.linalg.inv(c2w[0]) @ c2w))
        out = render(clip.scene, moved.float(), K, size, size, times=clip.times)
        pert_scene = _camera_scene(work / f"pert{tag}", out.rgb.cpu(), c2w, K)  # requested: unperturbed
        pert = evaluate_scene(pert_scene, num_threads=args.threads)
        expected = compare_paths(moved, c2w)
        row = {**spec, "floor": floor.get("errors"), "floor_status": floor["status"], "floor_reason": floor.get("reason"),
               "perturbed": pert.get("errors"), "perturbed_status": pert["status"],
               "expected_RotErr": expected.RotErr, "expected_TransErr": expected.TransErr,
               "expected_rot_err_deg": expected.rot_err_deg, "seconds": seconds, "cpu_seconds": cpu}
        rows.append(row)
        f = floor.get("errors") or {}
        p = pert.get("errors") or {}
        print(f"{spec['index']:2d} {spec['camera']:9s} {spec['kind']} floor RotErr {f.get('RotErr', float('nan')):7.3f} "
              f"TransErr {f.get('TransErr') or float('nan'):7.4f} | perturbed RotErr {p.get('RotErr', float('nan')):7.3f} "
              f"(expected {expected.RotErr:7.3f}) TransErr {p.get('TransErr') or float('nan'):7.4f} "
              f"(expected {expected.TransErr or float('nan'):7.4f}) | {seconds:.0f} s wall, {cpu:.0f} s CPU", flush=True)

    def mean(values) -> float | None:
        values = [v for v in values if v is not None]
        return statistics.mean(values) if values else None

    ok = [r for r in rows if r["floor_status"] == "ok"]
    pok = [r for r in rows if r["perturbed_status"] == "ok"]
    recovered = [abs(a - b) for r in pok for a, b in zip(
        r["perturbed"]["rot_err_deg"], [r["expected_rot_err_deg"][i] for i in range(len(r["expected_rot_err_deg"]))])
        if len(r["perturbed"]["rot_err_deg"]) == len(r["expected_rot_err_deg"])]
    summary = {
        "scenes": len(rows), "floor_reconstructed": len(ok), "perturbed_reconstructed": len(pok),
        "floor_mean_RotErr": mean(r["floor"]["RotErr"] for r in ok),
        "floor_mean_rot_err_deg": mean(r["floor"]["mean_rot_err_deg"] for r in ok),
        "floor_mean_TransErr": mean(r["floor"]["TransErr"] for r in ok),
        "floor_mean_centre_err_rel": mean(r["floor"]["centre_err_rel"] for r in ok),
        "floor_static": {"mean_RotErr": mean(r["floor"]["RotErr"] for r in ok if r["kind"] == "3d"),
                         "mean_TransErr": mean(r["floor"]["TransErr"] for r in ok if r["kind"] == "3d")},
        "perturbed_mean_RotErr": mean(r["perturbed"]["RotErr"] for r in pok),
        "expected_mean_RotErr": mean(r["expected_RotErr"] for r in pok),
        "perturbed_mean_TransErr": mean(r["perturbed"]["TransErr"] for r in pok),
        "expected_mean_TransErr": mean(r["expected_TransErr"] for r in pok),
        "perturbation_frame_error_deg": mean(recovered),
        "mean_seconds": mean(r["seconds"] for r in rows), "mean_cpu_seconds": mean(r["cpu_seconds"] for r in rows),
        "failures": [f"scene {r['index']} ({r['camera']}, {r['kind']}): {r['floor_reason']}" for r in rows
                     if r["floor_status"] != "ok"],
    }
    return {"settings": {"frames": frames, "size": size, "perturb_deg": args.perturb_deg, "perturb_shift": "5 % of the path"},
            "summary": summary, "scenes": rows}


def part_model(args) -> dict:
    from genxd.api import load_model
    from genxd.evaluation import camera_accuracy

    lm = load_model(None, "cpu", "fp32", fast=False)
    d = lm.defaults
    lm.pipe.set_progress_bar_config(disable=True)
    out = {}
    for mode in ("camera-3d", "camera-4d"):
        t0 = time.perf_counter()
        out[mode] = camera_accuracy(lm.pipe, mode, args.model_scenes, int(d["num_frames"]), int(d["resolution"]),
                                    int(d["num_inference_steps"]), float(d["guidance_scale"]), progress=True)
        out[mode]["seconds"] = time.perf_counter() - t0
        print(mode, json.dumps({k: out[mode][k] for k in ("generated", "ground_truth")}, indent=1), flush=True)
    return out


def parse_eval_settings(parser: argparse.ArgumentParser, text: str) -> list[tuple[int, int]]:
    """``--eval-settings``: comma-separated SIZExFRAMES (e.g. ``64x8,256x16``), both at least 1."""
    settings = []
    for item in (p.strip() for p in text.split(",")):
        size, x, frames = item.lower().partition("x")
        if not (x and size.isdigit() and frames.isdigit() and int(size) > 0 and int(frames) > 0):
            parser.error(f"--eval-settings: {item!r} is not SIZExFRAMES (e.g. 64x8,256x16)")
        settings.append((int(size), int(frames)))
    return settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated: {', '.join(PARTS)}")
    parser.add_argument("--clips", type=positive_int, default=20)
    parser.add_argument("--clip-ids", default="", help="from-video: run only these clip indices (comma-separated, "
                        "e.g. the forward and dolly clips 1,3,6,8,11,13,16,18)")
    parser.add_argument("--frames", type=positive_int, default=24, help="frames per from-video clip")
    parser.add_argument("--size", type=positive_int, default=192, help="from-video clip size in pixels")
    parser.add_argument("--estimate-focal", action="store_true", help="let SfM estimate the focal length")
    parser.add_argument("--clip-focal", type=float, default=1.0,
                        help="true normalised focal length fx/W of the rendered from-video clips (genxd assumes 1.0 "
                        "when SfM cannot estimate it: try another value with --estimate-focal)")
    add_render_dtype(parser, "the from-video clips")
    parser.add_argument("--perturb-deg", type=float, default=4.0)
    parser.add_argument("--eval-settings", default="64x8,256x16",
                        help="eval-camera render sizes and frame counts, SIZExFRAMES, comma-separated (the first is "
                             "saved as 'eval_camera', the others as 'eval_camera_SIZExFRAMES'); 64x8 is the bundled "
                             "model's output, where SfM has too few pixels for a near-0 floor")
    parser.add_argument("--model-scenes", type=positive_int, default=10)
    parser.add_argument("--threads", type=positive_int, default=2)
    parser.add_argument("--out", default=None, help=out_help("bench_camera_paths"))
    parser.add_argument("--keep-other-parts", action="store_true",
                        help="keep the sections of parts not run now from an existing --out file (marked as such)")
    args = parser.parse_args(argv)
    parts = comma_choices(parser, "--parts", args.parts, PARTS)
    eval_settings = parse_eval_settings(parser, args.eval_settings)
    if args.clip_ids and not all(i.strip().isdigit() for i in args.clip_ids.split(",")):
        parser.error(f"--clip-ids: {args.clip_ids!r} is not comma-separated clip indices (e.g. 1,3,6)")
    if args.keep_other_parts and args.out is None:
        parser.error("--keep-other-parts needs --out (the file whose other sections are kept)")
    check_out(parser, args.out)

    import torch

    torch.set_num_threads(1)  # rendering: one thread is faster on a shared machine (tests/curation/conftest.py)
    report: dict = {"command": "bench_camera_paths", "args": vars(args), "platform": {
        "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
        "load_average_start": os.getloadavg()}}
    work = Path(tempfile.mkdtemp(prefix="bench_camera_paths_"))
    try:
        if "from-video" in parts:
            report["from_video"] = part_from_video(args, work)
            print(json.dumps(report["from_video"]["summary"], indent=1), flush=True)
        if "eval-camera" in parts:
            for k, (size, frames) in enumerate(eval_settings):
                key = "eval_camera" if k == 0 else f"eval_camera_{size}x{frames}"
                print(f"eval-camera at {size}x{size}, {frames} frames", flush=True)
                report[key] = part_eval_camera(args, work, size, frames)
                print(json.dumps(report[key]["summary"], indent=1), flush=True)
        if "model" in parts:
            report["model"] = part_model(args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["platform"]["load_average_end"] = os.getloadavg()
    if args.keep_other_parts and Path(args.out).is_file():  # sections of parts not run now: from the earlier run
        earlier = json.loads(Path(args.out).read_text())
        before = earlier.pop("kept_from_earlier_run", {})
        kept = [k for k in earlier if k not in report and k not in ("command", "args", "platform")]
        report["kept_from_earlier_run"] = {}
        for key in kept:  # each kept section with the arguments and machine state of the run that made it
            report[key] = earlier[key]
            report["kept_from_earlier_run"][key] = before.get(key) or {"args": earlier.get("args"),
                                                                       "platform": earlier.get("platform")}
    args.out = str(resolve_out(args.out, "bench_camera_paths"))  # also recorded in report["args"]
    save_json(args.out, report, indent=1, default=str)


if __name__ == "__main__":
    main()
