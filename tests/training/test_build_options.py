"""model=dlinear and compile through the real config, datamodule and trainer."""

from __future__ import annotations

import copy
import logging
import math
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from torch.testing import assert_close

from stanhop.model import DLinear, build_model
from stanhop.runtime.plan import compile_for_run
from stanhop.training.lit import LitForecaster
from stanhop.training.train import build_module, train

# debug=fast shrinks STanHop-Net's options, which DLinear does not have, so DLinear runs
# are shrunk here instead.
DLINEAR_FAST = (
    "model=dlinear",
    "model.kernel_size=5",
    "logger=none",
    "callbacks.progress_bar=null",
    "data.in_len=48",
    "data.out_len=12",
    "data.batch_size=8",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=4",
    "trainer.limit_val_batches=2",
    "trainer.limit_test_batches=1.0",
    "+trainer.enable_model_summary=false",
)


def mse_over(model: torch.nn.Module, loader) -> float:
    """The mean squared error of ``model`` over every window of ``loader``, computed
    here, independently of the trainer's metrics."""
    sq, n = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            sq += ((model(x) - y) ** 2).sum().item()
            n += y.numel()
    return sq / n


def test_dlinear_trains_tests_and_reloads_through_the_same_module(compose_cfg) -> None:
    cfg = compose_cfg(*DLINEAR_FAST)
    metrics = train(cfg)
    for key in ("val/mse", "test/mse", "test/mae", "test/mse_orig"):
        assert math.isfinite(metrics[key]), key
    ckpt = Path(cfg.paths.output_dir) / "checkpoints" / "best.ckpt"
    loaded = LitForecaster.load_from_checkpoint(ckpt, map_location="cpu").eval()
    assert isinstance(loaded.model, DLinear)
    assert "compile" not in loaded.hparams.model

    dm = instantiate(cfg.data)
    dm.setup()
    assert mse_over(loaded, dm.test_dataloader()) == pytest.approx(metrics["test/mse"], rel=1e-4)


def test_dlinear_rejects_options_of_another_model(compose_cfg) -> None:
    cfg = compose_cfg(*DLINEAR_FAST, "+model.seg_len=6")
    with pytest.raises(ValueError, match=r"model=dlinear has no option model\.seg_len"):
        train(cfg)


def test_compiling_for_a_run_compiles_in_place_and_stays_out_of_the_hyperparameters(
    compose_cfg,
) -> None:
    modules = []
    for _ in range(2):
        cfg = compose_cfg("debug=fast", "logger=none")
        dm = instantiate(cfg.data)
        dm.setup()
        modules.append(build_module(cfg, dm))
    plain, compiled = modules
    compile_for_run(compiled, dm)
    # one graph per mode: whole training batches, evaluation batches padded to full size
    assert dm.drop_last and not instantiate(cfg.data).drop_last
    assert compiled.eval_pad_to == dm.eval_batch_size and plain.eval_pad_to is None
    assert plain.model._compiled_call_impl is None
    assert compiled.model._compiled_call_impl is not None
    assert "compile" not in compiled.hparams.model
    assert compiled.hparams.model == plain.hparams.model
    # Compiled in place: the checkpoint's parameter names are those of the plain model.
    assert list(compiled.state_dict()) == list(plain.state_dict())


@pytest.mark.slow  # torch.compile takes tens of seconds on a cold cache
def test_compiled_dlinear_training_run_matches_the_plain_one(compose_cfg, tmp_path) -> None:
    plain = train(compose_cfg(*DLINEAR_FAST))
    compiled_dir = f"paths.output_dir={tmp_path / 'compiled'}"
    compiled = train(compose_cfg(*DLINEAR_FAST, "compile=true", compiled_dir))
    for key in ("val/mse", "test/mse", "test/mae"):
        assert compiled[key] == pytest.approx(plain[key], rel=1e-4), key


@pytest.mark.slow  # torch.compile takes tens of seconds on a cold cache
def test_a_compiled_run_never_compiles_again_for_a_short_last_batch(compose_cfg, caplog) -> None:
    """37 training and 19 validation windows in batches of 8: short last batches, which
    would each compile the model again, are dropped (training) or padded (evaluation);
    the padded validation MSE is the eager model's."""
    import torch._dynamo

    overrides = [o for o in DLINEAR_FAST if not o.startswith(("trainer.limit", "data.batch"))]
    overrides += ["data.batch_size=8", "data.split={train: 96, val: 78, test: 78}"]
    torch._dynamo.reset()
    torch._logging.set_logs(recompiles=True)
    try:
        with caplog.at_level(logging.DEBUG):
            cfg = compose_cfg(*overrides, "trainer.max_epochs=2", "compile=true")
            metrics = train(cfg)
    finally:
        torch._logging.set_logs()
    reasons = [r.getMessage() for r in caplog.records if "recompiles" in r.name]
    # Recompiles for the grad and autocast modes of training, validation and test happen
    # (and show the log is read); none for a batch of another size.
    assert reasons and all("GLOBAL_STATE" in r or "dispatch key" in r for r in reasons)
    assert not any("size mismatch" in r for r in reasons), reasons
    ckpt = Path(cfg.paths.output_dir) / "checkpoints" / "best.ckpt"
    eager = LitForecaster.load_from_checkpoint(ckpt, map_location="cpu").eval()
    dm = instantiate(cfg.data)
    dm.setup()
    assert len(dm.datasets["val"]) % 8 != 0 and len(dm.datasets["train"]) % 8 != 0
    assert mse_over(eager, dm.val_dataloader()) == pytest.approx(metrics["val/mse"], rel=1e-4)


@pytest.mark.slow
def test_compiled_stanhop_gives_the_same_outputs_and_gradients() -> None:
    torch.manual_seed(0)
    spec = {
        "name": "stanhop",
        "n_series": 2,
        "in_len": 12,
        "out_len": 6,
        "seg_len": 6,
        "d_model": 8,
        "d_ff": 16,
        "n_heads": 2,
        "factor": 2,
        "e_layers": 1,
        "dropout": 0.0,
    }
    model = build_model(spec)
    compiled = copy.deepcopy(model)
    compiled.compile()
    x = torch.randn(3, 12, 2)
    outs = [m(x) for m in (model, compiled)]
    assert_close(outs[1], outs[0])
    for out in outs:
        out.square().sum().backward()
    for p, q in zip(model.parameters(), compiled.parameters(), strict=True):
        assert_close(q.grad, p.grad, atol=1e-5, rtol=1e-5)


def test_seg_len_auto_takes_the_segment_of_the_data_frequency(compose_cfg) -> None:
    """The synthetic data is hourly: a day of 24 steps, halved to 12 for an input of 48
    (debug=fast), is what the built model and its checkpoint carry."""
    cfg = compose_cfg("debug=fast", "logger=none", "model.seg_len=auto")
    dm = instantiate(cfg.data)
    dm.setup()
    assert dm.freq == "h" and cfg.data.in_len == 48
    module = build_module(cfg, dm)
    assert module.hparams.model["seg_len"] == 12
    assert module.model.cfg.in_segments == 4


def test_a_model_built_without_a_frequency_takes_the_default_segment() -> None:
    spec = {"name": "stanhop", "n_series": 3, "out_len": 12}
    assert build_model({**spec, "in_len": 48, "seg_len": "auto"}).cfg.seg_len == 12
    assert build_model({**spec, "in_len": 8}).cfg.seg_len == 8  # never beyond the input
