"""A resume (ckpt_path=) goes on as the run it resumes: settings that change the run, or
other data under the same settings, are refused in one line before anything in the run's
folder is written; what a resume may change (epochs, threads, the folder's place) runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from stanhop.data import make_synthetic
from stanhop.data.datamodule import content_hash, from_csv
from stanhop.training.resume import check_settings
from stanhop.training.train import train

ROOT = Path(__file__).resolve().parents[2]
TINY = ("debug=fast", "threads=1", "callbacks.outliers=null", "callbacks.quantization=null")


def saved_run(composer, folder: Path, *overrides: str, **record: object) -> dict:
    """A run folder whose config.yaml is ``overrides`` resolved, as train() writes it, with
    ``record`` added; its settings as train() would see them."""
    cfg = OmegaConf.to_container(composer(folder, folder / "data", *overrides), resolve=True)
    folder.mkdir(parents=True)
    OmegaConf.save(OmegaConf.create({**cfg, **record}), folder / "config.yaml")
    (folder / "metrics.json").write_text('{"test/mse": 0.5}\n')
    return cfg


@pytest.mark.slow  # a run and a command end to end: seconds each
def test_a_resume_on_another_file_is_one_line_exit_2_and_writes_nothing(
    folder_state, composer, tmp_path
):
    first, other = tmp_path / "first.csv", tmp_path / "other.csv"
    make_synthetic(n_series=3, n_steps=24 * 30, seed=1).to_csv(first)
    make_synthetic(n_series=3, n_steps=24 * 30, seed=2).to_csv(other)
    run = tmp_path / "run"
    data = ("data=csv", f"data.path={first}")
    train(composer(run, tmp_path / "cache", *TINY, *data))
    before = folder_state(run)
    resume = [f"hydra.run.dir={run}", "ckpt_path=last", "trainer.max_epochs=2"]
    result = subprocess.run(
        [sys.executable, "train.py", *TINY, *data, *resume, f"data.path={other}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "STANHOP_DEBUG"},
    )
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"error: ckpt_path=last: {run} holds a run trained with other settings: "
        f"data.path={other} (the run's: {first}); resume with the run's settings"
    ), last
    assert "max_epochs" not in last and "Traceback" not in result.stderr
    # Hydra's own record of the command (.hydra/, train.log) is the only thing written.
    after = {k: v for k, v in folder_state(run).items() if k not in before}
    assert all(k.startswith(".hydra/") or k == "train.log" for k in after)
    assert {k: v for k, v in folder_state(run).items() if k in before} == before


def test_a_fine_tune_resumed_without_its_init_scaler_is_refused(
    folder_state, composer, synthetic_run, tmp_path
) -> None:
    data = ("data=csv", f"data.path={synthetic_run.csv}", f"init_from={synthetic_run.ckpt}")
    run = tmp_path / "run"
    saved_run(composer, run, *TINY, *data, "init_scaler=keep")
    before = folder_state(run)
    with pytest.raises(ValueError) as err:
        train(composer(run, run / "data", *TINY, *data, "ckpt_path=last"))
    assert str(err.value) == (
        f"ckpt_path=last: {run} holds a run trained with other settings: init_scaler=refit "
        "(the run's: keep); resume with the run's settings (its config.yaml), or start a new "
        "run in another folder"
    )
    assert folder_state(run) == before


def test_a_resume_with_another_dataframe_is_refused(folder_state, composer, tmp_path) -> None:
    frame = make_synthetic(n_series=3, n_steps=24 * 30, seed=1)
    other = frame.copy()
    other.iloc[5, 1] += 1.0  # one value differs
    run = tmp_path / "run"
    frame_run = ("data=csv", "data.path=DataFrame")
    saved_run(composer, run, *TINY, *frame_run, data_hash=content_hash(frame))
    before = folder_state(run)
    datamodule = from_csv(other, in_len=48, out_len=12, batch_size=8)
    with pytest.raises(ValueError, match=r"^ckpt_path=last: the data differs from what the run"):
        train(composer(run, run / "data", *TINY, *frame_run, "ckpt_path=last"), datamodule)
    assert folder_state(run) == before


def test_what_a_resume_may_change_is_not_refused(composer, tmp_path) -> None:
    saved = saved_run(composer, tmp_path / "run", *TINY)
    # The same run copied elsewhere, resumed for longer, on other threads and loaders.
    changed = ("ckpt_path=last", "trainer.max_epochs=5", "threads=2", "data.num_workers=1")
    copy = tmp_path / "copy"
    resume = composer(copy, tmp_path / "cache", *TINY, *changed)
    check_settings(resume, resume, saved, copy)
    with pytest.raises(
        ValueError,
        match=r"settings: seed=7 \(the run's: 42\), model\.d_model=8 \(the run's: 16\); ",
    ):
        other = composer(copy, copy, *TINY, *changed, "seed=7", "model.d_model=8")
        check_settings(other, other, saved, copy)


def test_the_content_hash_tells_frames_apart_by_value_timestamp_and_name() -> None:
    frame = make_synthetic(n_series=3, n_steps=48, seed=1)
    assert content_hash(frame) == content_hash(frame.copy())
    changed = frame.copy()
    changed.iloc[0, 0] += 1e-9
    shifted = frame.set_axis(frame.index + frame.index.freq, axis=0)
    renamed = frame.rename(columns={frame.columns[0]: "other"})
    hashes = {content_hash(f) for f in (frame, changed, shifted, renamed, frame.iloc[:, ::-1])}
    assert len(hashes) == 5
