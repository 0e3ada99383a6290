#!/usr/bin/env python3
"""Cross-check a dasynth run's profiles against pandas.

    python3 tests/crosscheck/pandas_crosscheck.py RUNDIR [--verbose] [--json FILE]

Reads RUNDIR/catalog.parquet (pyarrow) and RUNDIR/profiles/<id>.json, reads every table
whose status is "ok" with pandas the way its read_options say, and compares:

  failures (exit 1):
    - n_rows: catalog vs profile vs pandas
    - n_columns: catalog vs profile vs pandas
    - per column (matched by position): null_count, distinct_count (pandas nunique())
    - per column both sides call numeric: min, max (relative 1e-12), mean (relative 1e-9,
      or absolute 1e-9 x max(|min|, |max|) for means near zero), std with ddof=1
      (relative 1e-6, the algorithms differ)
    - a header name that differs (when the table has a header and pandas did not have to
      invent or de-duplicate the name)
    - a missing or unreadable profile JSON for an "ok" table
  warnings (reported, exit 0):
    - a column that one side calls numeric and the other does not
    - a table pandas itself cannot read
    - duplicate_rows differing from pandas' df.duplicated().sum()
    - header names pandas invented ("Unnamed: 3") or de-duplicated ("a.1")

dasynth takes pandas' default missing-value text ("", "NA", "N/A", "null", ...) as null in
CSV and Excel files, so every pandas read here uses pandas' defaults.

Exit status: 0 when everything agrees, 1 when anything disagrees (each disagreement is
listed: table, column, field, ours vs pandas), 2 when RUNDIR has no catalog.
Dependencies: see requirements.txt beside this script.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import sqlite3
import sys
import warnings

warnings.simplefilter("ignore")

DEDUP_RE = re.compile(r"^(.*)\.(\d+)$")


def read_table(rundir: str, entry: dict):
    """Read one catalog entry with pandas; returns a DataFrame or raises."""
    import pandas as pd

    fmt = (entry.get("format") or "").lower()
    path = os.path.join(rundir, entry["path"])
    member = entry.get("member")
    ro = entry.get("read_options") or {}
    skip = int(ro.get("skip_rows") or 0)
    has_header = ro.get("has_header")
    has_header = True if has_header is None else bool(has_header)

    if fmt in ("csv", "tsv"):
        delim = ro.get("delimiter") or ("\t" if fmt == "tsv" else ",")
        enc = ro.get("encoding") or "utf-8"
        kw = dict(sep=delim, encoding=enc, skiprows=skip, header=0 if has_header else None)
        quote = ro.get("quote") if "quote" in ro else '"'
        if quote:
            kw["quotechar"] = quote
        else:
            kw["quoting"] = csv.QUOTE_NONE
        return pd.read_csv(path, low_memory=False, **kw)
    if fmt == "json":
        return pd.read_json(path, dtype=False, convert_dates=False)
    if fmt == "jsonl":
        return pd.read_json(path, lines=True, dtype=False, convert_dates=False)
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "arrow":
        import pyarrow as pa
        import pyarrow.ipc as ipc

        try:
            with pa.memory_map(path) as src:
                return ipc.open_file(src).read_all().to_pandas()
        except pa.ArrowInvalid:
            with pa.memory_map(path) as src:
                return ipc.open_stream(src).read_all().to_pandas()
    if fmt in ("xlsx", "xls"):
        sheet = member if member is not None else 0
        return pd.read_excel(path, sheet_name=sheet, skiprows=skip, header=0 if has_header else None)
    if fmt == "sqlite":
        if member is None:
            raise ValueError("sqlite entry without a member (table/view name)")
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            name = str(member).replace('"', '""')
            return pd.read_sql(f'SELECT * FROM "{name}"', con)
        finally:
            con.close()
    raise ValueError(f"unknown format {fmt!r}")


def pandas_is_numeric(s) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(s.dtype)) and not bool(pd.api.types.is_bool_dtype(s.dtype))


def as_float(v):
    if v is None:
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def close(a, b, rel, abs_tol=0.0) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol)


class Report:
    def __init__(self):
        self.failures: list[tuple] = []
        self.warnings: list[tuple] = []
        self.checked_tables = 0
        self.checked_columns = 0

    def fail(self, table, column, field, ours, theirs):
        self.failures.append((table, column, field, ours, theirs))

    def warn(self, table, column, field, ours, theirs):
        self.warnings.append((table, column, field, ours, theirs))


def check_entry(rundir: str, entry: dict, rep: Report, verbose: bool):
    import pandas as pd

    tid = entry["id"]
    label = f"{entry.get('name') or tid}" + (f"[{entry['member']}]" if entry.get("member") else "") + f" ({tid})"
    prof_path = os.path.join(rundir, "profiles", f"{tid}.json")
    try:
        with open(prof_path, encoding="utf-8") as f:
            prof = json.load(f)
    except FileNotFoundError:
        rep.fail(label, "-", "profile", "missing", f"expected {os.path.relpath(prof_path, rundir)}")
        return
    except Exception as e:  # noqa: BLE001
        rep.fail(label, "-", "profile", f"unreadable: {e}", "-")
        return

    try:
        df = read_table(rundir, entry)
    except Exception as e:  # noqa: BLE001
        rep.warn(label, "-", "pandas read", "ok in dasynth", f"pandas cannot read it: {type(e).__name__}: {str(e)[:200]}")
        return
    rep.checked_tables += 1

    # table level
    n_rows, n_cols = len(df), df.shape[1]
    for field, ours_cat, ours_prof, theirs in (
        ("n_rows", entry.get("n_rows"), prof.get("n_rows"), n_rows),
        ("n_columns", entry.get("n_columns"), prof.get("n_columns"), n_cols),
    ):
        if ours_cat is not None and int(ours_cat) != theirs:
            rep.fail(label, "-", f"{field} (catalog)", ours_cat, theirs)
        if ours_prof is None or int(ours_prof) != theirs:
            rep.fail(label, "-", f"{field} (profile)", ours_prof, theirs)

    if prof.get("duplicate_rows") is not None:
        try:
            dup = int(df.duplicated().sum())
            if int(prof["duplicate_rows"]) != dup:
                rep.warn(label, "-", "duplicate_rows", prof["duplicate_rows"], f"{dup} (df.duplicated().sum())")
        except Exception:  # noqa: BLE001  (unhashable cells)
            pass

    cols = prof.get("columns") or []
    if len(cols) != n_cols:
        rep.fail(label, "-", "len(columns)", len(cols), n_cols)
    has_header = (entry.get("read_options") or {}).get("has_header")
    has_header = True if has_header is None else bool(has_header)

    for i, (pc, pname) in enumerate(zip(cols, df.columns)):
        rep.checked_columns += 1
        s = df.iloc[:, i]
        ours_name = pc.get("name")
        cname = f"#{i} {ours_name!r}"
        if has_header and str(ours_name) != str(pname):
            invented = str(pname).startswith("Unnamed:")
            m = DEDUP_RE.match(str(pname))
            deduped = bool(m) and m.group(1) in [str(c) for c in df.columns[:i]]
            if invented or deduped:
                rep.warn(label, cname, "name", ours_name, pname)
            else:
                rep.fail(label, cname, "name", ours_name, pname)

        nulls = int(s.isna().sum())
        if pc.get("null_count") is None or int(pc["null_count"]) != nulls:
            rep.fail(label, cname, "null_count", pc.get("null_count"), nulls)
        try:
            distinct = int(s.nunique(dropna=True))
        except TypeError:  # unhashable values (lists, dicts from JSON)
            distinct = int(s.dropna().map(lambda v: json.dumps(v, sort_keys=True, default=str)).nunique())
        if pc.get("distinct_count") is None or int(pc["distinct_count"]) != distinct:
            # A spreadsheet column mixing cell types (True, 1, "1", a date) is text to dasynth;
            # pandas keeps the Python objects, where True == 1 and 123 != "123". Their distinct
            # counts measure different things, so that is a warning, not a disagreement.
            kinds = {type(v).__name__ for v in s.dropna()}
            if s.dtype == object and len(kinds) > 1:
                rep.warn(label, cname, "distinct_count (mixed cell types " + "/".join(sorted(kinds)) + ")", pc.get("distinct_count"), distinct)
            else:
                rep.fail(label, cname, "distinct_count", pc.get("distinct_count"), distinct)

        ours_num = pc.get("numeric")
        theirs_num = pandas_is_numeric(s)
        if nulls == len(s):
            continue  # no values: whether an all-null column is "numeric" is only a dtype choice
        if (ours_num is not None) != theirs_num:
            rep.warn(label, cname, "numeric?", f"dtype {pc.get('dtype')}, numeric={'yes' if ours_num is not None else 'no'}",
                     f"dtype {s.dtype}, numeric={'yes' if theirs_num else 'no'}")
            continue
        if not theirs_num:
            continue
        x = pd.to_numeric(s, errors="coerce").astype("float64").dropna()
        if len(x) == 0:
            for field in ("min", "max", "mean"):
                if as_float(ours_num.get(field)) is not None:
                    rep.fail(label, cname, field, ours_num.get(field), None)
            continue
        mn, mx, mean = float(x.min()), float(x.max()), float(x.mean())
        std = float(x.std(ddof=1)) if len(x) > 1 else None
        scale = max(abs(mn), abs(mx), 1e-300)
        checks = (
            ("min", mn, 1e-12, 0.0),
            ("max", mx, 1e-12, 0.0),
            ("mean", mean, 1e-9, 1e-9 * scale),
            ("std", std, 1e-6, 1e-9 * scale),
        )
        for field, theirs, rel, abs_tol in checks:
            if field not in ours_num:
                if field != "std":
                    rep.fail(label, cname, field, "absent", theirs)
                continue
            ours = as_float(ours_num.get(field))
            if field == "std" and (theirs is None or (ours is None and len(x) < 2)):
                continue
            if not close(ours, theirs, rel, abs_tol):
                rep.fail(label, cname, field, ours_num.get(field), theirs)
    if verbose:
        print(f"checked {label}: {n_rows} rows x {n_cols} columns", file=sys.stderr)


def fmt_val(v) -> str:
    if isinstance(v, float):
        return repr(v)
    s = str(v)
    return s if len(s) <= 120 else s[:117] + "..."


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rundir")
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--json", help="also write the findings as JSON to this file")
    args = ap.parse_args()

    import pyarrow.parquet as pq

    cat_path = os.path.join(args.rundir, "catalog.parquet")
    if not os.path.exists(cat_path):
        print(f"error: {cat_path} not found", file=sys.stderr)
        return 2
    entries = pq.read_table(cat_path).to_pylist()
    rep = Report()
    skipped = []
    for entry in entries:
        if entry.get("status") != "ok":
            skipped.append(entry)
            continue
        try:
            check_entry(args.rundir, entry, rep, args.verbose)
        except Exception as e:  # noqa: BLE001  (keep going: one odd table must not hide the rest)
            rep.warn(entry.get("name") or entry.get("id"), "-", "crosscheck error", f"{type(e).__name__}: {e}", "-")

    print(f"catalog: {len(entries)} entries, {len(entries) - len(skipped)} ok, {len(skipped)} not ok (skipped)")
    print(f"checked {rep.checked_tables} tables, {rep.checked_columns} columns against pandas")
    if rep.warnings:
        print(f"\n{len(rep.warnings)} warning(s):")
        print("  table | column | field | ours | pandas")
        for t, c, f, o, p in rep.warnings:
            print(f"  {t} | {c} | {f} | {fmt_val(o)} | {fmt_val(p)}")
    if rep.failures:
        print(f"\n{len(rep.failures)} disagreement(s):")
        print("  table | column | field | ours | pandas")
        for t, c, f, o, p in rep.failures:
            print(f"  {t} | {c} | {f} | {fmt_val(o)} | {fmt_val(p)}")
    else:
        print("\nall checked numbers agree with pandas")
    if args.json:
        keys = ("table", "column", "field", "ours", "pandas")
        with open(args.json, "w") as f:
            json.dump({"failures": [dict(zip(keys, map(fmt_val, r))) for r in rep.failures],
                       "warnings": [dict(zip(keys, map(fmt_val, r))) for r in rep.warnings],
                       "checked_tables": rep.checked_tables, "checked_columns": rep.checked_columns}, f, indent=1)
    return 1 if rep.failures else 0


if __name__ == "__main__":
    sys.exit(main())
