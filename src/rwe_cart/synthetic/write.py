"""Write the bundled synthetic data files (``make data``).

    python -m rwe_cart.synthetic.write data/synthetic

writes ``rocca_like.csv`` (registry form, ISO dates), ``zuma3_like_adsl.csv``,
``zuma3_like_adtte.csv``, ``zuma3_like_adrs.csv`` and the same three ADaM tables as SAS
transport v5 (``zuma3_like_adsl.xpt``, ...), all from the default seeds, so the
output is the same on every run (the .xpt headers carry a creation time; their data do not
change).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import pyreadstat

from . import rocca, zuma3

FILES = ("rocca_like.csv", "zuma3_like_adsl.csv", "zuma3_like_adtte.csv", "zuma3_like_adrs.csv",
         "zuma3_like_adsl.xpt", "zuma3_like_adtte.xpt", "zuma3_like_adrs.xpt")


def to_csv_text(frame: pd.DataFrame) -> str:
    """CSV text with ISO dates (YYYY-MM-DD), empty cells for missing values, ``\\n`` endings."""
    out = frame.copy()
    for col in zuma3.date_columns(frame):
        out[col] = frame[col].dt.strftime("%Y-%m-%d").astype(object).where(frame[col].notna(), None)
    return out.to_csv(index=False, lineterminator="\n")


def bundled_frames(rocca_seed: int = rocca.DEFAULT_SEED,
                   zuma3_seed: int = zuma3.DEFAULT_SEED) -> dict[str, pd.DataFrame]:
    """The frames behind the bundled files: rocca_like, zuma3_like_adsl, _adtte, _adrs."""
    frame, _ = rocca.simulate_rocca(rocca_seed)
    zframe, _ = zuma3.simulate_zuma3(zuma3_seed)
    adsl, adtte = zuma3.to_adam(zframe)
    return {"rocca_like": frame, "zuma3_like_adsl": adsl, "zuma3_like_adtte": adtte,
            "zuma3_like_adrs": zuma3.to_adrs(zframe)}


def write(directory: str | Path, *, rocca_seed: int = rocca.DEFAULT_SEED,
          zuma3_seed: int = zuma3.DEFAULT_SEED) -> list[Path]:
    """Write the bundled cohorts into ``directory`` (lab series under ``labs/``); return their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    frames = bundled_frames(rocca_seed, zuma3_seed)
    written = []
    for name, frame in frames.items():
        path = directory / f"{name}.csv"
        path.write_text(to_csv_text(frame), encoding="utf-8", newline="")
        written.append(path)
    for name, table, labels in (("zuma3_like_adsl", "ADSL", zuma3.ADSL_LABELS),
                                ("zuma3_like_adtte", "ADTTE", zuma3.ADTTE_LABELS),
                                ("zuma3_like_adrs", "ADRS", zuma3.ADRS_LABELS)):
        frame = frames[name]
        path = directory / f"{name}.xpt"
        formats = {col: "DATE9" for col in zuma3.date_columns(frame)}
        pyreadstat.write_xport(zuma3.for_xport(frame), str(path), file_label=f"ZUMA-3-like {table}",
                               column_labels={c: labels.get(c) for c in frame.columns},
                               table_name=table, file_format_version=5, variable_format=formats)
        written.append(path)
    from .labs import write_labs

    written += write_labs(directory / "labs", rocca_seed=rocca_seed, zuma3_seed=zuma3_seed)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rwe_cart.synthetic.write",
                                     description="Write the bundled synthetic cohorts.")
    parser.add_argument("directory", nargs="?", default="data/synthetic")
    parser.add_argument("--rocca-seed", type=int, default=rocca.DEFAULT_SEED)
    parser.add_argument("--zuma3-seed", type=int, default=zuma3.DEFAULT_SEED)
    args = parser.parse_args(argv)
    for path in write(args.directory, rocca_seed=args.rocca_seed, zuma3_seed=args.zuma3_seed):
        print(path)


if __name__ == "__main__":
    main()
