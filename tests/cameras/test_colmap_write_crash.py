"""write_colmap_model over an existing model (genxd trajectory --format colmap --overwrite, a dataset written again)
replaces it whole: a stop (Ctrl-C) or a kill at any rename leaves the old model or the new one, never a mix of
their files. Before, the files were renamed in one by one over the old ones (rigs.bin / frames.bin deleted
first): a stop between them left the new cameras.bin beside the old images.bin, read back without an error."""

from __future__ import annotations

import os

import pytest
import torch

from genxd.cameras.colmap import read_colmap_model, write_colmap_model
from genxd.utils import io as io_module

pytest.importorskip("pycolmap")

H, W = 48, 64


def _model(seed: int, n: int) -> tuple[torch.Tensor, torch.Tensor, list[str], torch.Tensor]:
    """``n`` cameras with poses and focal lengths of their own, and ``n + 2`` points (two models share none)."""
    g = torch.Generator().manual_seed(seed)
    c2w = torch.eye(4).repeat(n, 1, 1)
    c2w[:, :3, 3] = torch.rand(n, 3, generator=g) * 4 - 2
    angle = torch.rand(n, generator=g) * 3
    c2w[:, 0, 0], c2w[:, 0, 2], c2w[:, 2, 0], c2w[:, 2, 2] = angle.cos(), angle.sin(), -angle.sin(), angle.cos()
    K = torch.tensor([[0.8, 0, 0.5], [0, 1.1, 0.5], [0, 0, 1.0]]).repeat(n, 1, 1)
    K[:, 0, 0] += torch.rand(n, generator=g) * 0.5
    names = [f"{i:05d}.png" for i in range(n)]
    return c2w, K, names, torch.rand(n + 2, 3, generator=g, dtype=torch.float64)


OLD, NEW = _model(1, 4), _model(2, 4)  # as many images: a mix of their files reads without an error


def _which(model_dir) -> str:
    """"old" or "new": the whole model read back is that one (anything else fails the test)."""
    got = read_colmap_model(model_dir)
    for label, (c2w, K, names, xyz) in (("old", OLD), ("new", NEW)):
        # float32 read back from the float64 files: ~1e-7 apart
        if (got.image_names == names and torch.allclose(got.c2w, c2w, atol=1e-5) and torch.allclose(got.K, K, atol=1e-5)
                and torch.allclose(got.points_xyz.double(), xyz, atol=1e-5)):
            return label
    raise AssertionError(f"a mix of the two models: {got.c2w[:, :3, 3].tolist()}, {got.points_xyz.tolist()}")


def _stopping(monkeypatch, call: int, dead: bool) -> list:
    """``os.replace`` and ``os.rename`` raise KeyboardInterrupt at their ``call``-th use together (1-based);
    ``dead``: at every use from then on (a killed process does nothing more: no rollback runs)."""
    calls: list = []
    for name in ("replace", "rename"):
        real = getattr(os, name)

        def stopping(*args, _real=real, **kwargs):
            calls.append(args)
            if len(calls) == call or (dead and len(calls) > call):
                raise KeyboardInterrupt
            return _real(*args, **kwargs)

        monkeypatch.setattr(os, name, stopping)
    return calls


@pytest.mark.parametrize("dead", [False, True], ids=["ctrl-c", "kill"])
@pytest.mark.parametrize("call", [1, 2, 3, 4, 5, 6])
def test_a_stop_at_any_rename_leaves_the_old_model_or_the_new_one(tmp_path, monkeypatch, call, dead):
    model = tmp_path / "m"
    write_colmap_model(model, *OLD[:2], H, W, OLD[2], OLD[3], keep_rigs_and_frames=True)
    (model / "notes.txt").write_text("the user's")
    calls = _stopping(monkeypatch, call, dead)
    try:
        write_colmap_model(model, *NEW[:2], H, W, NEW[2], NEW[3])
        stopped = False
    except KeyboardInterrupt:
        stopped = True
    monkeypatch.undo()
    if dead:  # the next run: the process that set the old model aside is gone
        monkeypatch.setattr(io_module, "_writer_alive", lambda pid, modified: False)
    label = _which(model)  # "old" or "new", whole
    if not stopped:  # fewer renames than ``call``
        assert label == "new" and len(calls) < call and not (model / "rigs.bin").exists()
    assert (model / "notes.txt").read_text() == "the user's"  # what else the folder held is kept either way
    write_colmap_model(model, *NEW[:2], H, W, NEW[2], NEW[3])  # and the next write goes through, leaving no temporary
    assert _which(model) == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_a_writer_stopped_part_way_leaves_the_old_model(tmp_path, monkeypatch):
    import pathlib

    model = tmp_path / "m"
    write_colmap_model(model, *OLD[:2], H, W, OLD[2], OLD[3])

    def stopping(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pathlib.Path, "write_text", stopping)  # project.ini, after the .bin files
    with pytest.raises(KeyboardInterrupt):
        write_colmap_model(model, *NEW[:2], H, W, NEW[2], NEW[3])
    monkeypatch.undo()
    assert _which(model) == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_a_model_through_a_link_replaces_what_it_points_to(tmp_path):
    elsewhere = tmp_path / "disk" / "m"
    write_colmap_model(elsewhere, *OLD[:2], H, W, OLD[2], OLD[3])
    (tmp_path / "m").symlink_to(elsewhere)
    write_colmap_model(tmp_path / "m", *NEW[:2], H, W, NEW[2], NEW[3])
    assert (tmp_path / "m").is_symlink() and _which(elsewhere) == "new"


