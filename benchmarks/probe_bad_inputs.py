"""The bad-input probe (issue 18): hundreds of wrong, odd or hostile inputs to every ``genxd`` command.

Every case runs in its own sandbox folder (``in/`` inputs, ``out/`` the output folder, which already
holds an earlier output ``out/keep/`` with a file in it) and is checked for:

- **error cases**: exit code 2, exactly one ``genxd: error:`` line on stderr naming what is wrong (the
  file or the option), no traceback, nothing outside ``out/`` touched, the existing output kept;
- **odd-but-valid cases** (16-bit images, CMYK, 1-bit ...): exit code 0 and the output written;
- **kill cases**: the command is killed with SIGKILL while it writes, then run again: the old output is
  intact, the rerun succeeds, and no hidden temporary is left;
- **full-disk cases**: the command writes onto a tmpfs of a few kB: one error line and a non-zero exit (or
  exit 0 with whole files, where it fitted), no traceback, no temporary or cut-short video left.

Cases run in this process through typer's ``CliRunner`` (fast; the model is loaded once and reused)
except the kill cases, which run ``python -m genxd`` in subprocesses. Groups: ``images``, ``options``
(every numeric option of every command, from the typer app, with 0 / negative / NaN / inf / huge /
non-numbers, plus names and paths), ``outputs``, ``camera-files``, ``archives`` (``SafeZip`` from
Python: the documented ``ValueError`` naming the archive), ``scene-folders`` (``genxd reconstruct``),
``curate``, ``from-video``, ``kills``, ``full-disk``.

    python benchmarks/probe_bad_inputs.py --json probe.json --markdown probe.md     # everything
    python benchmarks/probe_bad_inputs.py --subset ci                                # the CI subset
    python benchmarks/probe_bad_inputs.py --only camera-files --verbose

The cases are built in ``benchmarks/probe_cases.py``; this script runs and checks them. Results:
``docs/robustness_probe.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the cases live beside this script

from probe_cases import ROOT, Case, all_cases  # noqa: E402

__all__ = ["Case", "Outcome", "Runner", "all_cases", "main", "markdown"]


@dataclass
class Outcome:
    id: str
    group: str
    what: str
    owner: str
    passed: bool | None  # None: skipped
    reason: str = ""
    exit_code: int | None = None
    stderr_tail: str = ""
    seconds: float = 0.0


def _snapshot(box: Path) -> dict[str, tuple]:
    """Everything in the sandbox except ``out/`` and the read-only folder: path -> (kind, size, mtime, mode)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(box, followlinks=False):
        rel = Path(dirpath).relative_to(box)
        if rel.parts[:1] in (("out",), ("ro",)):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if rel == Path(".") and name in ("out", "ro"):
                continue
            st = p.lstat()
            out[str(rel / name)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


@contextlib.contextmanager
def _full_disk(box: Path, size_kb: int | None):
    """``box/out/full``: a tmpfs of ``size_kb`` kB (root with ``mount``); yields False where none can be made."""
    if size_kb is None:
        yield True
        return
    full = box / "out" / "full"
    full.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(full)], capture_output=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", str(full)], capture_output=True)


def _half_written(folder: Path) -> list[str]:
    """Files under ``folder`` that a failed write left: temporaries, and mp4s that are cut short."""
    from genxd.utils.video import check_mp4_complete

    bad = []
    for p in sorted(folder.rglob("*")):
        if ".part" in p.name:
            bad.append(p.name)
        elif p.suffix == ".mp4" and p.is_file():
            try:
                check_mp4_complete(p)
            except OSError:
                bad.append(f"{p.name} (cut short)")
    return bad


@contextlib.contextmanager
def _read_only_folder(box: Path):
    """``box/ro``: a folder this process cannot write (chmod; as root a read-only tmpfs when allowed)."""
    ro = box / "ro"
    ro.mkdir()
    if os.geteuid() != 0:
        ro.chmod(0o555)
        try:
            yield True
        finally:
            ro.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)],
                             capture_output=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", str(ro)], capture_output=True)


