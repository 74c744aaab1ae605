"""The no-turn fit's solver: :func:`genxd.cameras.no_turn_fit.fit_fixed_rotation` against scipy's ``least_squares``
(TRF, LSMR, soft-L1, at most 300 evaluations: the solver ``fit_without_turning`` used before 2026-12-03), on the
problems from-video hands it.

Each clip goes through ``recover_clip_cameras`` (focal length left to SfM, as users run it); every call of the fit is
captured and solved again by both solvers, timed with one BLAS thread and with the default thread count (scipy's
LSMR spends its time in small BLAS calls, which several threads on a busy machine slow down). Reported per problem:
observations, points, frames, seconds, final robust cost, iterations / evaluations, and the largest difference of
the two solvers' camera centres (fraction of the path length).

    python benchmarks/bench_no_turn_fit.py                       # the synthetic forward clip below
    python benchmarks/bench_no_turn_fit.py --clips a.mp4 b.mp4   # your own clips

Default clip: ``genxd synth v --format video --camera forward --seed 3 --frames 32 --size 256``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import check_exists, check_out, out_help, resolve_out, save_json  # noqa: E402


def scipy_fit(R0, rays, cam, pt, centres, points, focal, axis, max_nfev=300):
    """The solver used before: scipy least_squares on all centres (the first held) and points, the scale held by a
    weighted residual, sparse analytic Jacobian (LSMR)."""
    from scipy.optimize import least_squares
    from scipy.sparse import csr_matrix

    n, m = len(centres), len(points)
    scale_col, scale_at = 3 * (n - 2) + axis, float(centres[-1, axis])

    def unpack(x):
        return np.vstack([centres[:1], x[:3 * (n - 1)].reshape(n - 1, 3)]), x[3 * (n - 1):].reshape(m, 3)

    def project(x):
        c, X = unpack(x)
        p = (X[pt] - c[cam]) @ R0.T
        return p, np.where(np.abs(p[:, 2]) < 1e-9, 1e-9, p[:, 2])

    def residuals(x):
        p, z = project(x)
        return np.append(((p[:, :2] / z[:, None] - rays) * focal).ravel(), 1e3 * (x[scale_col] - scale_at))

    moving = cam > 0
    rows_xy = 2 * np.arange(len(rays))
    point_cols = 3 * (n - 1) + 3 * pt[:, None] + np.arange(3)
    centre_cols = 3 * (cam[moving] - 1)[:, None] + np.arange(3)

    def jacobian(x):
        p, z = project(x)
        d = np.zeros((len(p), 2, 3))
        d[:, 0, 0] = d[:, 1, 1] = 1.0 / z
        d[:, 0, 2], d[:, 1, 2] = -p[:, 0] / z**2, -p[:, 1] / z**2
        d_point = focal * d @ R0
        rows, cols, vals = [], [], []
        for k in range(2):
            rows += [np.repeat(rows_xy + k, 3), np.repeat(rows_xy[moving] + k, 3)]
            cols += [point_cols.ravel(), centre_cols.ravel()]
            vals += [d_point[:, k].ravel(), -d_point[moving, k].ravel()]
        rows.append([2 * len(rays)])
        cols.append([scale_col])
        vals.append([1e3])
        return csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(2 * len(rays) + 1, 3 * (n - 1 + m)))

    s = least_squares(residuals, np.concatenate([centres[1:].ravel(), points.ravel()]), jac=jacobian,
                      loss="soft_l1", f_scale=1.0, x_scale="jac", max_nfev=max_nfev, method="trf")
    c, X = unpack(s.x)
    cost = float(np.sum(np.sqrt(1 + residuals(s.x)[:-1] ** 2) - 1))
    return c, cost, int(s.nfev), int(s.status)


def _timed(fn, threads):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise SystemExit("bench_no_turn_fit needs threadpoolctl (pip install threadpoolctl)") from None

    with threadpool_limits(threads):
        t = time.perf_counter()
        out = fn()
        return out, time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", nargs="*", default=None, help="videos or frame folders (default: a synthetic forward clip)")
    ap.add_argument("--out", default=None, help=out_help("bench_no_turn_fit"))
    args = ap.parse_args(argv)
    if args.clips:
        check_exists(ap, "--clips", args.clips)
    check_out(ap, args.out)
    import genxd.cameras.no_turn_fit as no_turn_fit
    from genxd.cameras.from_video import recover_clip_cameras

    clips = args.clips
    scratch = Path(tempfile.mkdtemp(prefix="bench_no_turn_fit_"))
    if not clips:
        subprocess.run([sys.executable, "-m", "genxd", "synth", str(scratch / "v"), "--format", "video", "--camera",
                        "forward", "--seed", "3", "--frames", "32", "--size", "256", "-q"], check=True)
        clips = [str(next((scratch / "v").glob("*.mp4")).rename(scratch / "forward_seed3.mp4"))]  # no sidecar
    captured: list[tuple] = []
    solver = no_turn_fit.fit_fixed_rotation

    def spy(*a, **k):
        captured.append((a, k))
        return solver(*a, **k)

    no_turn_fit.fit_fixed_rotation = spy
    try:
        problems = _solve_all(clips, captured, solver, recover_clip_cameras)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result = {"benchmark": "bench_no_turn_fit", "args": vars(args), "cpu_count": os.cpu_count(),
              "machine": platform.processor() or platform.machine(), "load_average": os.getloadavg(),
              "problems": problems}
    save_json(resolve_out(args.out, "bench_no_turn_fit"), result, indent=1)


def _solve_all(clips, captured, solver, recover_clip_cameras) -> list[dict]:
    problems = []
    for clip in clips:
        start = len(captured)
        t = time.perf_counter()
        recover_clip_cameras(clip)
        whole = time.perf_counter() - t
        for a, _ in captured[start:]:
            R0, rays, cam, pt, centres, points, focal, axis = a
            path = float(np.linalg.norm(centres[-1] - centres[0])) or 1.0
            row = {"clip": Path(clip).name, "from_video_seconds": round(whole, 2), "observations": len(rays),
                   "points": len(points), "frames": len(centres)}
            for threads, tag in ((1, "1_thread"), (None, "default_threads")):
                fit, dt = _timed(lambda: solver(*a), threads)
                row[f"schur_seconds_{tag}"] = round(dt, 3)
                (c_ref, cost_ref, nfev, status), dt_ref = _timed(lambda: scipy_fit(*a), threads)
                row[f"scipy_seconds_{tag}"] = round(dt_ref, 3)
            row.update({"schur_cost": fit.cost, "schur_iterations": fit.iterations, "schur_converged": fit.converged,
                        "scipy_cost": cost_ref, "scipy_evaluations": nfev, "scipy_status": status,
                        "max_centre_difference_of_path": float(np.abs(fit.centres - c_ref).max() / path)})
            print(row, flush=True)
            problems.append(row)
    return problems


if __name__ == "__main__":
    main()
