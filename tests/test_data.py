"""Data assets: lookup order, clear errors, verified atomic downloads from a loopback server."""

from __future__ import annotations

import hashlib
import http.server
import threading
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from a2perf_core.cli import main
from a2perf_core.data import asset_path, fetch, git_blob_id, locate
from a2perf_core.errors import ChecksumError, DataMissingError
from a2perf_core.hookspecs import hookimpl
from a2perf_core.plugins import PluginInfo
from a2perf_core.specs import DataAsset

CONTENT = b"node { name: 'm0' }\n" * 1000


@pytest.fixture
def server(tmp_path: Path):
    """A loopback HTTP server over a folder holding one good file and one corrupted copy."""
    root = tmp_path / "served"
    root.mkdir()
    (root / "good.txt").write_bytes(CONTENT)
    (root / "bad.txt").write_bytes(CONTENT[:-1] + b"X")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def asset(url: str = "", **kw) -> DataAsset:
    defaults = dict(
        name="toy-netlist",
        path="toy/design/netlist.pb.txt",
        url=url,
        sha256=hashlib.sha256(CONTENT).hexdigest(),
        size=len(CONTENT),
    )
    return DataAsset(**{**defaults, **kw})


@pytest.fixture
def roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    first, second, cache = tmp_path / "first", tmp_path / "second", tmp_path / "cache"
    monkeypatch.setenv("A2PERF_DATA_PATH", f"{first}:{second}")
    monkeypatch.setenv("A2PERF_CACHE_DIR", str(cache))
    return first, second, cache


def place(root: Path, relative: str, content: bytes = CONTENT) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_lookup_order_search_path_then_cache(roots):
    first, second, cache = roots
    a = asset()
    assert locate(a) is None
    in_cache = place(cache, a.path)
    assert locate(a) == in_cache
    in_second = place(second, a.path)
    assert locate(a) == in_second
    in_first = place(first, a.path)
    assert locate(a) == in_first


def test_fetch_downloads_verifies_and_caches(roots, server):
    _, _, cache = roots
    seen = []
    path = fetch(asset(f"{server}/good.txt"), progress=lambda done, total: seen.append((done, total)))
    assert path == cache / "toy/design/netlist.pb.txt"
    assert path.read_bytes() == CONTENT
    assert seen[-1] == (len(CONTENT), len(CONTENT))
    assert not list(path.parent.glob("*.part"))


def test_corrupted_download_is_rejected_and_not_left_in_cache(roots, server):
    _, _, cache = roots
    with pytest.raises(ChecksumError, match="toy-netlist"):
        fetch(asset(f"{server}/bad.txt"))
    assert not (cache / "toy").exists() or not any(p.is_file() for p in (cache / "toy").rglob("*"))


