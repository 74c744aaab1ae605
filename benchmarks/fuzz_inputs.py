"""Fuzz genxd's readers of user files: mutated camera files, COLMAP models, images, videos, configs.

Each target (``benchmarks/fuzz_targets_*.py``) starts from valid inputs that genxd writes or users bring, makes
cases by mutating them (``benchmarks/fuzz_mutations.py``: bytes, JSON trees, text tokens; case ``i`` of a target
is made from its own seeded ``random.Random``, so it can be made again with ``--case``) and reads each case in a
**worker process** that imports genxd once (started afresh; a caller of :func:`run_target` may fork it from a
``benchmarks/fuzz_fork_server.py`` instead, as the tests do). The worker's answer is judged
(``benchmarks/fuzz_target.py``):

- ``ok`` (read) and ``clear`` (an allowed error, e.g. ``ValueError``, whose message names the input) pass;
- ``unnamed`` (allowed type, message without the input's name), ``internal`` (any other exception: the user
  would see a traceback), ``memory``, ``crash`` (the worker died: a segfault or abort in a native library) and
  ``hang`` (no answer within ``--timeout`` seconds; the worker is killed and restarted) are findings.

Findings are grouped by outcome, exception type and the innermost genxd frame; the first case of each group is
kept as a reproducer under ``--keep`` (default: ``benchmarks/results/local/fuzz_<UTC time>/``). Exit status 1
when anything was found, else 0.

    python benchmarks/fuzz_inputs.py --cases 300 --json benchmarks/results/fuzz_inputs.json   # every target
    python benchmarks/fuzz_inputs.py --targets colmap-bin --cases 50 --seed 3
    python benchmarks/fuzz_inputs.py --targets colmap-bin --case 17 --keep /tmp/case17   # make one case again
    python benchmarks/fuzz_inputs.py --list

Results and what was fixed: ``docs/robustness_probe.md`` ("Fuzzing the readers").
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import resource
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_output import check_out, default_out, positive_int, save_json  # noqa: E402
from fuzz_fork_server import ForkedWorker, ForkServer, NotSingleThreaded, serve  # noqa: E402
from fuzz_target import BAD_OUTCOMES, OUTCOMES, FuzzTarget, judge  # noqa: E402

__all__ = ["all_targets", "Worker", "ForkServer", "NotSingleThreaded", "run_target", "main"]

#: Address-space limit of the worker (bytes): a reader that believes a corrupt count and allocates for it gets
#: a MemoryError instead of taking the machine.
WORKER_MEMORY = 12 * 2**30


def all_targets() -> dict[str, tuple[str, FuzzTarget]]:
    """``{target name: (module name, target)}`` from every ``fuzz_targets_*.py`` beside this script."""
    found: dict[str, tuple[str, FuzzTarget]] = {}
    for path in sorted(HERE.glob("fuzz_targets_*.py")):
        module = importlib.import_module(path.stem)
        for target in module.TARGETS:
            if target.name in found:
                raise RuntimeError(f"fuzz target {target.name!r} defined twice ({found[target.name][0]}, {path.stem})")
            found[target.name] = (path.stem, target)
    return found


class Worker:
    """A process that reads cases for one target (``--worker MODULE:TARGET``), one path per line on stdin, and
    answers one JSON line each."""

    def __init__(self, module: str, target: str, warm_up: Path | None, threads: int = 1,
                 fork_server: ForkServer | None = None):
        """``fork_server``: the worker is forked from it (``benchmarks/fuzz_fork_server.py``: its libraries
        imported) instead of started afresh; a server of other thread settings is not used."""
        self.spec = f"{module}:{target}"
        self.warm_up = warm_up
        self.threads = threads
        self.fork_server = fork_server if fork_server is not None and fork_server.threads == threads else None
        self.proc: subprocess.Popen | ForkedWorker | None = None

    def start(self) -> None:
        env = dict(os.environ, OMP_NUM_THREADS=str(self.threads), PYTHONUNBUFFERED="1")
        argv = ["--worker", self.spec, *(["--warm-up", str(self.warm_up)] if self.warm_up is not None else [])]
        if self.fork_server is not None:
            self.proc = self.fork_server.spawn(argv, env)
        else:
            self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *argv],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         text=True, env=env)
        line = self._readline(300.0)
        if line is None or line.strip() != "ready":
            self.stop()
            raise RuntimeError(f"fuzz worker {self.spec} did not start")

    def _readline(self, timeout: float) -> str | None:
        assert self.proc is not None and self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return None
        return self.proc.stdout.readline()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def read(self, path: Path, timeout: float) -> dict[str, str]:
        """The judged outcome of reading ``path`` (``hang`` / ``crash`` when the worker does not answer)."""
        if self.proc is None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(str(path) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        line = self._readline(timeout)
        if line:
            return json.loads(line)
        code = self.proc.poll()
        deadline = time.perf_counter() + timeout
        while line == "" and code is None and time.perf_counter() < deadline:  # its output closed: it is exiting
            time.sleep(0.01)
            code = self.proc.poll()
        self.stop()
        if code is None:
            return {"outcome": "hang", "type": "", "message": f"no answer in {timeout:g} s", "where": ""}
        return {"outcome": "crash", "type": "", "message": f"worker exited with {code}", "where": ""}


def _worker_main(spec: str, warm_up: str | None) -> None:
    module_name, name = spec.split(":")
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = WORKER_MEMORY if hard == resource.RLIM_INFINITY else min(WORKER_MEMORY, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    # scipy.stats and bitsandbytes (which diffusers imports) loaded at their first use, as the genxd commands defer
    # them (genxd.cli.common.DEFERRED_IMPORTS): 1.3-1.5 s of CPU less in each worker that imports diffusers
    from genxd.cli.common import DEFERRED_IMPORTS, import_libraries

    import_libraries(defer=DEFERRED_IMPORTS)
    target = next(t for t in importlib.import_module(module_name).TARGETS if t.name == name)
    if warm_up:  # a valid input first: the reader's lazy imports and first calls do not count against a case
        judge(target, Path(warm_up))
    print("ready", flush=True)
    for line in sys.stdin:
        print(json.dumps(judge(target, Path(line.rstrip("\n")))), flush=True)


def _case_rng(seed: int, target: str, case: int) -> random.Random:
    return random.Random(f"{seed}:{target}:{case}")


def run_target(module: str, target: FuzzTarget, *, cases: list[int], seed: int, timeout: float, keep: Path,
               work: Path, time_limit: float | None, verbose: bool = False, outcomes: list | None = None,
               warm_up: bool = True, fork_server: ForkServer | None = None) -> dict:
    """Run ``cases`` of one target; returns its counts, findings and timing (each case's outcome appended to
    ``outcomes`` when given, to compare two runs case by case). ``warm_up=False``: the worker reads no seed before
    the first case (which then pays the reader's imports: for a caller whose ``timeout`` allows for them, e.g. the
    tests, where a seed read only to be thrown away is a cost). ``fork_server``: the worker (and each restart
    after a hang or crash) is forked from it instead of started afresh (see :class:`Worker`)."""
    seed_dir = work / target.name / "seeds"
    seed_dir.mkdir(parents=True)
    seeds = target.make_seeds(seed_dir)
    worker = Worker(module, target.name, warm_up=seeds[0] if warm_up else None, fork_server=fork_server)
    counts: Counter = Counter()
    findings: dict[str, dict] = {}
    start = time.perf_counter()
    done = 0
    try:
        for i in cases:
            if time_limit is not None and time.perf_counter() - start > time_limit:
                break
            rng = _case_rng(seed, target.name, i)
            source = rng.choice(seeds)
            case_dir = work / target.name / f"case_{i:05d}"
            dest = case_dir / source.name
            what = target.mutate(rng, source, dest)
            result = worker.read(dest, timeout)
            done += 1
            counts[result["outcome"]] += 1
            if outcomes is not None:
                outcomes.append({"target": target.name, "case": i, **{k: result[k] for k in ("outcome", "type", "message")}})
            if result["outcome"] in BAD_OUTCOMES:
                key = f"{result['outcome']} {result['type']} {result['where']}".strip()
                if key not in findings:
                    kept = keep / target.name / f"case_{i:05d}"
                    shutil.copytree(case_dir, kept, dirs_exist_ok=True)
                    findings[key] = {"case": i, "seed_input": source.name, "mutation": what, **result,
                                     "kept": str(kept), "count": 0}
                    if verbose:
                        print(f"  {target.name} case {i}: {key}: {what}: {result['message'][:160]}", flush=True)
                findings[key]["count"] += 1
            shutil.rmtree(case_dir, ignore_errors=True)
    finally:
        worker.stop()
    return {"target": target.name, "what": target.what, "cases": done,
            "counts": {k: counts.get(k, 0) for k in OUTCOMES}, "findings": list(findings.values()),
            "seconds": round(time.perf_counter() - start, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", help="comma-separated target names (default: all; see --list)")
    parser.add_argument("--cases", type=positive_int, default=200, help="cases per target (default 200)")
    parser.add_argument("--case", type=int, help="run only this case number (with --keep: keep its input)")
    parser.add_argument("--seed", type=int, default=0, help="run seed: case i of a target is the same for a seed")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds a read may take before it is a hang")
    parser.add_argument("--time-limit", type=float, help="seconds per target, after which it stops early")
    parser.add_argument("--keep", help="folder for the reproducers (default: benchmarks/results/local/fuzz_<time>/)")
    parser.add_argument("--json", dest="out", help="JSON file for the report (default: a new file under "
                        "benchmarks/results/local/)")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--verbose", action="store_true", help="print each new finding as it is found")
    parser.add_argument("--outcomes", help="JSON-lines file for every case's outcome (target, case, outcome, type, "
                        "message), to compare two runs case by case")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--warm-up", help=argparse.SUPPRESS)
    parser.add_argument("--fork-server", help=argparse.SUPPRESS)  # modules to import, comma-separated
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)  # the fork server's socket
    args = parser.parse_args(argv)
    if args.worker:
        _worker_main(args.worker, args.warm_up)
        return 0
    if args.fork_server is not None:
        serve(args.fd, [m for m in args.fork_server.split(",") if m], main)
        return 0
    if args.timeout <= 0:
        parser.error(f"--timeout must be > 0, got {args.timeout}")
    check_out(parser, args.out, "--json")
    check_out(parser, args.outcomes, "--outcomes")
    targets = all_targets()
    if args.list:
        for name, (_, target) in targets.items():
            print(f"{name:18s} {target.what}")
        return 0
    names = list(targets)
    if args.targets:
        names = [n.strip() for n in args.targets.split(",") if n.strip()]
        unknown = [n for n in names if n not in targets]
        if unknown or not names:
            parser.error(f"--targets: unknown {', '.join(unknown) or 'nothing given'} (valid: {', '.join(targets)})")
        for n in names:
            if (how := targets[n][1].missing()) is not None:
                parser.error(f"--targets: {n} needs an optional package: {how}")
    out = Path(args.out) if args.out else default_out("fuzz_inputs")
    keep = Path(args.keep) if args.keep else out.with_suffix("")
    cases = [args.case] if args.case is not None else list(range(args.cases))
    report = {"seed": args.seed, "cases_per_target": len(cases), "timeout_s": args.timeout, "targets": []}
    found = 0
    outcomes: list | None = [] if args.outcomes else None
    with tempfile.TemporaryDirectory(prefix="genxd-fuzz-") as tmp:
        for name in names:
            module, target = targets[name]
            if (how := target.missing()) is not None:  # only when every target was asked for
                print(f"{name}: skipped, it needs an optional package: {how}", flush=True)
                report.setdefault("skipped", []).append({"target": name, "needs": how})
                continue
            result = run_target(module, target, cases=cases, seed=args.seed, timeout=args.timeout, keep=keep,
                                work=Path(tmp), time_limit=args.time_limit, verbose=args.verbose,
                                outcomes=outcomes)
            report["targets"].append(result)
            bad = sum(result["counts"][k] for k in BAD_OUTCOMES)
            found += bad
            counts = ", ".join(f"{k} {v}" for k, v in result["counts"].items() if v)
            print(f"{name}: {result['cases']} cases in {result['seconds']} s: {counts}", flush=True)
            for f in result["findings"]:
                print(f"  {f['count']:4d} x {f['outcome']} {f['type']} at {f['where'] or '-'}: {f['mutation']}: "
                      f"{f['message'][:160]}", flush=True)
    report["findings"] = found
    save_json(out, report)
    if outcomes is not None:
        from genxd.utils.io import atomic_file

        Path(args.outcomes).parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(args.outcomes) as tmp_file:
            tmp_file.write_text("".join(json.dumps(o) + "\n" for o in outcomes))
    if found:
        print(f"reproducers kept under {keep}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