def test_the_current_folder_gets_a_new_model_and_refuses_to_replace_one(tmp_path, monkeypatch):
    """A model written into the folder the process is in (``--out .``) cannot be renamed into place: written in when
    there is no model to mix with, refused in one line when there is one (before, replaced file by file)."""
    monkeypatch.chdir(tmp_path)
    write_colmap_model(".", *OLD[:2], H, W, OLD[2], OLD[3])
    assert _which(tmp_path) == "old"
    for where in (".", tmp_path):  # named from outside too
        with pytest.raises(ValueError, match=r"^COLMAP model folder .* is the current folder; .*: it holds a model, "
                                             r"replaced whole: write it from the folder above$"):
            write_colmap_model(where, *NEW[:2], H, W, NEW[2], NEW[3])
    assert _which(tmp_path) == "old" and sorted(p.name for p in tmp_path.iterdir()) == [
        "cameras.bin", "images.bin", "points3D.bin", "project.ini"]
    monkeypatch.chdir(tmp_path.parent)
    write_colmap_model(tmp_path.name, *NEW[:2], H, W, NEW[2], NEW[3])
    assert _which(tmp_path) == "new"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_replaced_model_folder_keeps_its_permissions(tmp_path):
    """The new model is a new folder renamed onto the old one: it had the umask's permissions (0o700 -> 0o755 under
    umask 022: a private model folder and the user's files in it readable by everyone; a group-writable one no longer
    writable by the group)."""
    import stat

    model = tmp_path / "m"
    write_colmap_model(model, *OLD[:2], H, W, OLD[2], OLD[3])
    for mode in (0o700, 0o2770):  # private; a group's shared folder (setgid: its files get the folder's group)
        os.chmod(model, mode)
        write_colmap_model(model, *NEW[:2], H, W, NEW[2], NEW[3])
        assert oct(stat.S_IMODE(os.stat(model).st_mode)) == oct(mode)
    assert _which(model) == "new"


def _unrenamable(monkeypatch, model, why: str) -> None:
    """``model`` as a user without root sees it where its parent is read-only (``why="parent"``: no temporary folder
    can be made beside it, nor may it be renamed) or where it is a mount point (``"mount"``: a Docker volume, a
    disk; it cannot be renamed, EBUSY)."""
    import errno

    real_mkdir, real_rename, real_access, real_ismount = os.mkdir, os.rename, os.access, os.path.ismount
    parent = os.path.realpath(model.parent)

    def mkdir(path, *args, **kwargs):
        if why == "parent" and os.path.dirname(os.path.realpath(path)) == parent:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_mkdir(path, *args, **kwargs)

    def rename(src, dst, *args, **kwargs):
        if os.path.realpath(src) == os.path.realpath(model):
            raise OSError(errno.EACCES if why == "parent" else errno.EBUSY, "cannot rename", str(src))
        return real_rename(src, dst, *args, **kwargs)

    def access(path, mode, *args, **kwargs):
        if why == "parent" and os.path.realpath(path) == parent and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(os.path, "ismount", lambda p: (why == "mount" and os.path.realpath(p) == os.path.realpath(
        model)) or real_ismount(p))