class Runner:
    """Runs cases in this process (CliRunner), the model loaded once and reused."""

    def __init__(self, verbose: bool = False):
        import typer.main
        import typer.testing
        from typer.testing import CliRunner

        import genxd.api as api
        from genxd.cli import app

        self.runner = CliRunner()
        built = typer.main.get_command(app)  # once: building it takes a third of a second
        self._restore = [(api, "load_model", api.load_model)]
        if hasattr(typer.testing, "_get_command"):
            self._restore.append((typer.testing, "_get_command", typer.testing._get_command))
            typer.testing._get_command = lambda _app: built
        self.verbose = verbose
        self._cache: dict = {}
        real = api.load_model

        def cached(model, device=None, dtype=None, fast=None, compile_unet=False, **options):
            # load_model's keyword options (offload, allow_pickle, progress, ...) passed through and part of the key
            key = (str(model), str(device), str(dtype), fast, compile_unet, tuple(sorted(options.items())))
            if key not in self._cache:
                self._cache[key] = real(model, device, dtype, fast, compile_unet, **options)
            return self._cache[key]

        api.load_model = cached

    def close(self) -> None:
        """Undo the patches (the probe may run inside a test session)."""
        for owner, name, value in self._restore:
            setattr(owner, name, value)
        self._cache.clear()

    def cli(self, argv: list[str]):
        from genxd.cli import app

        res = self.runner.invoke(app, argv, catch_exceptions=True)
        crashed = res.exception is not None and not isinstance(res.exception, SystemExit)
        tb = "".join(traceback.format_exception(res.exception)) if crashed else ""
        return res.exit_code, res.stdout, res.stderr + tb, crashed

    def run(self, case: Case, workdir: Path) -> Outcome:
        box = Path(tempfile.mkdtemp(prefix=f"{case.id[:40]}.", dir=workdir))
        for sub in ("in", "out"):
            (box / sub).mkdir()
        keep = box / "out" / "keep"
        keep.mkdir()
        (keep / "result.txt").write_text("an earlier output")
        started = time.perf_counter()
        outcome = Outcome(case.id, case.group, case.what, case.owner, None)
        try:
            if case.skip:
                outcome.reason = f"skipped: {case.skip}"
                return outcome
            if case.setup is not None:
                case.setup(box)
            before = _snapshot(box)
            needs_ro = any("/ro" in a for a in (case.args(box) if callable(case.args) else case.args or []))
            with (_read_only_folder(box) if needs_ro else contextlib.nullcontext(True)) as ro_ok, \
                    _full_disk(box, case.disk_kb) as disk_ok:
                if not ro_ok:
                    outcome.reason = "skipped: cannot make a read-only folder here (root without mount)"
                    return outcome
                if not disk_ok:
                    outcome.reason = "skipped: cannot make a small disk here (needs root with mount)"
                    return outcome
                if case.expect == "python-error":
                    self._python(case, box, outcome)
                elif case.expect == "kill":
                    self._kill(case, box, outcome)
                else:
                    self._cli_case(case, box, outcome)
            after = _snapshot(box)
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            if case.id == "output-symlink-overwrite":  # the output is the link's target: replaced, as asked
                changed = [k for k in changed if k.split("/")[0] != "theirs"]
            if changed and outcome.passed:
                outcome.passed, outcome.reason = False, f"touched outside the output folder: {changed[:3]}"
            if (not keep.is_dir() or (keep / "result.txt").read_text() != "an earlier output") and outcome.passed:
                outcome.passed, outcome.reason = False, "an existing output was lost"
            return outcome
        except Exception as exc:  # noqa: BLE001 - the probe itself failed on this case
            outcome.passed, outcome.reason = False, f"probe error: {exc.__class__.__name__}: {exc}"
            return outcome
        finally:
            outcome.seconds = round(time.perf_counter() - started, 2)
            with contextlib.suppress(Exception):
                for p in box.rglob("*"):
                    if not p.is_symlink():
                        with contextlib.suppress(Exception):
                            p.chmod(0o755 if p.is_dir() else 0o644)
            shutil.rmtree(box, ignore_errors=True)
            if self.verbose:
                mark = {True: "PASS", False: "FAIL", None: "SKIP"}[outcome.passed]
                print(f"{mark} {case.id} ({outcome.seconds} s) {outcome.reason}", file=sys.stderr)

    def _cli_case(self, case: Case, box: Path, outcome: Outcome) -> None:
        argv = case.args(box) if callable(case.args) else list(case.args or [])
        code, stdout, stderr, crashed = self.cli(argv)
        outcome.exit_code, outcome.stderr_tail = code, stderr[-400:]
        if crashed or "Traceback" in stderr + stdout:
            outcome.passed, outcome.reason = False, "traceback"
            return
        if case.expect == "ok":
            parts = [p.name for p in (box / "out").rglob("*") if ".part" in p.name or p.name.endswith(".old")]
            if code != 0:
                outcome.passed, outcome.reason = False, f"exit {code}: {stderr.strip().splitlines()[-1:] or ''}"
            elif parts:
                outcome.passed, outcome.reason = False, f"temporaries left: {parts[:2]}"
            else:
                outcome.passed, outcome.reason = True, "written"
            if case.id == "output-symlink-overwrite" and outcome.passed:
                # the link stays and what it points to is replaced whole, as a real folder is (docs/cli.md, Outputs)
                theirs = box / "theirs"
                if not (box / "out" / "img").is_symlink() or not (theirs / "meta.json").is_file() \
                        or (theirs / "data.txt").exists():
                    outcome.passed, outcome.reason = False, "replaced the link, or wrote beside its target's files"
            if case.id == "output-collisions" and outcome.passed:
                names = sorted(p.name for p in (box / "out").iterdir() if p.name != "keep")
                if names != ["a_1", "a_jpg", "a_png"]:
                    outcome.passed, outcome.reason = False, f"folders {names}"
            return
        if case.expect == "full-disk":
            self._full_disk_outcome(case, box, outcome, code, stderr)
            return
        errors = [line for line in stderr.splitlines() if line.startswith("genxd: error:")]
        if code != 2:
            outcome.passed, outcome.reason = False, f"exit code {code}, expected 2"
        elif len(errors) != 1:
            outcome.passed, outcome.reason = False, f"{len(errors)} error lines"
        elif not all(n in errors[0] for n in case.names):
            outcome.passed, outcome.reason = False, f"error does not name {case.names}: {errors[0][:160]}"
        elif not all(d in stderr for d in case.detail):
            outcome.passed, outcome.reason = False, f"stderr does not hold {case.detail}: {stderr.strip()[:160]}"
        else:
            outcome.passed, outcome.reason = True, errors[0][:200]

    @staticmethod
    def _full_disk_outcome(case: Case, box: Path, outcome: Outcome, code: int, stderr: str) -> None:
        """A full disk: whole files and exit 0 (it fitted after all), or a non-zero exit with one error line naming
        ``case.names``; either way no half-written file in ``out/full``."""
        left = _half_written(box / "out" / "full")
        errors = [line for line in stderr.splitlines() if line.startswith("genxd: error:")]
        if left:
            outcome.passed, outcome.reason = False, f"half-written files left: {left[:3]}"
        elif code == 0:
            outcome.passed, outcome.reason = True, "it fitted: every file whole"
        elif len(errors) != 1:
            outcome.passed, outcome.reason = False, f"exit {code} with {len(errors)} error lines"
        elif not all(n in stderr for n in case.names + case.detail):
            outcome.passed, outcome.reason = False, f"stderr does not name {case.names + case.detail}: {errors[0][:160]}"
        else:
            outcome.passed, outcome.reason = True, errors[0][:200]

    def _python(self, case: Case, box: Path, outcome: Outcome) -> None:
        try:
            case.python(box)
        except ValueError as exc:
            text = str(exc)
            if "\n" in text.strip():
                outcome.passed, outcome.reason = False, "multi-line message"
            elif all(n in text for n in case.names):
                outcome.passed, outcome.reason = True, text[:200]
            else:
                outcome.passed, outcome.reason = False, f"ValueError not naming {case.names}: {text[:160]}"
        except Exception as exc:  # noqa: BLE001
            outcome.passed, outcome.reason = False, f"{exc.__class__.__name__} (not the documented ValueError): {str(exc)[:160]}"
        else:
            outcome.passed, outcome.reason = False, "accepted"

    def _kill(self, case: Case, box: Path, outcome: Outcome) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   OMP_NUM_THREADS="1")
        spec = case.kill
        if spec["existing"]:  # an earlier complete output that the killed --overwrite must not lose
            first = subprocess.run(spec["again"](box), env=env, capture_output=True, text=True, timeout=600)
            if first.returncode != 0:
                outcome.passed, outcome.reason = False, f"setup run failed: {first.stderr[-200:]}"
                return
        before = {p.name for p in (box / "out").iterdir()}
        olds = {p: (p / "meta.json").read_text() for p in (box / "out").iterdir() if (p / "meta.json").is_file()}
        proc = subprocess.Popen(spec["first"](box), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        killed = False
        deadline = time.time() + 600
        while proc.poll() is None and time.time() < deadline:
            if any(".part" in p.name for p in (box / "out").iterdir()):
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
            time.sleep(0.005)
        proc.wait()
        if not killed:
            outcome.passed, outcome.reason = None, "skipped: the run finished before it could be killed while writing"
            return
        again = subprocess.run(spec["again"](box), env=env, capture_output=True, text=True, timeout=600)
        outcome.exit_code, outcome.stderr_tail = again.returncode, again.stderr[-400:]
        left = [p.name for p in (box / "out").iterdir() if ".part" in p.name or p.name.endswith(".old")]
        for p in olds:  # the old output, or the complete new one that replaced it: never nothing
            try:
                json.loads((p / "meta.json").read_text())
            except (OSError, ValueError):
                outcome.passed, outcome.reason = False, f"the existing output {p.name} was lost"
                return
        if again.returncode != 0:
            outcome.passed, outcome.reason = False, f"rerun exit {again.returncode}"
        elif left:
            outcome.passed, outcome.reason = False, f"stale temporaries left after the rerun: {left[:2]}"
        elif "Traceback" in again.stderr:
            outcome.passed, outcome.reason = False, "traceback on rerun"
        else:
            outcome.passed, outcome.reason = True, f"killed while writing; rerun clean (had {sorted(before)})"


def markdown(outcomes: list[Outcome]) -> str:
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(o.group, []).append(o)
    lines = ["| group | cases | passed | failed | skipped |", "| --- | --- | --- | --- | --- |"]
    for g, items in groups.items():
        lines.append(f"| {g} | {len(items)} | {sum(o.passed is True for o in items)} | "
                     f"{sum(o.passed is False for o in items)} | {sum(o.passed is None for o in items)} |")
    lines.append(f"| **all** | **{len(outcomes)}** | **{sum(o.passed is True for o in outcomes)}** | "
                 f"**{sum(o.passed is False for o in outcomes)}** | **{sum(o.passed is None for o in outcomes)}** |")
    failed = [o for o in outcomes if o.passed is False]
    if failed:
        lines += ["", "| failed case | owner | why |", "| --- | --- | --- |"]
        lines += [f"| `{o.id}` | {o.owner} | {o.reason.replace('|', '/')[:160]} |" for o in failed]
    skipped = [o for o in outcomes if o.passed is None]
    if skipped:
        lines += ["", "Skipped: " + "; ".join(f"`{o.id}` ({o.reason})" for o in skipped)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subset", choices=["all", "ci"], default="all", help="ci: the fast subset run by the tests")
    ap.add_argument("--only", default=None, help="run only cases whose group or id contains this text")
    ap.add_argument("--json", type=Path, default=None, help="write every outcome here")
    ap.add_argument("--markdown", type=Path, default=None, help="write the outcome table here")
    ap.add_argument("--workdir", type=Path, default=None, help="where the sandboxes go (default: a temporary folder)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads for the in-process runs (default 1)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    import torch

    cases = all_cases()
    total = len(cases)
    if args.subset == "ci":
        cases = [c for c in cases if c.ci]
    if args.only:
        cases = [c for c in cases if args.only in c.group or args.only in c.id]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="genxd-probe."))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    runner = Runner(verbose=args.verbose)
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, args.threads))
    from tqdm.auto import tqdm

    try:  # a bar on stderr (--verbose prints a line per case instead)
        outcomes = [runner.run(c, workdir) for c in tqdm(cases, desc="cases", unit="case", disable=args.verbose)]
    finally:
        runner.close()
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - started
    table = markdown(outcomes)
    print(table)
    print(f"{len(outcomes)} of {total} cases run in {seconds:.0f} s", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({"cases_defined": total, "cases_run": len(outcomes), "seconds": round(seconds, 1),
                                         "outcomes": [asdict(o) for o in outcomes]}, indent=1) + "\n")
    if args.markdown:
        args.markdown.write_text(table)
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if all(o.passed is not False for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
