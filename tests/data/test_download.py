"""download(): local mirror folder, file:// prefix, checksums, offline failure.

A made-up benchmark is registered for these tests, so that nothing real is fetched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from stanhop.data import BENCHMARKS, MIRROR_ENV, Benchmark, DataError, Split, download

CONTENT = b"date,a\n2020-01-01 00:00:00,1.0\n2020-01-01 01:00:00,2.0\n"
# Nothing listens on the discard port of localhost, so connecting fails at once.
UNREACHABLE = "http://127.0.0.1:9/fake.csv"


def register(monkeypatch, sha256: str | None) -> Benchmark:
    bench = Benchmark("Fake", "fake.csv", UNREACHABLE, sha256, 1, Split(0.7, 0.1, 0.2), "h")
    monkeypatch.setitem(BENCHMARKS, "fake", bench)
    return bench


@pytest.fixture
def fake(monkeypatch) -> Benchmark:
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    return register(monkeypatch, hashlib.sha256(CONTENT).hexdigest())


@pytest.fixture
def mirror(tmp_path) -> Path:
    folder = tmp_path / "mirror"
    folder.mkdir()
    (folder / "fake.csv").write_bytes(CONTENT)
    return folder


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("kind", ["folder", "file-url"])
def test_fetches_from_the_mirror(fake, mirror, tmp_path, monkeypatch, kind) -> None:
    monkeypatch.setenv(MIRROR_ENV, str(mirror) if kind == "folder" else mirror.as_uri() + "/")
    root = tmp_path / "data"
    path = download("fake", root)
    assert path == root / "fake.csv" and path.read_bytes() == CONTENT
    assert files_in(root) == ["fake.csv"]  # no temporary file left


def test_an_existing_file_is_used_without_fetching(fake, tmp_path) -> None:
    (tmp_path / "fake.csv").write_bytes(CONTENT)
    assert download("FAKE", tmp_path) == tmp_path / "fake.csv"  # the URL is unreachable


def test_an_existing_file_with_the_wrong_checksum_is_refused(fake, tmp_path) -> None:
    (tmp_path / "fake.csv").write_bytes(b"something else")
    with pytest.raises(DataError, match="delete the file to download it again"):
        download("fake", tmp_path)


@pytest.mark.parametrize("kind", ["folder", "file-url"])
def test_checksum_mismatch_keeps_nothing(fake, mirror, tmp_path, monkeypatch, kind) -> None:
    (mirror / "fake.csv").write_bytes(CONTENT + b"2020-01-01 02:00:00,3.0\n")
    got = hashlib.sha256((mirror / "fake.csv").read_bytes()).hexdigest()
    monkeypatch.setenv(MIRROR_ENV, str(mirror) if kind == "folder" else mirror.as_uri())
    root = tmp_path / "data"
    with pytest.raises(DataError) as info:
        download("fake", root)
    message = str(info.value)
    assert f"has sha256 {got}, expected {fake.sha256}" in message and "\n" not in message
    assert files_in(root) == []


def test_offline_failure_says_where_to_put_the_file(fake, tmp_path) -> None:
    root = tmp_path / "data"
    with pytest.raises(DataError) as info:
        download("fake", root)
    message = str(info.value)
    assert message.startswith(f"could not download fake.csv from {UNREACHABLE} (")
    assert message.endswith(
        f"; put the file at {root / 'fake.csv'} or set {MIRROR_ENV} to a folder holding it"
    )
    assert "\n" not in message
    assert files_in(root) == []


def test_unpinned_checksum_is_reported_as_a_warning(monkeypatch, mirror, tmp_path) -> None:
    register(monkeypatch, None)
    monkeypatch.setenv(MIRROR_ENV, str(mirror))
    with pytest.warns(UserWarning, match=hashlib.sha256(CONTENT).hexdigest()):
        download("fake", tmp_path / "data")


def test_mirror_folder_without_the_file(fake, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path))
    with pytest.raises(DataError, match=r"no file fake\.csv there"):
        download("fake", tmp_path / "data")


def test_unknown_benchmark(tmp_path) -> None:
    with pytest.raises(DataError, match="unknown benchmark"):
        download("nope", tmp_path)


def test_the_real_etth1_through_the_mirror(shared_csv, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(MIRROR_ENV, str(shared_csv("ETTh1.csv").parent))
    path = download("etth1", tmp_path)
    assert path.read_bytes() == shared_csv("ETTh1.csv").read_bytes()
