"""How far float32 results move between CPU kernel families: the numbers behind the parity tolerances.

The reference fixtures (``tests/fixtures/reference_small``) were made by the authors' code on one CPU;
float32 rounding differs with the CPU's vector width and the kernels torch/oneDNN pick for it. This
script runs the fixture cases (the UNet cases, the UNet in bfloat16, the pipeline cases) under several
kernel families of THIS machine, each in its own process, and records

- each result's max abs error against the fixture,
- each result's max abs difference from the first kernel family's (same machine, other kernels),
- the pipeline's sensitivity: how far the final latents move when the initial noise moves by one
  float32 rounding step (relative 2**-24), which is what sampling with random weights amplifies,
- how far plausible bugs move the outputs (guidance, motion strength, one ray component off by a little),
  so the tolerances can be seen to sit between rounding and real mistakes.

    python benchmarks/parity_spread.py --out benchmarks/results/parity_spread_<cpu>.json

Kernel families (environment of the child process):
``default`` (the best the CPU has, e.g. AVX-512), ``avx2`` (``ATEN_CPU_CAPABILITY=avx2
ONEDNN_MAX_CPU_ISA=AVX2``), ``nosimd`` (``ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41``),
each with 1 and 2 threads. Run it on every CPU kind you have (``CUDA_VISIBLE_DEVICES=`` on a GPU host).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "reference_small"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, resolve_out, save_json  # noqa: E402

KERNELS = {
    "default": {},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "nosimd": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"},
}


def child(out_path: str, threads: int, mutants: bool) -> None:
    """Runs every case in this process's kernel family and saves the raw outputs (safetensors)."""
    import torch
    from safetensors.torch import load_file, save_file

    from genxd.models import UNetMVTemporalConditionModel
    from genxd.pipelines import GenXDPipeline

    torch.set_num_threads(threads)
    cases = load_file(str(FIXTURE / "cases.safetensors"))
    unet = UNetMVTemporalConditionModel.from_pretrained(FIXTURE / "unet").eval()
    outs: dict[str, torch.Tensor] = {}
    times: dict[str, float] = {}

    def unet_inputs(name):
        p = f"unet.{name}."
        return dict(sample=cases[p + "sample"], timestep=cases[p + "timestep"], added_time_ids=cases[p + "added_time_ids"],
                    indicator=cases[p + "indicator"], motion_ids=cases.get(p + "motion_ids"))

    with torch.no_grad():
        for name in ("mv", "video", "4d", "4d_nomotion"):
            t0 = time.perf_counter()
            outs[f"unet.{name}"] = unet(**unet_inputs(name)).sample
            times[f"unet.{name}"] = time.perf_counter() - t0
        bf = UNetMVTemporalConditionModel.from_config(unet.config)
        bf.load_state_dict(unet.state_dict())
        bf = bf.to(torch.bfloat16).eval()
        inp = unet_inputs("4d")
        inp["sample"] = inp["sample"].to(torch.bfloat16)
        outs["unet_bf16.4d"] = bf(**inp).sample.float()

    pipe = GenXDPipeline.from_pretrained(FIXTURE)
    pipe.set_progress_bar_config(disable=True)

    def pipe_kwargs(name):
        p = f"pipe.{name}."
        prm = cases[p + "params"].tolist()
        return dict(context_images=cases[p + "context_image"], target_c2w=cases[p + "target_c2w"],
                    target_K=cases[p + "target_K"], context_index=cases[p + "context_index"],
                    context_c2w=cases[p + "context_c2w"], mode=int(prm[0]), motion_strength=prm[1],
                    num_inference_steps=int(prm[2]), guidance_scale=prm[3], latents=cases[p + "latents_in"])

    for name in ("single3d", "fewshot3d", "4d", "video"):
        kw = pipe_kwargs(name)
        t0 = time.perf_counter()
        out = pipe(**kw, output_type="pt")
        times[f"pipe.{name}"] = time.perf_counter() - t0
        outs[f"pipe.{name}.latents"], outs[f"pipe.{name}.frames"] = out.latents, out.frames
        if not mutants:
            continue
        # sensitivity: the initial noise moved by one float32 rounding step
        lat = kw["latents"]
        eps = lat * (1 + 2.0**-24 * torch.sign(torch.randn(lat.shape, generator=torch.Generator().manual_seed(0))))
        outs[f"pipe.{name}.sens_noise_ulp"] = pipe(**{**kw, "latents": eps}, output_type="latent").latents
        # plausible small bugs
        outs[f"pipe.{name}.bug_guidance_1pct"] = pipe(**{**kw, "guidance_scale": kw["guidance_scale"] * 1.01},
                                                      output_type="latent").latents
        c2w = kw["target_c2w"].clone()
        c2w[..., 0, 3] += 1e-3  # every target camera moved 1/1000 of a unit sideways
        outs[f"pipe.{name}.bug_camera_1e-3"] = pipe(**{**kw, "target_c2w": c2w}, output_type="latent").latents
        if kw["mode"] == 2:
            outs[f"pipe.{name}.bug_motion_plus1"] = pipe(**{**kw, "motion_strength": kw["motion_strength"] + 1},
                                                         output_type="latent").latents
    save_file({k: v.contiguous() for k, v in outs.items()}, out_path)
    Path(out_path + ".json").write_text(json.dumps({"times": times, "capability": torch.backends.cpu.get_cpu_capability(),
                                                    "threads": torch.get_num_threads()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=None, help=out_help("parity_spread"))
    parser.add_argument("--kernels", default="default,avx2,nosimd", help="comma list of " + ",".join(KERNELS))
    parser.add_argument("--threads", default="1,2", help="comma list of thread counts")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--mutants", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.child_threads, args.mutants)
        return

    import torch
    from safetensors.torch import load_file

    from genxd.utils.machine import cpu_name

    cases = load_file(str(FIXTURE / "cases.safetensors"))
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        first = True
        for kname in args.kernels.split(","):
            for threads in (int(t) for t in args.threads.split(",")):
                label = f"{kname}/t{threads}"
                path = os.path.join(tmp, label.replace("/", "_") + ".safetensors")
                env = {**os.environ, **KERNELS[kname], "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
                cmd = [sys.executable, __file__, "--child", path, "--child-threads", str(threads)]
                if first:
                    cmd.append("--mutants")  # the sensitivity and bug runs once, in the first family
                t0 = time.perf_counter()
                res = subprocess.run(cmd, env=env, capture_output=True, text=True)
                if res.returncode != 0:
                    runs[label] = {"error": res.stderr.strip().splitlines()[-1:]}
                    print(label, "FAILED", res.stderr[-2000:], file=sys.stderr)
                    continue
                info = json.loads(Path(path + ".json").read_text())
                runs[label] = {"outputs": load_file(path), "capability": info["capability"], "times": info["times"],
                               "wall_s": time.perf_counter() - t0}
                first = False
                print(label, "capability", info["capability"], f"{runs[label]['wall_s']:.1f}s", flush=True)

    ok = [k for k, v in runs.items() if "outputs" in v]
    base = ok[0]

    def fixture_of(key):
        if key.startswith("unet_bf16."):
            return None
        if key.startswith("unet."):
            return cases[key + ".out"]
        name, what = key.split(".")[1:3]
        return cases[f"pipe.{name}.latents_out" if what == "latents" else f"pipe.{name}.frames_out"]

    report = {"cpu": cpu_name(), "machine": platform.machine(), "torch": torch.__version__, "base_run": base, "runs": {}}
    for label in runs:
        r = runs[label]
        if "outputs" not in r:
            report["runs"][label] = {"error": r["error"]}
            continue
        entry = {"capability": r["capability"], "wall_s": round(r["wall_s"], 1), "vs_fixture": {}, "vs_base_run": {}}
        for key, value in r["outputs"].items():
            if any(s in key for s in ("sens_", "bug_")):
                continue
            ref = fixture_of(key)
            if ref is not None:
                entry["vs_fixture"][key] = float((value - ref).abs().max())
            entry["vs_base_run"][key] = float((value - runs[base]["outputs"][key]).abs().max())
        # bfloat16 against this run's own float32 output (what test_bfloat16_computes_in_bfloat16 checks)
        bf, ref = r["outputs"]["unet_bf16.4d"], r["outputs"]["unet.4d"]
        err = (bf - ref).abs()
        entry["bf16_vs_fp32"] = {"max_err": float(err.max()), "mean_err": float(err.mean()),
                                 "ref_abs_max": float(ref.abs().max()), "ref_abs_mean": float(ref.abs().mean()),
                                 "mean_err_over_ref_abs_mean": float(err.mean() / ref.abs().mean()),
                                 "max_err_over_ref_abs_max": float(err.max() / ref.abs().max())}
        report["runs"][label] = entry
    # sensitivity and bugs: against the base run's own output (same kernels, same machine)
    sens = {}
    for key, value in runs[base]["outputs"].items():
        if "sens_" in key or "bug_" in key:
            name = key.split(".")[1]
            sens[key] = float((value - runs[base]["outputs"][f"pipe.{name}.latents"]).abs().max())
    report["sensitivity_and_bugs_latents_max_abs"] = sens
    worst = {}
    for label, entry in report["runs"].items():
        for key, v in entry.get("vs_fixture", {}).items():
            worst[key] = max(worst.get(key, 0.0), v)
        for key, v in entry.get("vs_base_run", {}).items():
            worst["spread." + key] = max(worst.get("spread." + key, 0.0), v)
        if "bf16_vs_fp32" in entry:
            for k in ("mean_err_over_ref_abs_mean", "max_err_over_ref_abs_max"):
                worst["bf16." + k] = max(worst.get("bf16." + k, 0.0), entry["bf16_vs_fp32"][k])
    report["worst_over_runs"] = worst
    print(json.dumps(report, indent=1))
    save_json(resolve_out(args.out, "parity_spread"), report, indent=1)


if __name__ == "__main__":
    main()
