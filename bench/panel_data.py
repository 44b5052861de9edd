"""Build the panel folder from the records of bench/panel.yaml: every dataset's file, read
from a local git mirror of its public repository (or a downloaded copy), checked against
its sha256 and published size, written as ``NAME.csv`` with a ``date`` column and the
series the panel uses.

    python bench/panel_data.py --mirrors MIRRORS          # MIRRORS/OWNER+NAME/repo: git dirs
    python bench/panel_data.py --downloads DIR --out PANEL   # DIR/FILE: copies of the files
    STANHOP_PANEL_MIRRORS=MIRRORS python bench/panel_data.py --only nn5_daily fred_md

A mirror is a git directory of the source repository holding the recorded commit
(``git clone --bare``, or a snapshot at ``MIRRORS/OWNER+NAME/repo``); a download is the
file as the repository serves it at that commit, named as in the repository. The panel
folder (default ``../shared/panel`` beside the checkout) must lie outside the repository:
the data is never committed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
PANEL_YAML = Path(__file__).resolve().with_name("panel.yaml")
DEFAULT_OUT = ROOT.parent / "shared" / "panel"


class PanelError(Exception):
    """A mistake a user can make (a missing mirror, a changed file): one line, exit 2."""


def load_records(path: Path = PANEL_YAML) -> list[dict[str, Any]]:
    """The dataset records of ``path`` (bench/panel.yaml), in order."""
    return yaml.safe_load(path.read_text())["datasets"]


def git_dir(mirrors: Path, repo: str) -> Path:
    """The git directory of ``repo`` (OWNER/NAME) under ``mirrors``: OWNER+NAME/repo (a
    snapshot) or OWNER+NAME (a bare clone)."""
    base = mirrors / repo.replace("/", "+")
    for candidate in (base / "repo", base):
        if (candidate / "HEAD").is_file():
            return candidate
    raise PanelError(f"no git mirror of {repo} at {base}; fetch the repository there first")


def read_source(source: dict[str, str], mirrors: Path | None, downloads: Path | None) -> bytes:
    """The file's bytes at the recorded commit, checked against its sha256."""
    if downloads is not None:
        path = downloads / Path(source["path"]).name
        if not path.is_file():
            raise PanelError(f"{path}: no such file; download {source['path']} there")
        data = path.read_bytes()
        where = str(path)
    elif mirrors is not None:
        spec = f"{source['commit']}:{source['path']}"
        done = subprocess.run(
            ["git", "--git-dir", str(git_dir(mirrors, source["repo"])), "show", spec],
            capture_output=True,
        )
        if done.returncode != 0:
            why = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
            raise PanelError(f"{source['repo']} {spec}: not in the mirror ({' '.join(why)})")
        data = done.stdout
        where = f"{source['repo']}@{source['commit'][:10]}:{source['path']}"
    else:
        raise PanelError("give --mirrors (or STANHOP_PANEL_MIRRORS) or --downloads")
    digest = hashlib.sha256(data).hexdigest()
    if digest != source["sha256"]:
        # a Git LFS pointer or a truncated copy is caught here, before any parsing
        raise PanelError(
            f"{where}: sha256 {digest} differs from the recorded {source['sha256']} "
            f"({len(data)} bytes); the file is not the recorded copy"
        )
    return data


def mmwr_week_start(year: int, week: int) -> dt.date:
    """The Sunday that starts CDC (MMWR) week ``week`` of ``year``: week 1 is the first
    Sunday-to-Saturday week with at least four days in the year, i.e. the one holding
    4 January."""
    jan4 = dt.date(year, 1, 4)
    first = jan4 - dt.timedelta(days=(jan4.weekday() + 1) % 7)
    return first + dt.timedelta(weeks=week - 1)


def pivot(frame: pd.DataFrame, year: str, week: str, series: str, value: str) -> pd.DataFrame:
    """A long table of weekly values (one row per week and series) made wide, with the
    weeks' start dates in ``date``."""
    wide = frame.pivot(index=[year, week], columns=series, values=value)
    starts = [mmwr_week_start(int(y), int(w)) for y, w in wide.index]
    wide.index = pd.DatetimeIndex(starts, name="date")
    return wide.reset_index()


# FRED-MD's transformation codes (McCracken and Ng, 2016): 1 level, 2 difference,
# 3 second difference, 4 log, 5 log difference, 6 second log difference, 7 difference
# of the growth rate.
FRED_CODES = {
    1: lambda x: x,
    2: lambda x: x.diff(),
    3: lambda x: x.diff().diff(),
    4: np.log,
    5: lambda x: np.log(x).diff(),
    6: lambda x: np.log(x).diff().diff(),
    7: lambda x: (x / x.shift(1) - 1).diff(),
}


