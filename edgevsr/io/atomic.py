"""Every output is checked before work starts, written under a unique temporary name beside it, and renamed
into place only when complete.

The rules (docs/reliability.md), in one place so every writing command gets them:

- an output that is, contains, or sits inside one of the command's inputs is refused (paths are compared
  after resolving links, and by inode, so symlinks and hard links do not get past);
- an existing file or non-empty folder is refused unless ``overwrite`` (:func:`check_output`, which every
  command calls before it works); even then only a regular file, or a folder holding nothing but what edgevsr
  writes (frames, videos, JSON), is replaced: a device, FIFO or socket never, a folder of other files never;
- even with ``overwrite`` the old output is moved aside only once the new one is complete, and removed
  only after the new one is in place: the tool never removes anything before its replacement exists;
- temporary names carry the process id and a random part (``mkstemp``/``mkdtemp``), so two runs never
  share one and a run never adopts a temp left by another; a failure (exception, SIGTERM, SIGHUP: see
  :mod:`edgevsr.io.signals`) removes only the temp this run created.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from edgevsr.errors import EdgeVSRError, first_line

_UMASK: int | None = None


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK


def check_writable(path: Path) -> None:
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise EdgeVSRError(f"{path}: output folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise EdgeVSRError(f"{path}: output folder {parent} is not writable")


def _resolved(path: Path) -> Path:
    """The absolute path with links resolved (for a path that does not exist yet: its parent resolved)."""
    return path.resolve() if path.exists() or path.is_symlink() else path.parent.resolve() / path.name


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _contains(folder: Path, inner: Path) -> bool:
    """Is ``inner`` (resolved) ``folder`` or below it? Compared by inode along inner's parents."""
    if not folder.is_dir():
        return False
    return any(_same(p, folder) for p in (inner, *inner.parents) if p.exists())


def check_not_input(output: Path, inputs: Iterable[str | Path | None]) -> None:
    """Refuse an output equal to an input, inside an input folder, or a folder holding an input."""
    out = _resolved(Path(output))
    for given in inputs:
        if given is None or str(given) == "" or "://" in str(given):
            continue
        inp = Path(given)
        if not inp.exists():
            continue
        src = inp.resolve()
        if out.exists() and _same(out, src):
            raise EdgeVSRError(f"{output}: is the input {given} (same file after resolving links); "
                               "choose another output")
        if _contains(src, out):
            raise EdgeVSRError(f"{output}: is inside the input folder {given}; choose an output outside it")
        if out.exists() and _contains(out, src):
            raise EdgeVSRError(f"{output}: holds the input {given}; choose an output that does not contain it")


OURS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".mp4", ".m4v", ".mov", ".mkv", ".webm",
        ".y4m", ".json"}  # what edgevsr writes into an output folder: frames, videos, scores


def _special(path: Path) -> str | None:
    """What ``path`` (links followed) is when it is neither a regular file nor a folder, else None."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    for test, name in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return None


def _foreign(folder: Path) -> Path | None:
    """The first entry under ``folder`` that edgevsr would not have written there (None: all ours)."""
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames:
            if (Path(dirpath) / name).is_symlink():
                return Path(dirpath) / name
        for name in filenames:
            p = Path(dirpath) / name
            if p.is_symlink() or not p.is_file() or p.suffix.lower() not in OURS:
                return p
    return None


def check_distinct(*outputs: str | Path | None) -> None:
    """Two outputs of one command naming the same file (after resolving links): the second would replace the
    first, so the command is refused before it starts."""
    seen: set[Path] = set()
    for given in outputs:
        if given is None or str(given) == "":
            continue
        resolved = _resolved(Path(given))
        if resolved in seen:
            raise EdgeVSRError(f"{given}: named for two outputs of this command; the second would replace the "
                               "first (give each its own name)")
        seen.add(resolved)


def check_output(path: str | Path, *, inputs: Iterable[str | Path | None] = (), is_dir: bool = False,
                 overwrite: bool = False, flag: str | None = "--overwrite", existing_file_ok: bool = False) -> Path:
    """Everything that can be known before the work starts: call it before loading a model.

    ``flag`` is the option that allows replacing (None: the command has none, so the message does not offer
    it); ``existing_file_ok`` is for files a command rewrites by design (caches, checkpoints).
    """
    path = Path(path)
    if str(path) == "-":
        raise EdgeVSRError("-o -: edgevsr does not write to stdout; give a file or folder name")
    check_writable(path)
    check_not_input(path, inputs)
    if path.is_symlink() and not path.exists():
        raise EdgeVSRError(f"{path}: is a broken symbolic link; remove it or choose another output")
    special = _special(path)
    if special:
        raise EdgeVSRError(f"{path}: is {special}, not a regular file or folder; edgevsr never replaces it, "
                           "choose another output")
    if path.exists() and not (overwrite or (existing_file_ok and path.is_file() and not is_dir)):
        _refuse_existing(path, is_dir, flag)
    if path.is_dir() and overwrite:
        foreign = _foreign(path)
        if foreign is not None:
            raise EdgeVSRError(f"{path}: holds {foreign.name}, which edgevsr did not write; not replacing this "
                               "folder even with --overwrite (choose another output)")
    return path


def _refuse_existing(path: Path, is_dir: bool, flag: str | None = "--overwrite") -> None:
    hint = f" (or {flag})" if flag else " (or remove it first)"
    if path.is_dir() and not is_dir:
        raise EdgeVSRError(f"{path}: is an existing folder, a file would replace it; choose another name{hint}")
    if is_dir and not path.is_dir():
        raise EdgeVSRError(f"{path}: is an existing file, a folder would replace it; choose another name{hint}")
    if is_dir and any(path.iterdir()):
        raise EdgeVSRError(f"{path}: folder exists and is not empty; choose another{hint}"
                           + (" (the old folder is replaced only once the new one is complete)" if flag else ""))
    if not is_dir:
        raise EdgeVSRError(f"{path}: exists; choose another name{hint}"
                           + ("; the old file is replaced only once the new one is complete" if flag else ""))


def make_temp(path: str | Path, is_dir: bool = False) -> Path:
    """A new, unique temp beside ``path`` (same folder: the final rename is atomic), owned by this run."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    prefix = f".{path.stem}.{os.getpid()}-"
    try:
        if is_dir:
            tmp = tempfile.mkdtemp(prefix=prefix, suffix=".partial", dir=parent)
            os.chmod(tmp, 0o777 & ~_umask())
        else:
            fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=f".partial{path.suffix}", dir=parent)
            os.close(fd)
            os.chmod(tmp, 0o666 & ~_umask())
    except OSError as exc:
        raise EdgeVSRError(f"{path}: cannot create a file beside it ({exc.strerror})") from None
    return Path(tmp)


