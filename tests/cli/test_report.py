"""End to end: the outlier and quantisation callbacks, the report over runs, and wandb
offline — on three tiny training runs shared by every test of this file."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch
from lightning.pytorch import Trainer
from omegaconf import OmegaConf

from stanhop.cli.report import load_runs, summarise
from stanhop.cli.report import main as report_main
from stanhop.cli.report_figures import relative_to_baseline
from stanhop.cli.report_runs import histories, tap_tables
from stanhop.data import make_synthetic
from stanhop.data.datamodule import content_hash, from_csv
from stanhop.measures import BitWidths
from stanhop.training.callbacks.quantization import QuantizationEvaluation
from stanhop.training.lit import LitForecaster
from stanhop.training.train import train
from stanhop.training.wandb_dashboard import has_api_key

# A run on a DataFrame as stanhop.fit starts it (data.path is the frame's placeholder).
FRAME_RUN = ("debug=fast", "threads=1", "data=csv", "data.path=DataFrame")
FRAME_RUN += ("callbacks.outliers=null", "callbacks.quantization=null")
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
    assert set(frame["dataset"]) == {"synthetic"}
    summary = summarise(frame, BitWidths.parse("W8A8"), "softmax").droplevel(["dataset", "horizon"])
    softmax = [runs[n][1]["test/mse"] for n in ("softmax-1", "softmax-2")]
    assert summary.loc["softmax", ("test/mse", "mean")] == pytest.approx(sum(softmax) / 2)
    assert summary.loc["softmax", ("test/mse", "std")] == pytest.approx(
        abs(softmax[0] - softmax[1]) / math.sqrt(2)
    )
    assert summary.loc["softmax", ("seeds", "n")] == 2
    outeff = runs["outeffhop-1"][1]["test/mse"]
    change = (outeff - sum(softmax) / 2) / (sum(softmax) / 2)
    assert summary.loc["outeffhop", ("test/mse", "change")] == pytest.approx(change)
    mae = [runs[n][1]["test/mae_orig"] for n in ("softmax-1", "softmax-2")]
    assert summary.loc["softmax", ("test/mae_orig", "mean")] == pytest.approx(sum(mae) / 2)

    out = tmp_path / "report"
    assert report_main([str(root), "--out", str(out)]) == 0
    markdown = (out / "report.md").read_text()
    assert "## synthetic, horizon" in markdown
    assert "| softmax | 2 | 1,2 |" in markdown and "| outeffhop | 1 | 1 |" in markdown
    assert "MAE (data units)" in markdown and "Warning" not in markdown
    for name in ("report.png", "curves.png", "heatmap.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG", name


def copy_run(source: Path, target: Path, **config: object) -> None:
    """A copy of a finished run whose config.yaml says ``config`` (dotted keys) instead."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("checkpoints", "wandb"))
    cfg = OmegaConf.load(target / "config.yaml")
    for key, value in config.items():
        OmegaConf.update(cfg, key.replace("__", "."), value)
    OmegaConf.save(cfg, target / "config.yaml")


