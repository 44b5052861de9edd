"""bench/panel_data.py: a file is written only when it is the recorded copy (sha256,
rows and columns, timestamps), and CDC weeks start on the right Sunday."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd
import panel_data
import pytest
import yaml
from panel_data import PanelError, build_frame, mmwr_week_start

CSV = b"when,x,y,kind\n2024-01-01 00:00,1,-200,u\n2024-01-01 01:00,2,5,v\n2024-01-01 02:00,3,6,u\n"


def record(**changes: object) -> dict:
    base = {
        "name": "tiny",
        "source": {
            "repo": "owner/name",
            "commit": "0" * 40,
            "path": "data/tiny.csv",
            "sha256": hashlib.sha256(CSV).hexdigest(),
        },
        "read": {},
        "shape": [3, 4],
        "date": {"column": "when", "format": "%Y-%m-%d %H:%M"},
        "columns": ["x", "y"],
        "missing": -200,
        "frequency": "h",
        "series": 2,
    }
    return base | changes


def build(tmp_path: Path, rec: dict, data: bytes = CSV) -> list[str]:
    """``panel_data.main`` on a download of ``data`` under ``rec``; its arguments."""
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl" / "tiny.csv").write_bytes(data)
    records = tmp_path / "panel.yaml"
    records.write_text(yaml.safe_dump({"datasets": [rec]}))
    argv = ["--downloads", str(tmp_path / "dl"), "--out", str(tmp_path / "panel")]
    return [*argv, "--records", str(records)]


def test_the_recorded_copy_becomes_a_dated_csv_of_its_series(tmp_path: Path) -> None:
    panel_data.main(build(tmp_path, record()))
    written = pd.read_csv(tmp_path / "panel" / "tiny.csv")
    assert list(written.columns) == ["date", "x", "y"]
    assert written["date"].tolist()[0] == "2024-01-01 00:00:00"
    # the publisher's marker of a missing reading is a missing value
    assert written["y"].isna().tolist() == [True, False, False]


def test_another_copy_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = build(tmp_path, record(), CSV.replace(b"6", b"7"))
    with pytest.raises(SystemExit) as exit_:
        panel_data.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "differs from the recorded" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "panel" / "tiny.csv").exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"shape": [4, 4]}, "not the recorded 4 and 4"),
        ({"series": 3}, "2 series prepared, not the recorded 3"),
        ({"frequency": "30min"}, "do not step by the recorded 30min"),
    ],
)
def test_a_file_unlike_its_record_is_refused(changes: dict, message: str) -> None:
    with pytest.raises(PanelError, match=message):
        build_frame(record(**changes), CSV)


def test_the_panel_folder_stays_out_of_the_repository(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        panel_data.main(["--downloads", ".", "--out", str(panel_data.ROOT / "panel")])
    assert exit_.value.code == 2
    assert "inside the repository" in capsys.readouterr().err


def test_cdc_weeks_start_on_the_sunday_of_the_week_holding_4_january() -> None:
    # CDC's published calendars: 1997 week 40 ends on 4 October 1997, 2025 week 1 on
    # 4 January 2025, 2021 week 1 (2020 has 53 weeks) on 9 January 2021
    assert mmwr_week_start(1997, 40) == dt.date(1997, 9, 28)
    assert mmwr_week_start(2025, 1) == dt.date(2024, 12, 29)
    assert mmwr_week_start(2021, 1) == dt.date(2021, 1, 3)
    assert mmwr_week_start(2020, 53) == dt.date(2020, 12, 27)