def discard(tmp: Path) -> None:
    """Remove a temp this run created (never anything else)."""
    with contextlib.suppress(OSError):
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def commit(tmp: Path, path: Path, overwrite: bool = False) -> None:
    """Rename the complete ``tmp`` onto ``path``; an old output is moved aside first and removed last.

    Without ``overwrite`` nothing that appeared meanwhile is replaced (files are linked into place, which
    fails on an existing name); a special file is never replaced.
    """
    is_dir = tmp.is_dir()
    _umask_mode(tmp, is_dir)
    special = _special(path)
    if special:
        raise EdgeVSRError(f"{path}: is {special} (appeared while we worked); kept it, discarded ours")
    if path.exists() or path.is_symlink():
        if not overwrite:
            if path.is_dir() != is_dir or (is_dir and any(path.iterdir())):
                raise EdgeVSRError(f"{path}: another run wrote this output meanwhile; kept it, discarded ours")
        if is_dir or path.is_dir():
            if path.is_dir() and not any(path.iterdir()) and is_dir:
                os.rename(tmp, path)  # an empty folder is replaced atomically by rename(2)
                return
            aside = make_temp(path, is_dir=True)
            os.rmdir(aside)
            os.rename(path, aside)
            try:
                os.rename(tmp, path)
            except OSError:
                os.rename(aside, path)  # put the old output back
                raise
            discard(aside)
            return
    try:
        if is_dir:
            os.rename(tmp, path)
        elif overwrite:
            os.replace(tmp, path)
        else:
            _link_into_place(tmp, path)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise EdgeVSRError(f"{path}: another run wrote this output meanwhile; kept it, discarded ours") from None
        raise


def _umask_mode(tmp: Path, is_dir: bool) -> None:
    """Give the finished temp the mode a new output gets under the umask, whoever wrote it: a writer that puts its
    own file in the temp's place (safetensors' ``save_file`` writes a private 0600 file and renames it over ours)
    would otherwise hand that mode to the output."""
    if not tmp.is_symlink():
        os.chmod(tmp, (0o777 if is_dir else 0o666) & ~_umask())


def _link_into_place(tmp: Path, path: Path) -> None:
    """Rename that never replaces: link(2) fails on an existing name; filesystems without hard links fall back
    to a checked rename (a tiny window, the best they allow)."""
    try:
        os.link(tmp, path)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if path.exists() or path.is_symlink():
            raise FileExistsError(errno.EEXIST, "exists", str(path)) from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, is_dir: bool = False, overwrite: bool = False,
                inputs: Iterable[str | Path | None] = (), existing_file_ok: bool = True) -> Iterator[Path]:
    """Yield a fresh temp beside ``path``; on success rename it onto ``path``, on any failure remove it.

    Write errors inside the block (disk full, I/O error) become one-line errors naming ``path``. A regular
    file is replaced by default: this is the low-level writer of caches and checkpoints, and user-facing
    commands refuse existing outputs up front with :func:`check_output` (pass ``existing_file_ok=False`` to
    refuse here too).
    """
    path = check_output(path, inputs=inputs, is_dir=is_dir, overwrite=overwrite, existing_file_ok=existing_file_ok)
    tmp = make_temp(path, is_dir)
    try:
        try:
            yield tmp
        except OSError as exc:
            raise write_error(path, exc) from None
        commit(tmp, path, overwrite or (existing_file_ok and not is_dir))
    except BaseException:
        discard(tmp)
        raise


def write_error(path: Path, exc: BaseException) -> EdgeVSRError:
    """One line naming the output and the OS's reason (disk full, I/O error, file too large ...)."""
    reason = getattr(exc, "strerror", None) or first_line(exc)
    return EdgeVSRError(f"{path}: write failed ({reason}); nothing written")


def write_bytes(path: Path, data: bytes, name: Path | None = None) -> None:
    """Write ``data`` to ``path`` (a temp), raising a one-line error naming ``name`` on any failed write."""
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise write_error(name or path, exc) from None


@contextlib.contextmanager
def new_folder(path: str | Path) -> Iterator[Path]:
    """``mkdir -p path`` for a folder the command fills in place (a report and its resumable cache): on
    failure, folders this call created are removed again if they are still empty (files are never touched)."""
    path = Path(path)
    made = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    try:
        yield path
    except BaseException:
        for folder in made:  # deepest first
            for dirpath, _, _ in sorted(os.walk(folder), key=lambda t: -len(t[0])):
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)  # only succeeds on an empty folder
        raise