def test_git_blob_checksum(roots, server):
    assert git_blob_id(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"  # git hash-object
    good = asset(f"{server}/good.txt", sha256="", git_blob=git_blob_id(CONTENT))
    assert fetch(good).read_bytes() == CONTENT
    with pytest.raises(ChecksumError):
        fetch(asset(f"{server}/bad.txt", path="toy/other.txt", sha256="", git_blob=git_blob_id(CONTENT)))


def test_unverifiable_asset_is_not_downloaded(roots, server):
    with pytest.raises(ChecksumError, match="no checksum"):
        fetch(asset(f"{server}/good.txt", sha256=""))


def asset_plugin(url: str):
    module = types.ModuleType("toydata")

    @hookimpl
    def a2perf_register_data_assets(register):
        register(asset(url, license="CC0"))

    module.a2perf_register_data_assets = a2perf_register_data_assets
    return module, PluginInfo("toydata", "dist-toydata", "0")


def test_missing_asset_error_says_how_to_fix(roots, a2perf_plugins):
    a2perf_plugins(asset_plugin("http://127.0.0.1:9/none"))
    with pytest.raises(DataMissingError) as excinfo:
        asset_path("toy-netlist")
    message = str(excinfo.value)
    assert "a2perf data fetch toy-netlist" in message and "A2PERF_DATA_PATH" in message


def test_cli_data_list_and_fetch(roots, server, a2perf_plugins):
    _, _, cache = roots
    a2perf_plugins(asset_plugin(f"{server}/good.txt"))
    runner = CliRunner()
    listed = runner.invoke(main, ["data", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert '"found": null' in listed.output and '"license": "CC0"' in listed.output
    fetched = runner.invoke(main, ["data", "fetch", "toy-netlist"])
    assert fetched.exit_code == 0, fetched.output
    assert (cache / "toy/design/netlist.pb.txt").read_bytes() == CONTENT
    unknown = runner.invoke(main, ["data", "fetch", "toy-netlst"])
    assert unknown.exit_code == 2
    assert "Did you mean: toy-netlist" in unknown.output
    assert "Traceback" not in unknown.output


BACKEND = '''
"""An in-tree build backend needing nothing installed, so pip can read the metadata offline."""
import os

METADATA = "Metadata-Version: 2.1\\nName: a2perf-toy-data\\nVersion: 1.0\\n"


def prepare_metadata_for_build_wheel(directory, config_settings=None):
    info = os.path.join(directory, "a2perf_toy_data-1.0.dist-info")
    os.makedirs(info)
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write(METADATA)
    return "a2perf_toy_data-1.0.dist-info"


def get_requires_for_build_wheel(config_settings=None):
    return []
'''


@pytest.fixture
def package_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local "index" holding the source archive of ``a2perf-toy-data 1.0``, which ships CONTENT
    at ``a2perf_toy_data-1.0/data/netlist.pb.txt``; pip is pointed at it and nowhere else."""
    import io
    import tarfile

    index = tmp_path / "index"
    index.mkdir()
    files = {
        "pyproject.toml": b'[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n',
        "backend.py": BACKEND.encode(),
        "PKG-INFO": b"Metadata-Version: 2.1\nName: a2perf-toy-data\nVersion: 1.0\n",
        "data/netlist.pb.txt": CONTENT,
    }
    with tarfile.open(index / "a2perf_toy_data-1.0.tar.gz", "w:gz") as archive:
        for name, data in files.items():
            member = tarfile.TarInfo(f"a2perf_toy_data-1.0/{name}")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    return index


def packaged(**kw) -> DataAsset:
    return asset(package="a2perf-toy-data==1.0", member="a2perf_toy_data-1.0/data/netlist.pb.txt", **kw)


def test_fetch_from_a_source_archive_on_the_package_index(roots, package_index):
    _, _, cache = roots
    seen = []
    path = fetch(packaged(), progress=lambda done, total: seen.append((done, total)))
    assert path == cache / "toy/design/netlist.pb.txt"
    assert path.read_bytes() == CONTENT
    assert seen[-1] == (len(CONTENT), len(CONTENT))


def test_source_archive_problems_are_clear_errors_and_leave_nothing(roots, package_index):
    _, _, cache = roots
    with pytest.raises(ChecksumError, match="toy-netlist"):
        fetch(packaged(sha256=hashlib.sha256(b"other").hexdigest()))
    with pytest.raises(DataMissingError, match="has no a2perf_toy_data-1.0/data/missing.txt"):
        fetch(asset(package="a2perf-toy-data==1.0", member="a2perf_toy_data-1.0/data/missing.txt"))
    with pytest.raises(DataMissingError, match="could not download a2perf-toy-data==2.0"):
        fetch(asset(package="a2perf-toy-data==2.0", member="a2perf_toy_data-2.0/data/netlist.pb.txt"))
    assert not any(p.is_file() for p in cache.rglob("*")) if cache.exists() else True
    with pytest.raises(ValueError, match="go together"):
        asset(package="a2perf-toy-data==1.0")


def test_an_unreachable_url_falls_back_to_the_package(roots, server, package_index):
    _, _, cache = roots
    path = fetch(packaged(url=f"{server}/gone.txt"))
    assert path == cache / "toy/design/netlist.pb.txt"
    assert path.read_bytes() == CONTENT
    with pytest.raises(OSError):  # with no package to fall back to, the URL's error stands
        fetch(asset(url=f"{server}/gone.txt", path="toy/design/other.txt"))
