"""Fetch a pinned uv binary from PyPI using only the standard library.

Why: `make` must work on a bare machine with just Python 3.11+, where
`python3 -m venv` may lack ensurepip and the system pip may refuse installs
(PEP 668). uv ships as a wheel holding one static binary, so unzipping it is
enough; the download is checked against the SHA-256 that PyPI publishes.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import stat
import sys
import urllib.request
import zipfile
from pathlib import Path

UV_VERSION = "0.13.9"
INDEX = "https://pypi.org/simple/uv/"  # PEP 691 JSON form of the simple index


def wheel_tag() -> str:
    system, machine = platform.system(), platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if system == "Linux":
        libc = platform.libc_ver()[0]
        if libc == "glibc" or not libc:
            return f"manylinux_2_17_{arch}"
        return f"musllinux_1_1_{arch}"
    if system == "Darwin":
        return "macosx_11_0_arm64" if arch == "aarch64" else "macosx_10_12_x86_64"
    sys.exit(f"bootstrap_uv: unsupported platform {system}/{machine}; install uv yourself")


def main(target: Path) -> None:
    request = urllib.request.Request(INDEX, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    files = json.load(urllib.request.urlopen(request, timeout=60))["files"]
    prefix, tag = f"uv-{UV_VERSION}-py3-none-", wheel_tag()
    candidates = [
        f
        for f in files
        if f["filename"].startswith(prefix) and tag in f["filename"] and f["filename"].endswith(".whl")
    ]
    if not candidates:
        sys.exit(f"bootstrap_uv: no uv {UV_VERSION} wheel for {tag}")
    wheel = candidates[0]
    data = urllib.request.urlopen(wheel["url"], timeout=300).read()
    if hashlib.sha256(data).hexdigest() != wheel["hashes"]["sha256"]:
        sys.exit("bootstrap_uv: checksum mismatch, refusing to use the download")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        member = next(n for n in archive.namelist() if n.endswith("/scripts/uv"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(archive.read(member))
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    print(f"bootstrap_uv: installed uv {UV_VERSION} at {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ".tools/bin/uv"))
