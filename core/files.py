"""Files the product serves (exports, bundles) are replaced whole, never seen half-written; lines
kept outside the database are appended durably."""

from __future__ import annotations

import fcntl
import os
import secrets
from contextlib import contextmanager, suppress
from pathlib import Path


@contextmanager
def written_whole(target: Path, mode: str = "wb", **open_kwargs):
    """Open a new file next to `target` for writing; on success it replaces `target` in one rename.

    Whoever opens `target` meanwhile (a download, a second run of the same job) gets the previous
    file or none, never a part: writing in place would truncate a file someone may be reading,
    and two runs writing one path interleave. The temporary name is unique per writer, and is
    removed if writing fails.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Created as open() creates files (the umask decides, as before), not mkstemp's owner-only
    # mode: a web process running as another user than the worker must still read it.
    temporary = target.parent / f".{target.name}.{secrets.token_hex(8)}.partial"
    out = open(temporary, mode.replace("w", "x"), **open_kwargs)  # noqa: SIM115 (closed below)
    try:
        with out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def append_line(target: Path, line: str) -> None:
    """Append one line and wait until it is on disk; writers at once take turns (flock)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a", encoding="utf-8") as out:
        fcntl.flock(out, fcntl.LOCK_EX)
        out.write(line.rstrip("\n") + "\n")
        out.flush()
        os.fsync(out.fileno())
