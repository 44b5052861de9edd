"""compile=true keeps inductor's kernels in a folder under the user's cache, and a ledger
beside them of the models compiled there."""

import os

from stanhop.runtime.compile_cache import (
    compiled_before,
    enable_compile_caches,
    remember_compiled,
    shape_key,
)

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


def test_the_ledger_remembers_a_model_at_its_shapes_only(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))
    spec = {"name": "dlinear", "n_series": 3, "in_len": 24, "out_len": 6}
    key = shape_key(spec, 32, "bf16-mixed")
    assert not compiled_before(key)
    remember_compiled(key)
    assert compiled_before(key)
    assert not compiled_before(shape_key(spec, 16, "bf16-mixed"))
    assert not compiled_before(shape_key(spec, 32, "32-true"))
    assert not compiled_before(shape_key({**spec, "in_len": 48}, 32, "bf16-mixed"))
