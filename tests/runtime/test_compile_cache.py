"""compile=true keeps inductor's kernels in a folder under the user's cache."""

import os

from stanhop.training.compile_cache import enable_compile_caches

VARIABLES = (
    "TORCHINDUCTOR_CACHE_DIR",
    "TORCHINDUCTOR_FX_GRAPH_CACHE",
    "TORCHINDUCTOR_AUTOGRAD_CACHE",
)


def test_caches_go_under_the_users_cache_folder(monkeypatch, tmp_path) -> None:
    for name in VARIABLES:  # set first, so that monkeypatch removes them again afterwards
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    line = enable_compile_caches()

    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "stanhop" / "inductor")
    assert os.environ["TORCHINDUCTOR_FX_GRAPH_CACHE"] == "1"
    assert os.environ["TORCHINDUCTOR_AUTOGRAD_CACHE"] == "1"
    assert str(tmp_path / "stanhop" / "inductor") in line


def test_what_the_environment_sets_wins(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("TORCHINDUCTOR_FX_GRAPH_CACHE", "0")
    monkeypatch.setenv("TORCHINDUCTOR_AUTOGRAD_CACHE", "0")
    enable_compile_caches()

    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "mine")
    assert os.environ["TORCHINDUCTOR_FX_GRAPH_CACHE"] == "0"
