"""How output folders are named (never two the same) and when existing ones are refused.

Free of torch and numpy: the command line runs these checks before it imports the model code, so that
``genxd generate photo.png`` on an existing output fails at once instead of after seconds of imports.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Sequence

from . import validation as v
from .utils.command_line import rerun_command, run_hint
from .utils.io import WrittenMeanwhile, check_not_working_folder, check_output_file, output_target
from .utils.json_files import read_json_object
from .utils.messages import add_note, breaks_line
from .utils.paths import name_key, parts_below
from .utils.shared_work import launch_process


def plain_name(name: str) -> str:
    """``name`` with each control character or line / paragraph separator (a newline, a tab, ``U+2028`` ...)
    replaced by ``_``: an output folder named after an input stays one line where it is printed (one path a line
    on stdout, for scripts)."""
    return "".join("_" if breaks_line(c) else c for c in name)


def visible_name(name: str) -> str:
    """``name`` with a leading ``.`` replaced by ``_``: an output folder named after user data (an input's stem, a
    ReconFusion scene key) is never hidden, and never named as a temporary (``.NAME.HOST-PID-TAG.part``,
    :mod:`genxd.utils.io`) that the cleanup of a killed run's leftovers deletes (a scene key
    ``.x.HOST-1-abcdef12.part.y`` made such a group folder, deleted by the next run)."""
    return "_" + name[1:] if name.startswith(".") else name


def output_names(paths: Sequence[Path]) -> list[str]:
    """One output folder name per input, never two the same (also not up to letter case or Unicode normalisation:
    :func:`~genxd.utils.paths.name_key`).

    An input's name is its file stem (``photo.jpg`` -> ``photo``; control characters replaced by ``_``,
    :func:`plain_name`, and a leading ``.`` too, :func:`visible_name`); inputs whose stems clash get their
    extension added (``a.jpg``, ``a.png`` -> ``a_jpg``, ``a_png``), and any name still shared gets a short
    hash of the input's full path (``a_png_1f3e9c2a``). Deterministic: the same inputs give the same
    names, whatever the number of processes.
    """
    key = name_key  # one folder on macOS and Windows
    names = [visible_name(plain_name(p.stem)) or "_" for p in paths]
    counts = Counter(key(n) for n in names)
    names = [n if counts[key(n)] == 1 else f"{n}_{p.suffix.lstrip('.').lower() or 'noext'}" for n, p in zip(names, paths)]
    for _ in range(4):
        counts = Counter(key(n) for n in names)
        if all(c == 1 for c in counts.values()):
            return names
        names = [n if counts[key(n)] == 1 else
                 f"{n}_{hashlib.sha1(os.fsencode(os.path.abspath(p))).hexdigest()[:8]}" for n, p in zip(names, paths)]
    for i, n in enumerate(names):  # the same path twice (collect_images removes these): number them
        if sum(key(m) == key(n) for m in names[:i]) > 0:
            names[i] = f"{n}_{i}"
    return names


def safe_folder_name(name: str) -> str:
    """A name usable as one folder under the output folder (no separators, not ``.`` / ``..``), on one line where it
    is printed: control characters and line separators replaced by ``_`` (:func:`plain_name`, as ``output_names``;
    a ReconFusion scene key ``"a\\nb"`` made a folder whose name held the newline), and a leading ``.``
    (:func:`visible_name`: not hidden, not a temporary's name)."""
    name = plain_name(name.replace("/", "_").replace("\\", "_"))
    return "_" if name in ("", ".", "..") else visible_name(name)


def check_existing(folders: Sequence[Path], overwrite: bool, skip_existing: bool,
                   inputs: Sequence[str | os.PathLike | None] = ()) -> list[int]:
    """Indices of the outputs to write; refuse existing ones unless ``overwrite`` or ``skip_existing``, and one that
    ``overwrite`` would replace with an input of the run inside (``inputs``, :func:`check_inputs_kept`)."""
    if overwrite and skip_existing:
        raise v.InvalidValue(f"{v.arg('overwrite')} and {v.arg('skip_existing')} contradict each other: choose one")
    existing = [i for i, f in enumerate(folders) if os.path.lexists(f)]
    kept = set(existing) if skip_existing else set()
    if existing and not (overwrite or skip_existing):
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        several = len(existing) > 1
        raise FileExistsError(f"output already exists: {folders[existing[0]]}{more} ({v.overwrite_hint(them=several)}, "
                              f"or {v.skip_hint(them=several)})")
    if overwrite:  # an old output is deleted once the new one is in: it must be deletable, checked now
        for i in existing:
            f = output_target(folders[i])  # a link is kept and what it points to replaced: a dangling one refused
            check_not_working_folder(f, "output", "run from another folder, or write to another output folder")
            check_inputs_kept(folders[i], inputs, "output")  # generate cat/cat.jpg -o . --overwrite: cat/ replaced
            if f.is_dir() and not os.access(f, os.W_OK | os.X_OK):
                raise PermissionError(f"{folders[i]} cannot be replaced: the folder is not writable")
            if f != folders[i] and not os.access(f.parent, os.W_OK | os.X_OK):
                raise PermissionError(f"{folders[i]} cannot be replaced: it is a link to {f}, whose folder "
                                      f"{f.parent} is not writable")
    return [i for i in range(len(folders)) if i not in kept]


def outputs_to_write(folders: Sequence[Path], chosen: Sequence[int], overwrite: bool, skip_existing: bool,
                     inputs: Sequence[str | os.PathLike | None] = ()) -> tuple[list[int], list[int]]:
    """``(to write, kept)``: the indices ``chosen`` (a shard's) of the outputs ``folders`` split into those to write
    and those kept by ``skip_existing``, each in ``chosen``'s order (:func:`check_existing` refuses the rest)."""
    todo = {chosen[j] for j in check_existing([folders[i] for i in chosen], overwrite, skip_existing, inputs)}
    return [i for i in chosen if i in todo], [i for i in chosen if i not in todo]


#: ``meta.json``'s key for the input file's absolute path (``input`` is the path as given, often relative to the
#: working folder of its run): what :func:`check_kept_inputs` compares.
INPUT_PATH_KEY = "input_path"


def input_path_entry(path: object) -> dict[str, str]:
    """``{"input_path": ABSOLUTE PATH}`` for an input file, ``{}`` for an in-memory image: the entry a generated
    output's ``meta.json`` records beside ``input``."""
    return {INPUT_PATH_KEY: os.path.abspath(path)} if isinstance(path, (str, os.PathLike)) else {}


def recorded_input(folder: Path) -> str | None:
    """The absolute path of the input file ``folder``'s ``meta.json`` records (``input_path``; from older genxd only
    ``input``, used where it is absolute), else None."""
    meta = read_json_object(folder / "meta.json")
    for key in (INPUT_PATH_KEY, "input"):
        if isinstance(value := meta.get(key), str) and os.path.isabs(value):
            return value
    return None


def other_input(folder: Path, ours: object) -> str | None:
    """The input file ``folder``'s ``meta.json`` records (:func:`recorded_input`) where it is certainly another file
    than ``ours`` (it is there, and is not ``ours`` by any path or link), else None. In-memory images: None."""
    if not isinstance(ours, (str, os.PathLike)):
        return None
    recorded = recorded_input(folder)
    if recorded is None or not os.path.isfile(recorded):
        return None
    try:
        return None if os.path.samefile(recorded, ours) else recorded
    except OSError:
        return None


def check_kept_inputs(folders: Sequence[Path], kept: Sequence[int], inputs: Sequence[object]) -> None:
    """A ValueError for the first output kept by ``skip_existing`` whose ``meta.json`` records another input file
    than the one it would be kept for (``genxd generate day1/IMG_1.jpg -o out``, then ``genxd generate
    day2/IMG_1.jpg -o out --skip-existing``: the names come from the stems, and day2's photo was reported as done with
    day1's result). Only where it is certain (:func:`other_input`: the same file by another path or a link is this
    input's; an output of older genxd that recorded a relative path only, or of an in-memory image, is kept by name,
    as documented)."""
    for i in kept:
        ours = inputs[i]
        if isinstance(ours, (str, os.PathLike)) and (recorded := other_input(folders[i], ours)) is not None:
            raise v.InvalidValue(
                f"{folders[i]} holds the output of {recorded}, not of {os.fspath(ours)} (the two files have one "
                f"name): {v.arg('skip_existing')} would keep it as this input's; write to another output folder, or "
                f"replace it with {v.arg('overwrite')}")


class WrittenFromAnotherInput(WrittenMeanwhile):
    """An output another run wrote while this one worked, from another input file of the same name: neither kept as
    this input's result nor to be replaced (that would delete the other file's result)."""


class WrittenByOthers:
    """``skip_existing`` when other runs write the same output folder (the tasks of a job array): an output another
    run writes while this one works is kept, and recorded as skipped, not failed; one it wrote from another input
    file of the same name (``inputs``, where given) is this input's failure, saying so (:meth:`explained`)."""

    def __init__(self, folders: Sequence[Path], skip_existing: bool, inputs: Sequence[object] = ()) -> None:
        self.folders, self.skip_existing, self.inputs = folders, skip_existing, inputs

    def _other(self, i: int) -> str | None:
        return other_input(self.folders[i], self.inputs[i]) if i < len(self.inputs) else None

    def since_start(self, indices: Sequence[int]) -> list[int]:
        """Of ``indices``, the outputs written since the run looked (none without ``skip_existing``): not sampled.
        One of another input file (:meth:`from_another`) is not among them."""
        return [i for i in indices
                if self.skip_existing and os.path.lexists(self.folders[i]) and self._other(i) is None]

    def from_another(self, indices: Sequence[int]) -> dict[int, WrittenFromAnotherInput]:
        """Of ``indices``, the outputs another run has written from another input file of the same name since this
        run looked (``skip_existing`` only; without it the write finds them, :meth:`explained`): not sampled, each
        with its error."""
        if not self.skip_existing:
            return {}
        return {i: self._error(i, other) for i in indices if (other := self._other(i)) is not None}

    def _error(self, i: int, other: str) -> WrittenFromAnotherInput:
        given = self.inputs[i]
        assert isinstance(given, (str, os.PathLike))  # other_input found another file: this input is a path
        ours = os.fspath(given)
        return WrittenFromAnotherInput(
            f"{self.folders[i]} was written by another run from {other} while this one worked (another file of the "
            f"same name: outputs are named after the file's stem); it is kept, and this run's result for {ours} "
            f"discarded: write {ours} to another output folder ({v.arg('overwrite')} would replace the other file's "
            "result)")

    def explained(self, exc: BaseException, i: int) -> BaseException:
        """``exc``, raised writing output ``i``; where it says another run wrote that output meanwhile from another
        input file, an error that says so (the generic one suggested ``--overwrite``, which would replace the other
        file's result)."""
        if isinstance(exc, WrittenMeanwhile) and (other := self._other(i)) is not None:
            return self._error(i, other)
        return exc

    def kept(self, exc: BaseException) -> bool:
        """Whether ``exc``, writing an output, says another run wrote it meanwhile, and it is kept (not one of
        another input file: :meth:`explained`)."""
        return self.skip_existing and isinstance(exc, WrittenMeanwhile) and not isinstance(exc, WrittenFromAnotherInput)


@contextlib.contextmanager
def noting_written(written: Callable[[], int], total: int, out_dir: str | os.PathLike,
                   what: str = "scenes", *, overwrite: bool) -> Iterator[None]:
    """A Ctrl-C or SIGTERM (a job's time limit) within this block, after some of this process's ``total`` outputs
    were written and before all were, carries a note (``genxd: terminated: 1 of 3 scenes written in OUT; to
    continue, run: ... --skip-existing``): the same command again refuses the outputs written. In an ``overwrite``
    run the outputs not yet reached may still hold previous ones, which --skip-existing would keep: the note gives
    the same command, --overwrite kept, and says it makes the written ones again. An interrupt that already carries
    a note (a long path's windows kept, which says how to go on) is left as it is.

    In a process of a launch of several, ``total`` is its share: the note says so (``1 of this process's 3 scenes``)
    and to run the same launch (:func:`~genxd.utils.command_line.run_hint`), not the command alone."""
    try:
        yield
    except KeyboardInterrupt as exc:
        done = written()
        if 0 < done < total and not getattr(exc, "__notes__", None):
            how = _continue_hint(done, overwrite)
            share = "this process's " if launch_process() is not None else ""
            add_note(exc, f"{done} of {share}{total} {what} written in {out_dir}; to continue, {how}")
        raise


def _continue_hint(done: int, overwrite: bool) -> str:
    """How to go on after ``done`` outputs were written (:func:`noting_written`)."""
    if not overwrite:
        command = rerun_command(add=("--skip-existing",), drop=("--overwrite",))
        return run_hint(command) if command else "make the same call again with skip_existing=True"
    command = rerun_command()
    again = "{} makes the %d written again too; {} would keep the previous outputs of the others" % done
    if command:
        return f"{run_hint(command, same=True)} ({again.format('it', '--skip-existing')})"
    return f"make the same call again ({again.format('overwrite=True', 'skip_existing=True')})"


def check_inputs_kept(output: str | os.PathLike, inputs: Sequence[str | os.PathLike | None],
                      label: str = "output folder") -> None:
    """A ValueError when writing ``output`` would delete an input of the run: an output is written whole and renamed
    onto its path, replacing what was there, so an output that is an input (also through a symbolic link) or a
    folder holding one must be refused before the work (``genxd reconstruct SCENE -o SCENE --overwrite`` replaced
    the generated scene it had read by its reconstruction). ``None`` inputs are skipped."""
    for inp in inputs:
        if inp is None:
            continue
        below = parts_below(inp, output)  # both resolved: through symbolic links too
        if below is not None:
            what, replaced = ("is the input", "it") if below == () else ("holds the input", "that folder")
            raise ValueError(f"{label} {output} {what} {inp}: writing the output replaces {replaced}, and the input "
                             f"with it; give another output {'file' if 'file' in label else 'folder'}")


def existing_files_error(paths: Sequence[str | os.PathLike]) -> FileExistsError | None:
    """The error for those of the output files ``paths`` that exist (None if none), in the caller's terms
    (``... exists; pass --overwrite to replace it``, or ``overwrite=True`` from Python)."""
    existing = [str(p) for p in paths if os.path.lexists(p)]
    if not existing:
        return None
    one = len(existing) == 1
    return FileExistsError(f"{' and '.join(existing)} {'exists' if one else 'exist'}; "
                           f"{v.overwrite_hint('pass', them=not one)}")


def output_files_error(paths: Sequence[str | os.PathLike], overwrite: bool) -> OSError | None:
    """The error for the output files ``paths`` (names fixed by the command) before the work that writes them: one
    that is a folder, which no file replaces (the same line :func:`genxd.utils.file_groups.atomic_group` raises after
    the work), ``overwrite`` or not; else those that exist unless ``overwrite`` (:func:`existing_files_error`);
    None when they can be written."""
    for path in paths:
        if os.path.isdir(path) and not os.path.islink(path):
            return IsADirectoryError(f"{path} is a folder; cannot replace it with a file")
    return None if overwrite else existing_files_error(paths)


def check_report_file(out: str | os.PathLike, overwrite: bool, label: str = "out") -> None:
    """Before minutes of work: a report can be written at ``out`` (a file name whose folder is writable), and one
    there is refused unless ``overwrite`` (:func:`existing_files_error`); ``label`` names the argument."""
    check_output_file(out, label)
    if not overwrite and (error := existing_files_error([out])):
        raise error


def write_own_report(out: str | os.PathLike, report: dict, overwrite: bool,
                     written: os.stat_result | None) -> os.stat_result:
    """Write ``report`` to ``out``, replacing it only with ``overwrite`` or when it is this run's own last report
    (``written``: its stat then); one another run wrote meanwhile is kept (``FileExistsError``). Returns the new stat."""
    from .utils.io import written_meanwhile
    from .utils.json_files import write_json_atomic

    target = output_target(out)
    mine = False
    if written is not None and not overwrite:
        try:
            st = os.stat(target)
        except FileNotFoundError:
            st = None  # removed meanwhile: written again
        if st is not None and (st.st_ino, st.st_mtime_ns, st.st_size) != (written.st_ino, written.st_mtime_ns,
                                                                          written.st_size):
            raise written_meanwhile(Path(out))
        mine = st is not None
    write_json_atomic(out, report, overwrite=overwrite or mine)
    return os.stat(target)


def unique_labels(names: Sequence[str]) -> list[str]:
    """Names made unique (also up to letter case) by numbering repeats: ``x``, ``x_1`` ..."""
    taken: set[str] = set()
    out = []
    for n in names:
        cand, k = n, 0
        while name_key(cand) in taken:
            k += 1
            cand = f"{n}_{k}"
        taken.add(name_key(cand))
        out.append(cand)
    return out


__all__ = ["output_names", "plain_name", "visible_name", "check_existing", "outputs_to_write", "WrittenByOthers", "noting_written", "check_inputs_kept", "check_kept_inputs",
           "input_path_entry", "recorded_input", "other_input",
           "WrittenFromAnotherInput", "existing_files_error", "output_files_error", "check_report_file", "write_own_report",
           "safe_folder_name", "unique_labels"]
