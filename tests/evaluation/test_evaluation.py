"""End to end: the outlier and quantisation callbacks, the report over runs, and wandb
offline — on three tiny training runs shared by every test of this file."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch
from lightning.pytorch import Trainer

from stanhop.evaluation import BitWidths
from stanhop.evaluation.quant_evaluation import QuantizationEvaluation
from stanhop.evaluation.report import load_runs, summarise
from stanhop.evaluation.report import main as report_main
from stanhop.evaluation.wandb_dashboard import has_api_key
from stanhop.training.lit import LitForecaster
from stanhop.training.train import train

RUNS = {"softmax-1": ("softmax", 1), "softmax-2": ("softmax", 2), "outeffhop-1": ("outeffhop", 1)}


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory, composer
) -> Iterator[dict[str, tuple[Path, dict]]]:
    root = tmp_path_factory.mktemp("runs")
    # Offline whatever this machine's credentials: tests must not reach the network.
    saved = {key: os.environ.get(key) for key in ("WANDB_MODE", "WANDB_SILENT")}
    os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true")
    result = {}
    for name, (variant, seed) in RUNS.items():
        out = root / name
        overrides = ["debug=fast", f"hopfield={variant}", f"seed={seed}"]
        overrides += ["callbacks.quantization.bit_widths=[W8A8,W4A4]"]
        if name == "softmax-1":
            overrides += ["logger=wandb", "callbacks.outliers.every_n_val_epochs=1"]
        result[name] = (out, train(composer(out, out.parent / "data", *overrides)))
    yield result
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def test_metrics_json_holds_float_quantised_and_outlier_aggregates(runs):
    out, _ = runs["outeffhop-1"]
    on_disk = json.loads((out / "metrics.json").read_text())
    for key in (
        "outliers/avg_kurtosis",
        "outliers/max_kurtosis",
        "outliers/max_inf_norm",
        "outliers/max_ffn_inf_norm",
        "quant/w8a8/mse",
        "quant/w8a8/mae",
        "quant/w8a8/mse_ratio",
        "quant/w8a8/avg_kurtosis",
        "quant/w4a4/mse",
    ):
        assert math.isfinite(on_disk[key]), key
    # Ratio is quantised over float MSE on the same test batches.
    assert on_disk["quant/w8a8/mse_ratio"] == pytest.approx(
        on_disk["quant/w8a8/mse"] / on_disk["test/mse"], rel=1e-4
    )
    assert on_disk["quant/w4a4/mse"] > on_disk["quant/w8a8/mse"]


def test_outlier_files_agree_with_the_aggregates(runs):
    out, metrics = runs["outeffhop-1"]
    table = pd.read_csv(out / "outliers.csv")
    assert set(table["kind"]) == {"hopfield", "mlp", "layernorm", "residual"}
    assert (table["samples"] > 0).all()
    assert metrics["outliers/avg_kurtosis"] == pytest.approx(table["kurtosis"].mean(), rel=1e-5)
    assert metrics["outliers/max_inf_norm"] == pytest.approx(table["inf_norm"].max(), rel=1e-5)
    ffn = table.loc[table["kind"] == "mlp", "inf_norm"].max()
    assert metrics["outliers/max_ffn_inf_norm"] == pytest.approx(ffn, rel=1e-5)
    assert (out / "outliers.png").read_bytes()[:4] == b"\x89PNG"


def test_quantisation_callback_leaves_trained_weights_unchanged(runs, composer):
    out, _ = runs["softmax-2"]
    cfg = composer(out, out.parent / "data", "debug=fast", "hopfield=softmax", "seed=2")
    from hydra.utils import instantiate

    datamodule = instantiate(cfg.data)
    datamodule.setup()
    module = LitForecaster.load_from_checkpoint(out / "checkpoints" / "best.ckpt")
    before = {k: v.clone() for k, v in module.state_dict().items()}
    callback = QuantizationEvaluation(bit_widths=["W4A4"], calibration_batches=2)
    trainer = Trainer(
        callbacks=[callback], logger=False, limit_test_batches=2, enable_progress_bar=False
    )
    trainer.test(module, datamodule=datamodule, verbose=False)
    assert math.isfinite(callback.results["quant/w4a4/mse"])
    for key, value in module.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_report_groups_by_variant_with_mean_std_and_change(runs, tmp_path):
    root = next(iter(runs.values()))[0].parent
    frame = load_runs([root])
    assert sorted(frame["variant"]) == ["outeffhop", "softmax", "softmax"]
    summary = summarise(frame, BitWidths.parse("W8A8"), "softmax")
    softmax = [runs[n][1]["test/mse"] for n in ("softmax-1", "softmax-2")]
    assert summary.loc["softmax", ("test/mse", "mean")] == pytest.approx(sum(softmax) / 2)
    assert summary.loc["softmax", ("test/mse", "std")] == pytest.approx(
        abs(softmax[0] - softmax[1]) / math.sqrt(2)
    )
    outeff = runs["outeffhop-1"][1]["test/mse"]
    change = (outeff - sum(softmax) / 2) / (sum(softmax) / 2)
    assert summary.loc["outeffhop", ("test/mse", "change")] == pytest.approx(change)

    assert report_main([str(root), "-o", str(tmp_path)]) == 0
    markdown = (tmp_path / "report.md").read_text()
    assert "| softmax | 2 |" in markdown and "| outeffhop | 1 |" in markdown
    assert (tmp_path / "report.png").is_file()


def test_report_without_runs_is_a_one_line_error(tmp_path, capsys):
    assert report_main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no metrics.json") and "\n" not in err


def test_offline_wandb_run_holds_the_metrics_and_config(runs):
    out, _ = runs["softmax-1"]
    run_dirs = list((out / "wandb").glob("offline-run-*"))
    assert len(run_dirs) == 1  # offline without an API key, and one run per training run
    # An offline run keeps its history, summary and config as records in one binary log
    # (uploaded by `wandb sync`); their keys are stored as plain UTF-8.
    (log,) = run_dirs[0].glob("run-*.wandb")
    records = log.read_bytes()
    for key in ("test/mse", "outliers/avg_kurtosis", "quant/w8a8/mse", "val_outliers/avg_kurtosis"):
        assert key.encode() in records, key
    for key in ("hopfield", "normalizer", "softmax", "seed"):
        assert key.encode() in records, key
    tables = run_dirs[0] / "files" / "media" / "table"
    table = json.loads(next((tables / "outliers").glob("*.table.json")).read_text())
    assert table["columns"] == ["tap", "kind", "kurtosis", "inf_norm"]
    assert (out / "csv" / "metrics.csv").is_file()  # the CSV log runs alongside


def test_api_key_detection(tmp_path):
    netrc = tmp_path / "netrc"
    assert not has_api_key({"NETRC": str(netrc)})
    assert has_api_key({"WANDB_API_KEY": "x" * 40, "NETRC": str(netrc)})
    netrc.write_text("machine api.wandb.ai\n  login user\n  password " + "k" * 40 + "\n")
    netrc.chmod(0o600)
    assert has_api_key({"NETRC": str(netrc)})
    assert not has_api_key({"NETRC": str(netrc), "WANDB_BASE_URL": "https://other.example"})