def fred_md(frame: pd.DataFrame, end: str) -> pd.DataFrame:
    """FRED-MD's series transformed by the codes of its first row, from the third month
    (the first two go to differencing) to ``end``, without the series that still miss a
    value there; McCracken and Ng's outliers (further than ten interquartile ranges from
    the series' median) become missing values."""
    date = frame.columns[0]
    codes = frame.iloc[0, 1:].astype(int)
    data = frame.iloc[1:].reset_index(drop=True)
    series = {name: FRED_CODES[code](data[name].astype(float)) for name, code in codes.items()}
    out = pd.DataFrame({date: data[date], **series}).replace([np.inf, -np.inf], np.nan)
    when = pd.to_datetime(out[date], format="%m/%d/%Y")
    out = out[when <= pd.Timestamp(end)].iloc[2:].dropna(axis="columns")
    values = out.iloc[:, 1:]
    spread = values.quantile(0.75) - values.quantile(0.25)
    out.iloc[:, 1:] = values.mask((values - values.median()).abs() > 10 * spread)
    return out


def dates(frame: pd.DataFrame, spec: dict[str, Any]) -> pd.DatetimeIndex:
    """The timestamps of ``frame``'s rows as the record's ``date`` says."""
    if "start" in spec:
        return pd.date_range(spec["start"], periods=len(frame), freq=spec["freq"])
    if spec.get("mmwr_week"):
        return pd.DatetimeIndex(frame["date"])
    if "columns" in spec:
        parts = frame[spec["columns"]].astype(str)
        if len(spec["columns"]) == 4:  # year, month, day, hour
            y, m, d, h = (parts[c] for c in spec["columns"])
            return pd.DatetimeIndex(pd.to_datetime(y + "-" + m + "-" + d + " " + h + ":00"))
        return pd.DatetimeIndex(pd.to_datetime(parts.agg(" ".join, axis=1)))
    return pd.DatetimeIndex(pd.to_datetime(frame[spec["column"]], format=spec["format"]))


def build_frame(record: dict[str, Any], data: bytes) -> pd.DataFrame:
    """The panel CSV's table from the file's bytes: its size checked, reshaped, dated,
    the record's columns, missing markers as NaN."""
    name = record["name"]
    raw = pd.read_csv(io.BytesIO(data), **record["read"])
    if tuple(raw.shape) != tuple(record["shape"]):
        raise PanelError(
            f"{name}: the file has {raw.shape[0]} rows and {raw.shape[1]} columns, "
            f"not the recorded {record['shape'][0]} and {record['shape'][1]}"
        )
    raw = raw.dropna(axis="columns", how="all")
    if record.get("drop_empty_rows"):
        raw = raw.dropna(how="all").reset_index(drop=True)
    prepare = record.get("prepare", {})
    if "pivot" in prepare:
        raw = pivot(raw, **prepare["pivot"])
    if "fred_md" in prepare:
        raw = fred_md(raw, **prepare["fred_md"])
    index = dates(raw, record["date"])
    skip = {"date", record["date"].get("column"), *record["date"].get("columns", [])}
    chosen = record["columns"]
    if chosen == "all":
        chosen = [c for c in raw.columns if c not in skip]
    elif isinstance(chosen, dict):  # a run of columns, first to last
        names = list(raw.columns)
        chosen = names[names.index(chosen["first"]) : names.index(chosen["last"]) + 1]
    table = raw[chosen].astype(float)
    if "missing" in record:
        table = table.mask(table == record["missing"])
    table.index = index
    table.index.name = "date"
    if table.shape[1] != record["series"]:
        raise PanelError(
            f"{name}: {table.shape[1]} series prepared, not the recorded {record['series']}"
        )
    regular = pd.date_range(table.index[0], periods=len(table), freq=record["frequency"])
    if not table.index.equals(regular):
        raise PanelError(
            f"{name}: the timestamps do not step by the recorded {record['frequency']} "
            f"from {table.index[0]}"
        )
    return table


def inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--mirrors",
        type=Path,
        default=os.environ.get("STANHOP_PANEL_MIRRORS"),
        help="folder of git mirrors, OWNER+NAME/repo or OWNER+NAME (default: "
        "$STANHOP_PANEL_MIRRORS)",
    )
    p.add_argument("--downloads", type=Path, help="folder of downloaded copies of the files")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the panel folder to write")
    p.add_argument("--records", type=Path, default=PANEL_YAML, help="the panel's records")
    p.add_argument("--only", nargs="+", metavar="NAME", help="build these datasets alone")
    args = p.parse_args(argv)
    if inside(args.out, ROOT):
        p.error(f"--out {args.out}: inside the repository; the panel data is never committed")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    records = load_records(args.records)
    names = [r["name"] for r in records]
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        unknown = sorted(set(args.only or ()) - set(names))
        if unknown:
            raise PanelError(f"--only {' '.join(unknown)}: not in the panel ({', '.join(names)})")
        for record in records:
            if args.only and record["name"] not in args.only:
                continue
            table = build_frame(record, read_source(record["source"], args.mirrors, args.downloads))
            path = args.out / f"{record['name']}.csv"
            tmp = path.with_suffix(".tmp")
            table.to_csv(tmp)
            tmp.replace(path)
            missing = int(table.isna().sum().sum())
            print(
                f"{record['name']}: {len(table)} rows x {table.shape[1]} series, "
                f"{record['frequency']}, {table.index[0]} to {table.index[-1]}, "
                f"{missing} missing readings -> {path}",
                flush=True,
            )
    except PanelError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