@pytest.mark.parametrize("why", ["parent", "mount"])
def test_a_model_folder_that_cannot_be_renamed_is_written_in_or_refused_in_one_line(tmp_path, monkeypatch, why):
    """A model folder whose parent is read-only (a shared dataset's VIDEO/0 the user may write in) or that is a mount
    point (a Docker volume) cannot be replaced by a rename: a model was written into it before 2026-12-06, then the
    write failed ('Permission denied: .../.0.HOST-PID-TAG.part', or 'Device or resource busy' after the old folder's
    files were linked or copied). As for the working folder: written in when it holds no model, refused in one line
    when it holds one."""
    model = tmp_path / "0"
    model.mkdir()
    (model / "notes.txt").write_text("the user's")
    _unrenamable(monkeypatch, model, why)
    write_colmap_model(model, *OLD[:2], H, W, OLD[2], OLD[3])
    assert _which(model) == "old" and (model / "notes.txt").read_text() == "the user's"
    said = "its folder is read-only" if why == "parent" else "it is a mount point"
    with pytest.raises(PermissionError if why == "parent" else OSError,
                       match=rf"^COLMAP model folder {model} holds a model and cannot be replaced whole \({said}: the "
                             r"new model is built beside it and renamed onto it\); remove its cameras.bin, images.bin "
                             r"and points3D.bin to write the new one in, or write to another folder$"):
        write_colmap_model(model, *NEW[:2], H, W, NEW[2], NEW[3])
    assert _which(model) == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["0"]


@pytest.mark.parametrize("how", ["another machine", "read-only folder"])
def test_a_model_left_aside_by_a_killed_replacement_is_named_with_how_to_restore_it(tmp_path, monkeypatch, how):
    """A replacement killed between its two renames leaves the old model in ``.NAME.HOST-PID-TAG.old``; the next read
    puts it back, except where it cannot (killed on another machine sharing the folder; a read-only dataset): the
    read said only 'no such COLMAP model folder', the model hidden beside it."""
    import shlex

    model = tmp_path / "0"
    write_colmap_model(model, *OLD[:2], H, W, OLD[2], OLD[3])
    host = "otherhost" if how == "another machine" else io_module._host()
    aside = tmp_path / f".0.{host}-{os.getpid() + 1}-0123abcd.old"
    os.rename(model, aside)
    if how == "read-only folder":  # as a user without root sees it: the rename back fails
        monkeypatch.setattr(io_module, "_writer_alive", lambda pid, modified: False)
        real_rename = os.rename

        def rename(src, dst, *args, **kwargs):
            if os.path.dirname(os.path.realpath(dst)) == os.path.realpath(tmp_path):
                raise PermissionError(13, "Permission denied", str(src))
            return real_rename(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(FileNotFoundError) as caught:
        read_colmap_model(model)
    assert str(caught.value) == (
        f"{model}: no such COLMAP model folder; the model is in {aside}, set aside by a replacement that was stopped "
        f"(on another machine, or in a read-only folder): rename it back to restore it (mv {shlex.quote(str(aside))} "
        f"{shlex.quote(str(model))})")
    monkeypatch.undo()
    os.rename(aside, model)  # as the message says
    assert _which(model) == "old"
    with pytest.raises(FileNotFoundError, match=r"0x: no such COLMAP model folder$"):  # nothing aside: as before
        read_colmap_model(tmp_path / "0x")


def test_a_bind_mount_of_the_same_disk_is_written_in_as_a_mount_point(tmp_path, monkeypatch):
    """A model folder bind-mounted from a folder of the same disk (``mount --bind``, a Docker volume on Linux) is a mount
    point that ``os.path.ismount`` does not tell (one device): it was taken as renamable, and the rename refused
    (EBUSY; since genxd.utils.mount_points, atomic_dir's "is a mount point"). Found in the mount table, it is written
    in, as a mount point ismount tells."""
    import errno

    import genxd.utils.mount_points as mount_points

    model = tmp_path / "0"
    model.mkdir()
    table = tmp_path / "mountinfo"
    table.write_bytes(b"40 22 254:0 /src %s rw,relatime - ext4 /dev/vda rw\n" % os.fsencode(model))
    monkeypatch.setattr(mount_points, "MOUNT_INFO", str(table))
    real_rename = os.rename

    def rename(src, dst, *args, **kwargs):
        if os.path.realpath(model) in (os.path.realpath(src), os.path.realpath(dst)):
            raise OSError(errno.EBUSY, "Device or resource busy", str(src))
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "replace", rename)
    assert not os.path.ismount(model)
    write_colmap_model(model, *OLD[:2], H, W, OLD[2], OLD[3])
    assert _which(model) == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["0", "mountinfo"]
