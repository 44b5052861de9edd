"""Checkpoints: plain enough for torch.load(weights_only=True), loadable on CPU when
written on a GPU, and every broken or foreign checkpoint refused in one line."""

from __future__ import annotations

import contextlib
import enum
import fractions
from collections import OrderedDict, namedtuple
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from stanhop import Forecaster
from stanhop.data import read_wide_csv
from stanhop.files.checkpoint import (
    FORMAT,
    FORMAT_KEY,
    CheckpointError,
    load_checkpoint,
    make_plain,
    to_plain,
)


def leaves(obj: Any) -> Iterator[Any]:
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield key
            yield from leaves(value)
    elif isinstance(obj, (list, tuple, set)):
        for value in obj:
            yield from leaves(value)
    else:
        yield obj


@pytest.mark.parametrize("name", ["best.ckpt", "last.ckpt"])
def test_trained_checkpoints_hold_only_tensors_and_plain_values(synthetic_run, name) -> None:
    checkpoint = torch.load(synthetic_run.ckpt.parent / name, weights_only=True)
    plain = (type(None), bool, int, float, str, torch.Tensor, torch.dtype, torch.device)
    odd = {type(leaf) for leaf in leaves(checkpoint) if not isinstance(leaf, plain)}
    assert not odd
    assert checkpoint[FORMAT_KEY] == FORMAT
    hparams = checkpoint["hyper_parameters"]
    assert set(hparams) >= {"model", "scaler", "series_names", "freq", "last_train_timestamp"}
    assert hparams["model"]["in_len"] == 48 and hparams["model"]["out_len"] == 12


@pytest.mark.parametrize("name", ["best.ckpt", "last.ckpt"])
def test_checkpoints_name_no_module_so_moving_code_keeps_old_ones_loading(
    synthetic_run, name
) -> None:
    """No entry of a checkpoint names where stanhop's code lives: Lightning keys the state
    of callbacks by class name (``RNGState``), not module, so a checkpoint written before
    a module moved (stanhop.training.rng_state -> stanhop.training.callbacks.rng_state)
    still loads and resumes."""
    checkpoint = torch.load(synthetic_run.ckpt.parent / name, weights_only=True)
    named = [leaf for leaf in leaves(checkpoint) if isinstance(leaf, str) and "stanhop." in leaf]
    assert not named
    assert "RNGState" in checkpoint["callbacks"]


class Colour(enum.Enum):
    RED = "red"


class Size(int, enum.Enum):
    BIG = 3


Pair = namedtuple("Pair", "a b")


def test_to_plain_converts_what_has_a_plain_form() -> None:
    state = OrderedDict(w=torch.ones(2))
    state._metadata = {"": {"version": 1}}  # what nn.Module.state_dict attaches
    value = {
        "cfg": OmegaConf.create({"model": {"d": 4, "names": ["a", "b"]}}),
        "array": np.arange(3.0),
        "scalar": np.float32(0.5),
        "path": Path("runs/x"),
        "size": Size.BIG,
        "pair": Pair(1, 2),
        "state": state,
    }
    plain = to_plain(value)
    assert plain["cfg"] == {"model": {"d": 4, "names": ["a", "b"]}}
    assert type(plain["cfg"]) is dict and type(plain["cfg"]["model"]["names"]) is list
    torch.testing.assert_close(plain["array"], torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64))
    assert plain["scalar"] == 0.5 and type(plain["scalar"]) is float
    assert plain["path"] == "runs/x"
    assert plain["size"] == 3 and type(plain["size"]) is int
    assert plain["pair"] == (1, 2) and type(plain["pair"]) is tuple
    assert plain["state"] is state  # already plain: kept, metadata and all


def test_plain_values_survive_a_weights_only_round_trip(tmp_path) -> None:
    value = to_plain({"a": np.ones((2, 2)), 3: [Size.BIG, (Path("p"), None)], "s": {1, 2}})
    torch.save(value, tmp_path / "x.pt")
    back = torch.load(tmp_path / "x.pt", weights_only=True)
    assert back[3] == [3, ("p", None)] and back["s"] == {1, 2}
    torch.testing.assert_close(back["a"], torch.ones((2, 2), dtype=torch.float64))


@pytest.mark.parametrize("obj", [Colour.RED, fractions.Fraction(1, 3), object()])
def test_to_plain_names_the_entry_it_cannot_convert(obj) -> None:
    with pytest.raises(TypeError, match=r"callbacks/Foo\[1\] holds a .*weights_only"):
        to_plain({"Foo": [1, obj]}, "callbacks")


def test_make_plain_drops_the_hparams_class_and_stamps_the_format() -> None:
    checkpoint = {
        "hyper_parameters": OmegaConf.create({"x": 1}),
        "hparams_type": type(OmegaConf.create({})),
    }
    make_plain(checkpoint)
    assert checkpoint == {"hyper_parameters": {"x": 1}, FORMAT_KEY: FORMAT}


# --- a checkpoint written on a GPU ----------------------------------------------------

_TAG_AS_CUDA = False


def _cuda_tag(obj: Any) -> str | None:
    """Tags CPU storages as ``cuda:0`` while _TAG_AS_CUDA is set (registered once)."""
    return "cuda:0" if _TAG_AS_CUDA and obj.device.type == "cpu" else None


def _no_deserializer(obj: Any, location: str) -> None:
    return None


torch.serialization.register_package(0, _cuda_tag, _no_deserializer)


@contextlib.contextmanager
def saved_as_if_on_a_gpu() -> Iterator[None]:
    """torch.save records each storage's device; record ``cuda:0`` as a GPU run does."""
    global _TAG_AS_CUDA
    _TAG_AS_CUDA = True
    try:
        yield
    finally:
        _TAG_AS_CUDA = False