def test_report_never_pools_datasets_or_horizons_and_counts_distinct_seeds(runs, tmp_path):
    source = runs["softmax-1"][0]
    horizon = OmegaConf.load(source / "config.yaml").data.out_len
    copy_run(source, tmp_path / "a", seed=1)  # repeats softmax-1's seed
    copy_run(source, tmp_path / "b", data__out_len=horizon * 2)
    copy_run(source, tmp_path / "c", data__source__name="etth1")
    frame = load_runs([source, tmp_path])
    summary = summarise(frame, BitWidths.parse("W8A8"), "softmax")
    assert summary[("runs", "n")].to_dict() == {
        ("synthetic", horizon, "softmax"): 2,
        ("synthetic", horizon * 2, "softmax"): 1,
        ("etth1", horizon, "softmax"): 1,
    }
    assert summary.loc[("synthetic", horizon, "softmax"), ("seeds", "n")] == 1
    assert report_main([str(source), str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert markdown.count("## ") == 3
    assert f"synthetic horizon {horizon}, softmax: 2 runs of 1 distinct seed" in markdown
    # One bar chart per dataset and horizon, never one over all of them.
    assert (tmp_path / "out" / f"report_synthetic_{horizon * 2}.png").is_file()
    assert not (tmp_path / "out" / "report.png").exists()


def test_report_tells_apart_csv_files_that_share_a_name(runs, tmp_path, capsys):
    source = runs["softmax-1"][0]
    for site in ("siteA", "siteB"):
        path = tmp_path / "data" / site / "data.csv"
        copy_run(source, tmp_path / "runs" / site, data__source=None, data__path=str(path))
    frame = load_runs([tmp_path / "runs"])
    assert sorted(frame["dataset"]) == ["siteA/data.csv", "siteB/data.csv"]
    assert report_main([str(tmp_path / "runs"), "--out", str(tmp_path / "out")]) == 0
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "## siteA/data.csv" in markdown and "## siteB/data.csv" in markdown
    assert (tmp_path / "out" / f"report_siteA-data.csv_{frame.horizon[0]}.png").is_file()


def test_a_relative_csv_path_is_taken_from_the_folder_training_started_in(runs, tmp_path):
    source = runs["softmax-1"][0]
    for site in ("siteA", "siteB"):
        run = tmp_path / site / "run"
        copy_run(source, run, data__source=None, data__path="data.csv")
        (run / ".hydra").mkdir()
        OmegaConf.save(
            {"hydra": {"runtime": {"cwd": str(tmp_path / site)}}}, run / ".hydra" / "hydra.yaml"
        )
    frame = load_runs([tmp_path])
    assert sorted(frame["data"]) == [str(tmp_path / s / "data.csv") for s in ("siteA", "siteB")]
    assert sorted(frame["dataset"]) == ["siteA/data.csv", "siteB/data.csv"]


def test_synthetic_data_of_another_size_is_another_dataset(runs, tmp_path):
    source = runs["softmax-1"][0]
    copy_run(source, tmp_path / "other", data__source__n_series=5)
    frame = load_runs([source, tmp_path])
    assert frame["data"].nunique() == 2 and frame["dataset"].nunique() == 2
    assert all(name.startswith("synthetic-") for name in frame["dataset"])


def test_runs_of_other_targets_inputs_or_input_length_are_never_pooled(runs, tmp_path):
    source = runs["softmax-1"][0]
    copy_run(source, tmp_path / "same")
    copy_run(source, tmp_path / "targets", data__targets=["s0"])
    copy_run(source, tmp_path / "in_len", data__in_len=96)
    copy_run(source, tmp_path / "calendar", data__calendar=["hour"])
    copy_run(source, tmp_path / "future", data__future=["s1"])
    frame = load_runs([source, tmp_path]).set_index("run")
    assert frame["dataset"].nunique() == 5
    pooled = frame.loc[[str(source), str(tmp_path / "same")], "dataset"]
    assert pooled.nunique() == 1
    assert frame.loc[str(tmp_path / "targets"), "dataset"] == (
        "synthetic (targets s0; no calendar; no future inputs; in_len 48)"
    )
    assert report_main([str(source), str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert markdown.count("## ") == 5
    assert (
        "## synthetic (all series; no calendar; no future inputs; in_len 96), horizon" in markdown
    )
    horizon = frame["horizon"].iloc[0]
    name = "synthetic-targets-s0-no-calendar-no-future-inputs-in_len-48"
    assert (tmp_path / "out" / f"report_{name}_{horizon}.png").is_file()


def test_dataframe_runs_are_told_apart_by_their_content(runs, composer, tmp_path):
    # Two runs on two DataFrames, as stanhop.fit trains them; each records its frame's hash.
    frames = [make_synthetic(n_series=3, n_steps=24 * 30, seed=seed) for seed in (1, 2)]
    for name, frame in zip(("a", "b"), frames, strict=True):
        cfg = composer(tmp_path / name, tmp_path / "cache", *FRAME_RUN)
        train(cfg, from_csv(frame, in_len=48, out_len=12, batch_size=8))
        saved = OmegaConf.load(tmp_path / name / "config.yaml")
        assert saved.data_hash == content_hash(frame)
    copy_run(tmp_path / "a", tmp_path / "a-again")  # a second run on the first frame
    # Runs written before the hash was recorded cannot be shown to share data.
    copy_run(tmp_path / "a", tmp_path / "old-1", data_hash=None)
    copy_run(tmp_path / "a", tmp_path / "old-2", data_hash=None)
    frame = load_runs([tmp_path]).set_index("run")
    assert frame["dataset"].nunique() == 4
    assert (
        frame.loc[str(tmp_path / "a"), "dataset"] == frame.loc[str(tmp_path / "a-again"), "dataset"]
    )
    assert all(name.startswith("DataFrame-") for name in frame["dataset"])


def test_an_unreadable_metrics_json_is_skipped_with_a_warning_naming_it(runs, tmp_path, capsys):
    source = runs["softmax-1"][0]
    copy_run(source, tmp_path / "good")
    copy_run(source, tmp_path / "cut")
    broken = tmp_path / "cut" / "metrics.json"
    broken.write_text('{"test/mse": 0.4')  # a run killed while writing it
    assert report_main([str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert f"warning: {broken}: skipped, not readable as JSON" in err
    assert "## synthetic, horizon" in (tmp_path / "out" / "report.md").read_text()


def test_epoch_curves_come_from_the_validation_outlier_log(runs):
    out, metrics = runs["softmax-1"]
    frame = load_runs([out])
    history = histories(frame)
    assert list(history["epoch"]) == list(range(int(metrics["train/epochs"])))
    # Independent of the callback's aggregation: the per-tap values it logged beside it.
    log = pd.read_csv(out / "csv" / "metrics.csv")
    kurt = log.filter(regex=r"^val_outliers/tap/.*/kurtosis$").dropna(how="all")
    norms = log.filter(regex=r"^val_outliers/tap/.*/inf_norm$").dropna(how="all")
    assert len(kurt) == len(norms) == len(history)
    for (_, row), (_, k), (_, n) in zip(
        history.iterrows(), kurt.iterrows(), norms.iterrows(), strict=True
    ):
        assert row["val_outliers/avg_kurtosis"] == pytest.approx(k.mean(), rel=1e-5)
        assert row["val_outliers/max_inf_norm"] == pytest.approx(n.max(), rel=1e-5)
    assert histories(load_runs([runs["softmax-2"][0]])).empty  # not tracked in that run


def test_heatmap_ratios_are_each_taps_mean_over_the_baselines(runs):
    frame = load_runs([runs[name][0] for name in RUNS])
    ratios = relative_to_baseline(tap_tables(frame), "softmax", "inf_norm")
    tables = {name: pd.read_csv(runs[name][0] / "outliers.csv") for name in RUNS}
    assert list(ratios.columns) == list(tables["softmax-1"]["tap"])  # model order
    assert list(ratios.index) == ["outeffhop"]
    for tap in ("embed_norm", "encoder.0.block.cross_mlp"):
        value = {n: t.set_index("tap").loc[tap, "inf_norm"] for n, t in tables.items()}
        expected = value["outeffhop-1"] / ((value["softmax-1"] + value["softmax-2"]) / 2)
        assert ratios.loc["outeffhop", tap] == pytest.approx(expected, rel=1e-9)


def test_python_m_stanhop_report_is_the_report_command(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "stanhop.report", str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: no metrics.json under")
    assert "\n" not in done.stderr.strip()


def test_report_out_that_is_a_file_is_a_one_line_error(runs, tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("keep me")
    assert report_main([str(runs["softmax-1"][0]), "--out", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --out") and "\n" not in err
    assert target.read_text() == "keep me"


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
