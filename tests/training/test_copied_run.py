"""A run folder copied or moved elsewhere is a run of its own: resumed with
``ckpt_path=last``, it validates, tests and calibrates its own best checkpoint, and
neither reads nor rewrites the folder it was copied from."""

from __future__ import annotations

import shutil

import torch

from stanhop.files.checkpoint import INTERVALS_KEY, MODEL_PREFIX
from stanhop.training.checkpoint_io import AtomicCheckpointIO
from stanhop.training.train import train

TINY = ("debug=fast", "threads=1", "callbacks.outliers=null", "callbacks.quantization=null")


def strings(value: object) -> list[str]:
    """Every string inside a checkpoint's nested dicts, lists and tuples (keys too)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in strings(v)]
    return []


def test_a_copied_run_resumed_uses_and_writes_only_its_own_folder(
    folder_state, composer, tmp_path
) -> None:
    original, copy, data = tmp_path / "original", tmp_path / "copy", tmp_path / "data"
    first = train(composer(original, data, *TINY))
    shutil.copytree(original, copy)
    before = folder_state(original)
    # The copy's best model made unlike the original's, and stripped of its intervals: its
    # metrics then tell whose model they measure, and its intervals where they were written.
    best = copy / "checkpoints" / "best.ckpt"
    checkpoint = torch.load(best, weights_only=True)
    for key, value in checkpoint["state_dict"].items():
        if key.startswith(MODEL_PREFIX) and value.is_floating_point():
            value.zero_()
    del checkpoint[INTERVALS_KEY]
    torch.save(checkpoint, best)

    resumed = train(composer(copy, data, *TINY, "ckpt_path=last"))

    assert folder_state(original) == before
    assert resumed["val/mse"] != first["val/mse"]
    assert INTERVALS_KEY in torch.load(best, weights_only=True)
    for path in copy.rglob("*"):
        if path.suffix == ".ckpt":
            assert not [s for s in strings(torch.load(path, weights_only=True)) if "original" in s]
        elif path.is_file():
            assert str(original).encode() not in path.read_bytes(), path


def test_paths_below_a_checkpoints_folder_are_stored_relative_and_read_where_it_lies(
    tmp_path,
) -> None:
    io = AtomicCheckpointIO()
    written, moved = tmp_path / "a" / "checkpoints", tmp_path / "b" / "checkpoints"
    elsewhere = str(tmp_path / "chosen" / "best.ckpt")  # a folder the configuration chose
    state = {
        "dirpath": str(written),
        "best_model_path": str(written / "best.ckpt"),
        "kth_best_model_path": elsewhere,
        "last_model_path": "",
        "best_k_models": {str(written / "best.ckpt"): torch.tensor(0.5)},
    }
    io.save_checkpoint(
        {"state_dict": {}, "hyper_parameters": {"model": {}, "scaler": {}, "series_names": []}}
        | {"callbacks": {"ModelCheckpoint{}": state}},
        written / "last.ckpt",
    )
    stored = torch.load(written / "last.ckpt", weights_only=True)["callbacks"]["ModelCheckpoint{}"]
    assert stored["dirpath"] == "." and stored["best_model_path"] == "best.ckpt"
    assert list(stored["best_k_models"]) == ["best.ckpt"]
    assert stored["kth_best_model_path"] == elsewhere
    assert state["best_k_models"] == {str(written / "best.ckpt"): torch.tensor(0.5)}  # untouched

    shutil.move(tmp_path / "a", tmp_path / "b")
    read = io.load_checkpoint(moved / "last.ckpt")["callbacks"]["ModelCheckpoint{}"]
    assert read["dirpath"] == str(moved) and read["best_model_path"] == str(moved / "best.ckpt")
    assert list(read["best_k_models"]) == [str(moved / "best.ckpt")]
    assert read["kth_best_model_path"] == elsewhere and read["last_model_path"] == ""


def test_a_checkpoint_with_absolute_paths_moved_with_its_folder_reads_the_new_folder(
    tmp_path,
) -> None:
    written, moved = tmp_path / "a" / "checkpoints", tmp_path / "b" / "checkpoints"
    state = {
        "dirpath": str(written),
        "best_model_path": str(written / "best.ckpt"),
        "best_k_models": {str(written / "best.ckpt"): torch.tensor(0.5)},
    }
    written.mkdir(parents=True)
    torch.save(
        {"state_dict": {}, "hyper_parameters": {"model": {}, "scaler": {}, "series_names": []}}
        | {"callbacks": {"ModelCheckpoint{}": state, "ModelCheckpoint{step}": state}},
        written / "last.ckpt",
    )
    shutil.move(tmp_path / "a", tmp_path / "b")
    read = AtomicCheckpointIO().load_checkpoint(moved / "last.ckpt")["callbacks"]
    for state in read.values():
        assert state["dirpath"] == str(moved)
        assert state["best_model_path"] == str(moved / "best.ckpt")
        assert list(state["best_k_models"]) == [str(moved / "best.ckpt")]