def test_a_gpu_trained_checkpoint_loads_on_cpu(synthetic_run, tmp_path) -> None:
    checkpoint = torch.load(synthetic_run.ckpt, weights_only=True)
    gpu = tmp_path / "gpu.ckpt"
    with saved_as_if_on_a_gpu():
        torch.save(checkpoint, gpu)
    if not torch.cuda.is_available():  # the file really asks for a GPU
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(gpu, weights_only=True)
    forecaster = Forecaster.load(gpu)
    assert next(forecaster.model.parameters()).device == torch.device("cpu")
    reference = Forecaster.load(synthetic_run.ckpt)
    for name, tensor in forecaster.model.state_dict().items():
        torch.testing.assert_close(tensor, reference.model.state_dict()[name])


# --- broken and foreign checkpoints ---------------------------------------------------


def corrupt_tail(data: bytes) -> bytes:
    """Overwrite the zip's central directory (the end of the file)."""
    return data[:-300] + b"\xff" * 300


BROKEN = {
    "missing": (None, "checkpoint not found"),
    "empty": (lambda _: b"", "is empty"),
    "text": (lambda _: b"date,a\n2020-01-01,1\n", "not a PyTorch checkpoint"),
    "truncated": (lambda data: data[: len(data) // 2], "truncated or corrupt"),
    "corrupt": (corrupt_tail, "truncated or corrupt"),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_broken_checkpoints_are_one_line_errors(synthetic_run, tmp_path, kind) -> None:
    make, expected = BROKEN[kind]
    path = tmp_path / f"{kind}.ckpt"
    if make is not None:
        path.write_bytes(make(synthetic_run.ckpt.read_bytes()))
    with pytest.raises(CheckpointError) as info:
        Forecaster.load(path)
    message = str(info.value)
    assert expected in message and str(path) in message and "\n" not in message


def test_a_folder_is_not_a_checkpoint(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="is a folder"):
        load_checkpoint(tmp_path)
    # Forecaster.load takes a run folder: one without a checkpoint says where it would be
    with pytest.raises(CheckpointError, match=r"a folder without checkpoints/best\.ckpt"):
        Forecaster.load(tmp_path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"epoch": 1}, "not a stanhop checkpoint (it has no state_dict, model, scaler"),
        (torch.nn.Linear(2, 2).state_dict(), "not a stanhop checkpoint"),
        (
            {"state_dict": {}, "hyper_parameters": {"model": {}, "scaler": {}, "series_names": []}},
            "no model weights",
        ),
        ({"x": fractions.Fraction(1, 3)}, "pickled Python objects such as fractions.Fraction"),
    ],
    ids=["lightning-like", "bare-state-dict", "no-weights", "pickled-object"],
)
def test_foreign_checkpoints_are_refused(tmp_path, content, expected) -> None:
    path = tmp_path / "foreign.ckpt"
    torch.save(content, path)
    with pytest.raises(CheckpointError) as info:
        Forecaster.load(path)
    assert expected in str(info.value)


def edited(synthetic_run, tmp_path: Path, edit) -> Path:
    checkpoint = torch.load(synthetic_run.ckpt, weights_only=True)
    edit(checkpoint)
    path = tmp_path / "edited.ckpt"
    torch.save(checkpoint, path)
    return path


def test_a_model_that_cannot_be_rebuilt_is_a_checkpoint_error(synthetic_run, tmp_path) -> None:
    def unknown_normaliser(checkpoint: dict) -> None:
        checkpoint["hyper_parameters"]["model"]["hopfield"]["normalizer"] = "nope"

    with pytest.raises(CheckpointError, match=r"cannot rebuild the model.*'nope'"):
        Forecaster.load(edited(synthetic_run, tmp_path, unknown_normaliser))


def test_weights_that_do_not_fit_are_a_checkpoint_error(synthetic_run, tmp_path) -> None:
    def wider(checkpoint: dict) -> None:
        checkpoint["hyper_parameters"]["model"]["d_model"] *= 2

    with pytest.raises(CheckpointError, match="cannot rebuild the model"):
        Forecaster.load(edited(synthetic_run, tmp_path, wider))


def test_a_newer_format_asks_for_an_upgrade(synthetic_run, tmp_path) -> None:
    def newer(checkpoint: dict) -> None:
        checkpoint[FORMAT_KEY] = FORMAT + 1

    with pytest.raises(CheckpointError, match="upgrade stanhop"):
        Forecaster.load(edited(synthetic_run, tmp_path, newer))


@pytest.mark.parametrize(
    "older", [lambda c: c.update({FORMAT_KEY: 1}), lambda c: c.pop(FORMAT_KEY)]
)
def test_a_stanhop_net_of_the_earlier_block_layout_is_refused_in_one_line(
    synthetic_run, tmp_path, older
) -> None:
    with pytest.raises(CheckpointError, match="no longer builds; retrain"):
        Forecaster.load(edited(synthetic_run, tmp_path, older))


def test_weights_only_loading_is_what_reads_the_checkpoint(synthetic_run) -> None:
    checkpoint = torch.load(synthetic_run.ckpt, weights_only=True)
    hparams = checkpoint["hyper_parameters"]
    assert hparams["series_names"] == ["s0", "s1", "s2"]
    assert hparams["freq"] == "h"
    assert (
        read_wide_csv(synthetic_run.csv).index[int(24 * 30 * 0.7) - 1].isoformat()
        == (hparams["last_train_timestamp"])
    )
