#!/usr/bin/env python3
"""Demand forecasting side by side: fabrik's forecaster against statsforecast, on the same
series, scored by the same code.

Usage:
    python3 scripts/forecast_peers.py [--engines fabrik,statsforecast] [--fabrik CMD]
        [--work DIR] [--json OUT.json] [--plant-series DIR] [--groups monthly,quarterly,...]
        [--speed 10000] [--reps 1] [--jobs -1] [--weekly-arima nonseasonal]

`--engines fabrik --work DIR --reuse-statsforecast` scores fabrik beside the statsforecast rows
an earlier run with the same `--work DIR` left (statsforecast takes minutes per group).

`--fabrik` (or $FABRIK_FORECAST) is fabrik's forecasting command, by default
target/release/examples/forecast_csv (`cargo build --release --example forecast_csv`).
`--engines statsforecast` runs without it.

Accuracy. Every group of series is written once as a long CSV (`series_id,ts,y`, ISO dates)
and each engine forecasts it by rolling origin, exactly where statsforecast's
`cross_validation(h, n_windows, step_size)` places the windows (the last window ends at the
series' last observation):

  monthly    m=12 h=18 windows 6 step 6  co2 (Mauna Loa, weekly -> monthly means), elnino
                                         (sea surface temperature), elec_equip (euro-area
                                         orders), housing starts (US, not seasonally adjusted)
  quarterly  m=4  h=8  windows 4 step 4  macrodata (12 US series), danish_data (5),
                                         interest_inflation (2)
  yearly     m=1  h=6  windows 3 step 3  fertility (World Bank, one series per country),
                                         sunspots, nile
  option-/sku-regular, option-/sku-intermittent
             m=52 h=12 windows 4 step 4  the plant's weekly demand (`--plant-series DIR`
                                         with option_weekly.csv and sku_weekly.csv),
                                         split by Syntetos-Boylan: ADI > 1.32 on the
                                         training part (before the first cutoff) is
                                         intermittent

All public series ship inside the statsmodels package (statsmodels.datasets, and the
housing-starts CSV of its Holt-Winters tests): nothing is downloaded. Missing values: co2's
weekly gaps are skipped in the monthly means and the 5 months without any reading are
linearly interpolated; fertility's leading and trailing empty years are trimmed and the
countries with a gap inside their span (or no data) are left out. A series shorter than
max(m + 1, 3h) before its first cutoff is left out (and counted).

Engines: statsforecast (AutoETS, AutoTheta, AutoARIMA, SeasonalNaive on regular groups;
CrostonOptimized, CrostonSBA, TSB(alpha_d = alpha_p = 0.1: statsforecast has no default,
0.1 is sktime's and SAP HANA PAL's), ADIDA, IMAPA, SeasonalNaive on intermittent ones; 80/95 % intervals, conformal (2 windows of h) for the models without
their own; on the weekly regular groups AutoARIMA runs with season 1 unless
`--weekly-arima seasonal`, as a season-52 AutoARIMA took 0.2 to 13 s a fit here) and fabrik (`CMD --input IN --horizon H --season S --level 80,95 --backtest W
--step K --model MODEL --out OUT --quiet`, models `--fabrik-models` on regular groups and
`--fabrik-models-intermittent` on intermittent ones). Each engine runs as a child process
(statsforecast is this script re-invoked with `--run-statsforecast`), timed by wait4: wall,
CPU (user + system, including reaped worker processes) and peak RSS (the largest single
process).

Scores, computed here from each engine's rows, per series and window (the scale is the
in-sample seasonal-naive error of the training data up to that window's cutoff):
MASE, RMSSE, bias (forecast - actual), 80/95 % interval coverage and the scaled pinball
loss (mean pinball loss at the 2.5/10/90/97.5 % quantiles the interval ends stand for,
divided by the MASE scale). Per group: regular groups rank by relative MASE, the geometric
mean over series x windows of MAE / MAE of the seasonal naive on the same window;
intermittent groups rank by relative RMSSE, the arithmetic mean of RMSSE over series x
windows divided by the seasonal naive's (arithmetic, because zero errors are common in
intermittent series and break a geometric mean), with the bias beside it. The seasonal
naive baseline is computed here from the training data, not taken from an engine.
Each group's verdict (fabrik `auto` against the best statsforecast model) carries a paired
bootstrap that resamples whole series (seeded, 4,000 resamples): the ratio of the two scores
with its 90% interval and the share of resamples in which fabrik is at least as accurate
(and, on intermittent groups, less biased), so a lead or lag inside the noise reads as such.

Speed (`--speed N`, 0 skips): N seeded synthetic weekly demand series x 156 weeks (level,
trend, yearly seasonality, multiplicative noise; positive); statsforecast
AutoETS(season_length=52).forecast(h=12, level=[80, 95]) against fabrik `--model ets
--horizon 12 --season 52 --level 80,95`, both on all cores, interleaved `--reps` times,
medians.
"""

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from child import run  # the sibling module: runs and measures one child

LEVELS = (80, 95)
# The interval ends as quantiles: lo_80 = q0.10, hi_80 = q0.90, lo_95 = q0.025, hi_95 = q0.975.
QUANTILES = (("lo_95", 0.025), ("lo_80", 0.10), ("hi_80", 0.90), ("hi_95", 0.975))
OUT_COLUMNS = ["series_id", "cutoff", "ts", "model", "y", "mean", "lo_80", "hi_80", "lo_95", "hi_95"]
REGULAR_MODELS = "ets,theta,arima,snaive"
INTERMITTENT_MODELS = "croston,sba,tsb,adida,imapa,snaive"
ADI_CUT = 1.32
CV2_CUT = 0.49

# name -> (season, horizon, windows, step)
SPECS = {
    "monthly": (12, 18, 6, 6),
    "quarterly": (4, 8, 4, 4),
    "yearly": (1, 6, 3, 3),
    "weekly": (52, 12, 4, 4),
}


# --------------------------------------------------------------------------------------
# Datasets


def statsmodels_groups():
    """The public series shipped inside statsmodels, as {group: (frame, notes)}."""
    import importlib

    import statsmodels.api as sm

    class _Sets:
        def __getattr__(self, name):
            return importlib.import_module(f"statsmodels.datasets.{name}")

    smd = _Sets()

    def frame(sid, dates, y):
        return pd.DataFrame({"series_id": sid, "ts": pd.DatetimeIndex(dates), "y": np.asarray(y, dtype=float)})

    monthly, quarterly, yearly, notes = [], [], [], []

    co2 = smd.co2.load_pandas().data["co2"]
    co2m = co2.resample("MS").mean()
    gaps = int(co2m.isna().sum())
    co2m = co2m.interpolate("linear")
    monthly.append(frame("co2", co2m.index, co2m.values))
    notes.append(f"co2: weekly readings -> monthly means ({co2.isna().sum()} weekly gaps skipped), {gaps} empty months interpolated")

    el = smd.elnino.load_pandas().data
    months = [c for c in el.columns if c != "YEAR"]
    vals = el[months].to_numpy().ravel()
    monthly.append(frame("elnino", pd.date_range(f"{int(el.YEAR.iloc[0])}-01-01", periods=len(vals), freq="MS"), vals))

    ee = smd.elec_equip.load_pandas().data
    monthly.append(frame("elec_equip", ee.index, ee.iloc[:, 0].values))

    hs_path = os.path.join(os.path.dirname(sm.__file__), "tsa", "holtwinters", "tests", "results", "housing-data.csv")
    hs = pd.read_csv(hs_path, parse_dates=["DATE"])
    monthly.append(frame("housing_starts", hs.DATE, hs.HOUSTNSA))

    md = smd.macrodata.load_pandas().data
    qd = pd.to_datetime([f"{int(y)}-{3 * int(q) - 2:02d}-01" for y, q in zip(md.year, md.quarter)])
    for c in md.columns:
        if c not in ("year", "quarter"):
            quarterly.append(frame(f"macro_{c}", qd, md[c].values))
    dd = smd.danish_data.load_pandas().data
    for c in dd.columns:
        quarterly.append(frame(f"danish_{c}", dd.index, dd[c].values))
    ii = smd.interest_inflation.load_pandas().data
    qi = pd.to_datetime([f"{int(y)}-{3 * int(q) - 2:02d}-01" for y, q in zip(ii.year, ii.quarter)])
    for c in ("Dp", "R"):
        quarterly.append(frame(f"interest_inflation_{c}", qi, ii[c].values))

    fe = smd.fertility.load_pandas().data
    years = [c for c in fe.columns if c.isdigit()]
    interior = empty = 0
    for _, row in fe.iterrows():
        v = row[years].to_numpy(dtype=float)
        ok = ~np.isnan(v)
        if not ok.any():
            empty += 1
            continue
        i, j = int(np.argmax(ok)), len(v) - int(np.argmax(ok[::-1]))
        if (~ok[i:j]).any():
            interior += 1
            continue
        yearly.append(frame(f"fertility_{row['Country Code']}", pd.to_datetime([f"{y}-01-01" for y in years[i:j]]), v[i:j]))
    notes.append(f"fertility: leading/trailing empty years trimmed; {interior} countries with inner gaps and {empty} without data left out")
    ss = smd.sunspots.load_pandas().data
    yearly.append(frame("sunspots", pd.to_datetime([f"{int(y)}-01-01" for y in ss.YEAR]), ss.SUNACTIVITY))
    ni = smd.nile.load_pandas().data
    yearly.append(frame("nile", pd.to_datetime([f"{int(y)}-01-01" for y in ni.year]), ni.volume))

    return {
        "monthly": (pd.concat(monthly, ignore_index=True), notes[:1]),
        "quarterly": (pd.concat(quarterly, ignore_index=True), []),
        "yearly": (pd.concat(yearly, ignore_index=True), notes[1:]),
    }


def classify(df, h, windows, step):
    """Syntetos-Boylan on each series' training part (before its first cutoff):
    {series_id: (adi, cv2, class)}; ADI is the mean interval between demands (the first
    counted from the series' start), CV2 the squared coefficient of variation of the
    non-zero demands."""
    out = {}
    for sid, g in df.groupby("series_id", sort=False):
        y = g["y"].to_numpy()
        train = y[: len(y) - h - (windows - 1) * step]
        nz = np.flatnonzero(train > 0)
        if len(nz) == 0:
            out[sid] = (math.inf, math.nan, "no demand")
            continue
        adi = (nz[-1] + 1) / len(nz)
        sizes = train[nz]
        cv2 = float((sizes.std() / sizes.mean()) ** 2) if len(nz) > 1 else 0.0
        cls = ("lumpy" if cv2 >= CV2_CUT else "intermittent") if adi > ADI_CUT else ("erratic" if cv2 >= CV2_CUT else "smooth")
        out[sid] = (adi, cv2, cls)
    return out


def plant_groups(d, spec):
    """The plant's weekly series split into regular and intermittent groups."""
    m, h, w, k = spec
    groups = {}
    for name in ("option", "sku"):
        path = os.path.join(d, f"{name}_weekly.csv")
        if not os.path.exists(path):
            print(f"plant: {path} not found, group {name} skipped", file=sys.stderr)
            continue
        df = pd.read_csv(path, parse_dates=["ts"])[["series_id", "ts", "y"]]
        df["series_id"] = df["series_id"].astype(str)
        df, dropped = drop_short(df, m, h, w, k)
        cls = classify(df, h, w, k)
        counts = pd.Series([c for _, _, c in cls.values()]).value_counts().to_dict()
        none = [s for s, (_, _, c) in cls.items() if c == "no demand"]
        inter = {s for s, (a, _, c) in cls.items() if a > ADI_CUT and c != "no demand"}
        note = (
            f"{name}: {df.series_id.nunique()} series ({dropped} too short left out, {len(none)} without demand in training left out); "
            f"Syntetos-Boylan classes {counts}"
        )
        reg = df[~df.series_id.isin(inter) & ~df.series_id.isin(none)]
        itm = df[df.series_id.isin(inter)]
        meta = {s: {"adi": a, "cv2": c2, "class": c} for s, (a, c2, c) in cls.items()}
        if len(reg):
            groups[f"{name}-regular"] = (reg.reset_index(drop=True), [note], meta)
        if len(itm):
            groups[f"{name}-intermittent"] = (itm.reset_index(drop=True), [note], meta)
    return groups


def drop_short(df, m, h, w, k):
    """Leaves out series with fewer than max(m + 1, 3h) observations before the first cutoff."""
    need = max(m + 1, 3 * h) + h + (w - 1) * k
    n = df.groupby("series_id", sort=False)["y"].transform("size")
    keep = n >= need
    return df[keep].reset_index(drop=True), int(df.loc[~keep, "series_id"].nunique())


def write_input(df, path):
    out = df[["series_id", "ts", "y"]].copy()
    out["ts"] = out["ts"].dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False, float_format="%.10g")


def infer_freq(df):
    g = df[df.series_id == df.series_id.iloc[0]]
    f = pd.infer_freq(pd.DatetimeIndex(g.ts))
    if f is None:
        sys.exit(f"cannot infer the frequency of series {df.series_id.iloc[0]}")
    return f


# --------------------------------------------------------------------------------------
# The statsforecast child


def sf_models(names, season, h):
    from statsforecast.models import (
        ADIDA,
        IMAPA,
        TSB,
        AutoARIMA,
        AutoETS,
        AutoTheta,
        CrostonOptimized,
        CrostonSBA,
        SeasonalNaive,
    )
    from statsforecast.utils import ConformalIntervals

    ci = ConformalIntervals(h=h, n_windows=2)
    make = {
        "ets": lambda: AutoETS(season_length=season),
        "theta": lambda: AutoTheta(season_length=season),
        "arima": lambda: AutoARIMA(season_length=season),
        "arima1": lambda: AutoARIMA(season_length=1, alias="AutoARIMA(m=1)"),
        "snaive": lambda: SeasonalNaive(season_length=season),
        "croston": lambda: CrostonOptimized(prediction_intervals=ci),
        "sba": lambda: CrostonSBA(prediction_intervals=ci),
        "tsb": lambda: TSB(alpha_d=0.1, alpha_p=0.1, prediction_intervals=ci),
        "adida": lambda: ADIDA(prediction_intervals=ci),
        "imapa": lambda: IMAPA(prediction_intervals=ci),
    }
    return [make[n]() for n in names.split(",")]


def run_statsforecast(argv):
    """The child: forecasts IN.csv with statsforecast and writes OUT.csv in fabrik's layout.
    Prints one JSON line: the rows written and the time inside the forecasting call."""
    import resource

    ap = argparse.ArgumentParser(prog="forecast_peers.py --run-statsforecast")
    ap.add_argument("--input", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--horizon", type=int, required=True)
    ap.add_argument("--season", type=int, required=True)
    ap.add_argument("--freq", required=True)
    ap.add_argument("--level", default="80,95")
    ap.add_argument("--backtest", type=int, default=0)
    ap.add_argument("--step", type=int, default=1)
    ap.add_argument("--models", required=True)
    ap.add_argument("--jobs", type=int, default=-1)
    ap.add_argument("--warmup", action="store_true", help="fit the models once on a tiny input first")
    a = ap.parse_args(argv)
    import warnings

    from statsforecast import StatsForecast

    warnings.simplefilter("ignore")  # AutoARIMA's convergence notes would flood the log
    level = [int(x) for x in a.level.split(",")]
    df = pd.read_csv(a.input, parse_dates=["ts"]).rename(columns={"series_id": "unique_id", "ts": "ds"})
    df["unique_id"] = df["unique_id"].astype(str)
    if a.warmup:
        first = df[df.unique_id == df.unique_id.iloc[0]]
        StatsForecast(models=sf_models(a.models, a.season, a.horizon), freq=a.freq, n_jobs=1).forecast(
            df=first, h=a.horizon, level=level
        )

    def cpu():
        s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

    sf = StatsForecast(models=sf_models(a.models, a.season, a.horizon), freq=a.freq, n_jobs=a.jobs)
    t0, c0 = time.perf_counter(), cpu()
    if a.backtest:
        res = sf.cross_validation(df=df, h=a.horizon, n_windows=a.backtest, step_size=a.step, level=level)
    else:
        res = sf.forecast(df=df, h=a.horizon, level=level)
    wall, cpu_s = time.perf_counter() - t0, cpu() - c0

    res = res.reset_index() if "unique_id" not in res.columns else res
    names = [m.alias for m in sf.models]
    parts = []
    for name in names:
        p = pd.DataFrame({"series_id": res["unique_id"].astype(str), "ts": res["ds"].dt.strftime("%Y-%m-%d"), "model": name})
        if a.backtest:
            p.insert(1, "cutoff", res["cutoff"].dt.strftime("%Y-%m-%d"))
            p["y"] = res["y"].to_numpy()
        p["mean"] = res[name].to_numpy()
        for lv in level:
            p[f"lo_{lv}"] = res[f"{name}-lo-{lv}"].to_numpy()
            p[f"hi_{lv}"] = res[f"{name}-hi-{lv}"].to_numpy()
        parts.append(p)
    out = pd.concat(parts, ignore_index=True)
    out.to_csv(a.out, index=False, float_format="%.10g")
    print(json.dumps({"rows": len(out), "call_wall": wall, "call_cpu": cpu_s, "numba_loaded": "numba" in sys.modules}))


# --------------------------------------------------------------------------------------
# Running children




def sf_cmd(inp, out, spec, freq, models, jobs, backtest=True, warmup=False):
    m, h, w, k = spec
    cmd = [sys.executable, os.path.abspath(__file__), "--run-statsforecast", "--input", inp, "--out", out,
           "--horizon", str(h), "--season", str(m), "--freq", freq, "--models", models, "--jobs", str(jobs)]
    if backtest:
        cmd += ["--backtest", str(w), "--step", str(k)]
    if warmup:
        cmd.append("--warmup")
    return cmd


def fabrik_cmd(fabrik, inp, out, spec, model, backtest=True):
    m, h, w, k = spec
    cmd = [*fabrik.split(), "--input", inp, "--horizon", str(h), "--season", str(m), "--level", "80,95"]
    if backtest:
        cmd += ["--backtest", str(w), "--step", str(k)]
    return cmd + ["--model", model, "--out", out, "--quiet"]


# --------------------------------------------------------------------------------------
# Scoring


def windows_frame(df, spec):
    """The expected (series_id, cutoff, ts) points, the actuals, the scales and the seasonal
    naive baseline of every window, from the input series."""
    m, h, w, k = spec
    rows, wins = [], []
    for sid, g in df.groupby("series_id", sort=False):
        y = g["y"].to_numpy(dtype=float)
        ts = g["ts"].dt.strftime("%Y-%m-%d").to_numpy()
        n = len(y)
        for i in range(w):
            end = n - h - (w - 1 - i) * k  # training is y[:end]
            train = y[:end]
            lag = m if end > m else 1
            d = train[lag:] - train[:-lag]
            snaive = train[end - lag + np.arange(h) % lag]
            wins.append((sid, ts[end - 1], float(np.mean(np.abs(d))), float(np.mean(d * d))))
            for j in range(h):
                rows.append((sid, ts[end - 1], ts[end + j], y[end + j], snaive[j]))
    pts = pd.DataFrame(rows, columns=["series_id", "cutoff", "ts", "actual", "snaive"])
    win = pd.DataFrame(wins, columns=["series_id", "cutoff", "scale", "scale2"])
    return pts, win


def load_out(path, engine, model_arg):
    out = pd.read_csv(path, dtype={"series_id": str, "cutoff": str, "ts": str, "model": str})
    missing = [c for c in OUT_COLUMNS if c not in out.columns]
    if missing:
        sys.exit(f"{engine}: {path} lacks the columns {missing}")
    if engine == "statsforecast":
        out["key"] = "statsforecast " + out["model"]
    else:
        out["key"] = f"fabrik {model_arg}"
    return out


def pinball(y, q, tau):
    d = y - q
    return np.maximum(tau * d, (tau - 1) * d)


def score(out, pts, win):
    """Per (engine, model) key: the group's figures. Also returns warnings."""
    warnings = []
    want = pts.set_index(["series_id", "cutoff", "ts"])
    win_i = win.set_index(["series_id", "cutoff"])
    results, per_window = {}, {}
    for key, o in out.groupby("key", sort=False):
        o = o.set_index(["series_id", "cutoff", "ts"])
        dup = int(o.index.duplicated().sum())
        if dup:
            warnings.append(f"{key}: {dup} duplicate rows, the first kept")
            o = o[~o.index.duplicated()]
        extra = len(o.index.difference(want.index))
        j = want.join(o[["y", "mean", "lo_80", "hi_80", "lo_95", "hi_95"]], how="inner")
        if extra:
            warnings.append(f"{key}: {extra} rows at points outside the expected windows (ignored)")
        if len(j) < len(want):
            warnings.append(f"{key}: {len(want) - len(j)} of {len(want)} expected points missing; scored on the rest")
        bad_y = j["y"].notna() & (np.abs(j["y"] - j["actual"]) > 1e-6 * (1 + np.abs(j["actual"])))
        if bad_y.any():
            warnings.append(f"{key}: {int(bad_y.sum())} rows whose y differs from the input's actual")
        nan_mean = int(j["mean"].isna().sum())
        if nan_mean:
            warnings.append(f"{key}: {nan_mean} points without a forecast (left out)")
            j = j[j["mean"].notna()]
        y, f = j["actual"].to_numpy(), j["mean"].to_numpy()
        j = j.assign(ae=np.abs(f - y), se=(f - y) ** 2, err=f - y,
                     b_ae=np.abs(j["snaive"] - y), b_se=(j["snaive"] - y) ** 2)
        pl = np.zeros(len(j))
        for col, tau in QUANTILES:
            pl += pinball(y, j[col].to_numpy(), tau)
        j["pl"] = pl / len(QUANTILES)
        for lv in LEVELS:
            j[f"in_{lv}"] = (j[f"lo_{lv}"] <= j["actual"]) & (j["actual"] <= j[f"hi_{lv}"])
        w = j.groupby(level=["series_id", "cutoff"]).agg(
            mae=("ae", "mean"), mse=("se", "mean"), b_mae=("b_ae", "mean"), b_mse=("b_se", "mean"), pl=("pl", "mean"),
            err=("err", "sum"))
        w = w.join(win_i)
        pos = w["scale"] > 0
        ws = w[pos]
        mase = ws["mae"] / ws["scale"]
        rmsse = np.sqrt(ws["mse"] / ws["scale2"])
        b_rmsse = np.sqrt(ws["b_mse"] / ws["scale2"])
        both = (w["mae"] > 0) & (w["b_mae"] > 0)
        rel = np.exp(np.mean(np.log(w.loc[both, "mae"] / w.loc[both, "b_mae"]))) if both.any() else math.nan
        has_pi = j["lo_80"].notna().all() and j["hi_95"].notna().all()
        results[key] = {
            "points": int(len(j)),
            "windows": int(len(w)),
            "windows_zero_scale": int((~pos).sum()),
            "windows_rel_mase_left_out": int((~both).sum()),
            "mase": float(mase.mean()),
            "rel_mase": float(rel),
            "rmsse": float(rmsse.mean()),
            "rel_rmsse": float(rmsse.mean() / b_rmsse.mean()) if b_rmsse.mean() > 0 else math.nan,
            "bias": float(j["err"].mean()),
            "bias_pct": float(100 * j["err"].mean() / j["actual"].mean()) if j["actual"].mean() != 0 else math.nan,
            "cov_80": float(j["in_80"].mean()) if has_pi else math.nan,
            "cov_95": float(j["in_95"].mean()) if has_pi else math.nan,
            "spl": float((ws["pl"] / ws["scale"]).mean()) if has_pi else math.nan,
        }
        if "model" in o.columns and key.startswith("fabrik"):
            chosen = o["model"].groupby(level=["series_id", "cutoff"]).first().value_counts()
            results[key]["fitted_models"] = {str(k): int(v) for k, v in chosen.items()}
        per_window[key] = w
    # The seasonal naive computed here and statsforecast's must agree.
    sn = results.get("statsforecast SeasonalNaive")
    if sn is not None and not math.isnan(sn["rel_mase"]) and abs(sn["rel_mase"] - 1) > 1e-6:
        warnings.append(f"statsforecast SeasonalNaive differs from the baseline computed here (rel MASE {sn['rel_mase']:.6f})")
    return results, warnings, per_window


BOOT_RESAMPLES = 4000


def paired_bootstrap(wf, wb, intermittent, seed=7):
    """How sure the comparison of two engines on one group is: a paired bootstrap that
    resamples whole series (their windows are not independent), each resample scored as the
    group is. Returns the ratio of scores (fabrik / peer; below 1: fabrik more accurate) on
    the windows both scored, its 90% interval, the share of resamples where fabrik is at
    least as accurate and, on intermittent groups, the share where its pooled |bias| is
    smaller."""
    j = wf.join(wb, how="inner", lsuffix="_f", rsuffix="_b")
    if intermittent:
        j = j[j["scale2_f"] > 0]
        num, den = np.sqrt(j["mse_f"] / j["scale2_f"]), np.sqrt(j["mse_b"] / j["scale2_f"])
    else:
        j = j[(j["mae_f"] > 0) & (j["b_mae_f"] > 0) & (j["mae_b"] > 0)]
        num = np.log(j["mae_f"] / j["mae_b"])  # the seasonal naive's MAE cancels in the ratio
        den = pd.Series(1.0, index=j.index)
    if len(j) == 0:
        return None
    per = pd.DataFrame({"num": num, "den": den, "ef": j["err_f"], "eb": j["err_b"]})
    per = per.groupby(level="series_id").sum()
    n = len(per)
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=BOOT_RESAMPLES)
    num_r, den_r = counts @ per["num"].to_numpy(), counts @ per["den"].to_numpy()
    ratio_r = num_r / den_r if intermittent else np.exp(num_r / den_r)
    ratio = per["num"].sum() / per["den"].sum()
    ratio = ratio if intermittent else math.exp(ratio)
    lo, hi = np.quantile(ratio_r, [0.05, 0.95])
    out = {"ratio": float(ratio), "lo90": float(lo), "hi90": float(hi), "series": int(n), "windows": int(len(j)),
           "p_at_least_as_accurate": float(np.mean(ratio_r <= 1.0))}
    if intermittent:
        out["p_less_biased"] = float(np.mean(np.abs(counts @ per["ef"].to_numpy()) < np.abs(counts @ per["eb"].to_numpy())))
    return out


COLS_REGULAR = [("MASE", "mase", "min"), ("rel MASE", "rel_mase", "min"), ("RMSSE", "rmsse", "min"),
                ("bias %", "bias_pct", "abs"), ("cov 80", "cov_80", 0.80), ("cov 95", "cov_95", 0.95), ("sPL", "spl", "min")]
COLS_INTERMITTENT = [("RMSSE", "rmsse", "min"), ("rel RMSSE", "rel_rmsse", "min"), ("MASE", "mase", "min"),
                     ("bias", "bias", "abs"), ("bias %", "bias_pct", "abs"), ("cov 80", "cov_80", 0.80),
                     ("cov 95", "cov_95", 0.95), ("sPL", "spl", "min")]


def table(results, intermittent):
    cols = COLS_INTERMITTENT if intermittent else COLS_REGULAR
    best = {}
    for _, f, how in cols:
        vals = {k: r[f] for k, r in results.items() if not math.isnan(r[f])}
        if not vals:
            continue
        if how == "min":
            d = {k: v for k, v in vals.items()}
        elif how == "abs":
            d = {k: abs(v) for k, v in vals.items()}
        else:
            d = {k: abs(v - how) for k, v in vals.items()}
        lo = min(d.values())
        best[f] = {k for k, v in d.items() if v <= lo + 1e-12}
    lines = ["| engine | model | " + " | ".join(c for c, _, _ in cols) + " |", "|---|---|" + "---|" * len(cols)]
    for key, r in results.items():
        eng, model = key.split(" ", 1)
        cells = []
        for _, f, _ in cols:
            v = r[f]
            if math.isnan(v):
                cells.append("–")
            else:
                s = f"{v:.1%}" if f.startswith("cov") else (f"{v:+.2f}" if f == "bias_pct" else (f"{v:+.4g}" if f == "bias" else f"{v:.3f}"))
                cells.append(s + (" *" if key in best.get(f, ()) else ""))
        lines.append(f"| {eng} | {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(name, results, intermittent, per_window):
    """The issue's target on one group, with how sure it is: the verdict's text and the
    `paired_bootstrap` against the best statsforecast model (None when either is missing)."""
    fab = results.get("fabrik auto")
    sf = {k: r for k, r in results.items() if k.startswith("statsforecast ")}
    if fab is None:
        return f"{name}: fabrik auto not run", None
    if not sf:
        return f"{name}: statsforecast not run", None
    f = "rel_rmsse" if intermittent else "rel_mase"
    bk = min(sf, key=lambda k: sf[k][f])
    ok = fab[f] <= sf[bk][f]
    label = "rel RMSSE" if intermittent else "rel MASE"
    s = (f"{name}: fabrik auto {label} {fab[f]:.3f} vs best statsforecast {bk.split(' ', 1)[1]} "
         f"{sf[bk][f]:.3f}: at least as accurate: {'yes' if ok else 'no'}")
    if intermittent:
        lb = min(sf, key=lambda k: abs(sf[k]["bias"]))
        less = abs(fab["bias"]) < abs(sf[bk]["bias"])
        s += (f"; |bias| {abs(fab['bias']):.4g} vs {bk.split(' ', 1)[1]} {abs(sf[bk]['bias']):.4g}: less biased: "
              f"{'yes' if less else 'no'} (least biased statsforecast: {lb.split(' ', 1)[1]} {abs(sf[lb]['bias']):.4g})")
    b = paired_bootstrap(per_window["fabrik auto"], per_window[bk], intermittent)
    if b is not None:
        b.update(peer=bk.split(" ", 1)[1], fabrik_score=fab[f], peer_score=sf[bk][f], measure=label,
                 fabrik_bias_pct=fab["bias_pct"], peer_bias_pct=sf[bk]["bias_pct"])
        s += (f". Paired bootstrap over {b['series']} series ({BOOT_RESAMPLES} resamples, {b['windows']} windows): "
              f"ratio {b['ratio']:.3f}, 90% interval {b['lo90']:.3f}..{b['hi90']:.3f}, fabrik at least as accurate "
              f"in {b['p_at_least_as_accurate']:.0%} of resamples")
        if intermittent:
            s += f", less biased in {b['p_less_biased']:.0%}"
    return s, b


def verdict_svg(boot):
    """A forest plot of the verdicts: per group, fabrik `auto`'s score over the best
    statsforecast model's (log scale; left of 1: fabrik more accurate) with the paired
    bootstrap's 90% interval."""
    from html import escape
    rows = list(boot.items())
    lo = max(1e-3, min(0.9, min(b["lo90"] for _, b in rows) * 0.98))  # a ratio of 0 has no log
    hi = max(1.1, max(b["hi90"] for _, b in rows) * 1.02)
    left, plot_w, right, top, row_h = 150, 420, 520, 56, 30
    width, height = left + plot_w + right, top + row_h * len(rows) + 46
    x = lambda r: left + plot_w * (math.log(max(r, lo)) - math.log(lo)) / (math.log(hi) - math.log(lo))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="20" font-size="14" font-weight="bold">fabrik auto against the best '
           f'statsforecast model, per group</text>',
           f'<text x="{left}" y="38" fill="#555">score ratio (log scale; left of 1: fabrik more accurate), '
           f'90% paired bootstrap interval over series</text>']
    ticks = [t for t in (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.3, 1.5) if lo <= t <= hi]
    y_axis = top + row_h * len(rows)
    for t in ticks:
        out.append(f'<line x1="{x(t):.1f}" y1="{top - 6}" x2="{x(t):.1f}" y2="{y_axis}" '
                   f'stroke="{"#333" if t == 1.0 else "#ddd"}" stroke-width="{1.5 if t == 1.0 else 1}"/>')
        out.append(f'<text x="{x(t):.1f}" y="{y_axis + 16}" text-anchor="middle" fill="#555">{t:g}</text>')
    for i, (name, b) in enumerate(rows):
        y = top + row_h * i + row_h / 2
        colour = "#2a7d2a" if b["ratio"] <= 1.0 else "#c0392b"
        out.append(f'<text x="{left - 10}" y="{y + 4:.1f}" text-anchor="end">{escape(name)}</text>')
        out.append(f'<line x1="{x(b["lo90"]):.1f}" y1="{y:.1f}" x2="{x(b["hi90"]):.1f}" y2="{y:.1f}" '
                   f'stroke="{colour}" stroke-width="2"/>')
        out.append(f'<circle cx="{x(b["ratio"]):.1f}" cy="{y:.1f}" r="4.5" fill="{colour}"/>')
        note = (f'{b["fabrik_score"]:.3f} vs {escape(b["peer"])} {b["peer_score"]:.3f}; '
                f'at least as accurate in {b["p_at_least_as_accurate"]:.0%}')
        if "p_less_biased" in b:
            note += f'; bias {b["fabrik_bias_pct"]:+.1f}% vs {b["peer_bias_pct"]:+.1f}%'
        out.append(f'<text x="{left + plot_w + 10}" y="{y + 4:.1f}" fill="#333">{note}</text>')
    out.append('</svg>')
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------
# Speed


def speed_series(n, weeks=156, seed=42):
    """Synthetic weekly demand: level x (1 + trend) x (1 + yearly seasonality) x noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    level = rng.lognormal(np.log(100), 1.0, n)[:, None]
    trend = rng.normal(0, 0.002, n)[:, None]
    amp = rng.uniform(0, 0.4, n)[:, None]
    phase = rng.uniform(0, 2 * np.pi, n)[:, None]
    noise = rng.lognormal(0, rng.uniform(0.05, 0.25, n)[:, None], (n, weeks))
    y = level * np.maximum(1 + trend * t, 0.2) * (1 + amp * np.sin(2 * np.pi * t / 52 + phase)) * noise
    dates = pd.date_range("2022-01-03", periods=weeks, freq="W-MON")
    return pd.DataFrame({
        "series_id": np.repeat([f"s{i:06d}" for i in range(n)], weeks),
        "ts": np.tile(dates, n),
        "y": np.round(y.ravel(), 3),
    })


def speed(a, engines, work):
    n = a.speed
    spec = (52, 12, 0, 0)
    d = os.path.join(work, "speed")
    os.makedirs(d, exist_ok=True)
    inp = os.path.join(d, "in.csv")
    write_input(speed_series(n, seed=a.seed), inp)
    cmds = {}
    if "fabrik" in engines:
        cmds["fabrik ets"] = lambda: fabrik_cmd(a.fabrik, inp, os.path.join(d, "fabrik.csv"), spec, "ets", backtest=False)
    if "statsforecast" in engines:
        cmds["statsforecast AutoETS"] = lambda: sf_cmd(inp, os.path.join(d, "statsforecast.csv"), spec, "W-MON", "ets",
                                                       a.jobs, backtest=False, warmup=True)
    res = {k: [] for k in cmds}
    for rep in range(a.reps):
        for k, make in cmds.items():
            wall, cpu, rss, stdout = run(make())
            outp = os.path.join(d, "fabrik.csv" if k.startswith("fabrik") else "statsforecast.csv")
            with open(outp) as f:
                rows = sum(1 for _ in f) - 1
            if rows != n * 12:  # one row per series and step
                sys.exit(f"{k}: wrote {rows} rows, expected {n * 12}")
            r = {"wall": wall, "cpu": cpu, "rss_mib": rss}
            if k.startswith("statsforecast"):
                r.update(json.loads(stdout.strip().splitlines()[-1]))
            res[k].append(r)
            print(f"speed rep {rep + 1} {k:22} wall {wall:7.2f} s  cpu {cpu:7.2f} s  peak RSS {rss:6.0f} MiB", file=sys.stderr)
    summary = {}
    for k, rs in res.items():
        s = {f: statistics.median(r[f] for r in rs) for f in ("wall", "cpu", "rss_mib")}
        s["series_per_cpu_s"] = n / s["cpu"]
        s["series_per_wall_s"] = n / s["wall"]
        if "call_wall" in rs[0]:
            s["call_wall"] = statistics.median(r["call_wall"] for r in rs)
            s["call_cpu"] = statistics.median(r["call_cpu"] for r in rs)
            s["numba_loaded"] = any(r["numba_loaded"] for r in rs)
        summary[k] = s
    fabrik_models = None
    if "fabrik ets" in res:
        fo = pd.read_csv(os.path.join(d, "fabrik.csv"), usecols=["series_id", "model"])
        fabrik_models = {str(k): int(v) for k, v in fo.groupby("series_id")["model"].first().value_counts().head(8).items()}
    print(f"\n## Speed: {n:,} weekly series x 156 weeks, h = 12, season 52, 80/95 % intervals; "
          f"median of {a.reps}, `nproc` = {os.cpu_count()}\n")
    print("| engine | model | wall s | series / wall s | CPU s | series / CPU s | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for k, s in summary.items():
        eng, model = k.split(" ", 1)
        print(f"| {eng} | {model} | {s['wall']:.2f} | {s['series_per_wall_s']:,.0f} | {s['cpu']:.2f} | "
              f"{s['series_per_cpu_s']:,.0f} | {s['rss_mib']:.0f} |")
    if len(summary) == 2:
        f, sfs = summary["fabrik ets"], summary["statsforecast AutoETS"]
        print(f"\nfabrik vs statsforecast: {sfs['wall'] / f['wall']:.1f}x the wall speed, "
              f"{f['series_per_cpu_s'] / sfs['series_per_cpu_s']:.1f}x the series per CPU second")
    sfs = summary.get("statsforecast AutoETS")
    if sfs:
        print(f"\nstatsforecast's figures are the whole child process: starting Python, importing statsforecast, "
              f"reading the CSV, a warm-up fit on one series, forecasting, writing the CSV. The forecast call alone took "
              f"{sfs['call_wall']:.2f} s wall, {sfs['call_cpu']:.2f} s CPU. numba loaded in the child: "
              f"{'yes, so JIT compilation happened in the warm-up, inside the process timing' if sfs['numba_loaded'] else 'no (statsforecast 2.x models are compiled code, no JIT to warm)'}. "
              f"statsforecast (like R's ets) fits no seasonal ETS with a season over 24, so its AutoETS(season_length=52) "
              f"chooses among non-seasonal models.")
    if fabrik_models:
        print(f"fabrik's fitted models (series counts, top 8): {fabrik_models}")
    return {"series": n, "weeks": 156, "reps": a.reps, "runs": res, "median": summary, "fabrik_models": fabrik_models}


# --------------------------------------------------------------------------------------


def no_nan(x):
    """NaN (a figure that does not exist, e.g. coverage without intervals) as JSON null."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: no_nan(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [no_nan(v) for v in x]
    return x


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--run-statsforecast":
        return run_statsforecast(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engines", default="fabrik,statsforecast")
    ap.add_argument("--fabrik", default=os.environ.get("FABRIK_FORECAST", "target/release/examples/forecast_csv"),
                    help="fabrik's forecasting command (default $FABRIK_FORECAST or target/release/examples/forecast_csv)")
    ap.add_argument("--fabrik-models", default="auto,ets", help="fabrik models on regular groups")
    ap.add_argument("--fabrik-models-intermittent", default="auto,croston,sba,tsb", help="fabrik models on intermittent groups")
    ap.add_argument("--weekly-arima", choices=("seasonal", "nonseasonal", "off"), default="nonseasonal",
                    help="statsforecast's AutoARIMA on the weekly groups: season 52 (0.2-13 s a fit here), "
                         "season 1 (default), or none")
    ap.add_argument("--groups", default=None, help="comma list of groups to run (default: all; none: only the speed test)")
    ap.add_argument("--plant-series", default=None, help="directory with option_weekly.csv and sku_weekly.csv")
    ap.add_argument("--work", default=None, help="scratch directory (default: a temp dir, removed)")
    ap.add_argument("--json")
    ap.add_argument("--svg", help="draw the verdicts (ratio to the best statsforecast model, 90%% interval) as an SVG chart")
    ap.add_argument("--reuse-statsforecast", action="store_true",
                    help="without statsforecast in --engines: score the rows an earlier run with the same --work "
                         "DIR saved (DIR/GROUP/statsforecast.csv) beside this run's fabrik rows")
    ap.add_argument("--jobs", type=int, default=-1, help="statsforecast n_jobs (default -1: all cores)")
    ap.add_argument("--speed", type=int, default=10000, help="series in the speed test (0 skips it)")
    ap.add_argument("--reps", type=int, default=1, help="timed repetitions of the speed test (median)")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    for e in engines:
        if e not in ("fabrik", "statsforecast"):
            sys.exit(f"unknown engine {e}")
    if "fabrik" in engines and not shutil.which(a.fabrik.split()[0]):
        sys.exit(f"fabrik's forecaster not found at {a.fabrik}: build it (cargo build --release --example forecast_csv), "
                 f"pass --fabrik CMD, or run with --engines statsforecast")
    work = a.work or tempfile.mkdtemp(prefix="fabrik-forecast-peers-")
    os.makedirs(work, exist_ok=True)
    only = (set() if a.groups == "none" else set(a.groups.split(","))) if a.groups else None
    known = {"monthly", "quarterly", "yearly", "option-regular", "option-intermittent", "sku-regular", "sku-intermittent"}
    if only and only - known:
        sys.exit(f"--groups: unknown group(s) {', '.join(sorted(only - known))}; "
                 f"the groups are {', '.join(sorted(known))} (or none: only the speed test)")
    t_start = time.perf_counter()

    groups = {}
    if only is None or only & {"monthly", "quarterly", "yearly"}:
        for name, (df, notes) in statsmodels_groups().items():
            groups[name] = (SPECS[name], df, notes, False, None)
    if a.plant_series and (only is None or any(g.startswith(("option", "sku")) for g in only)):
        for name, (df, notes, meta) in plant_groups(a.plant_series, SPECS["weekly"]).items():
            groups[name] = (SPECS["weekly"], df, notes, name.endswith("intermittent"), meta)
    else:
        print("no --plant-series: the plant's weekly groups are skipped", file=sys.stderr)
    if only:
        groups = {k: v for k, v in groups.items() if k in only}

    report = {"engines": engines, "groups": {}, "nproc": os.cpu_count()}
    for name, (spec, df, notes, intermittent, meta) in groups.items():
        m, h, w, k = spec
        df, dropped = drop_short(df, m, h, w, k)
        gdir = os.path.join(work, name)
        os.makedirs(gdir, exist_ok=True)
        inp = os.path.join(gdir, "in.csv")
        write_input(df, inp)
        freq = infer_freq(df)
        lens = df.groupby("series_id").size()
        nser = len(lens)
        head = (f"{name}: {nser} series, length {lens.min()}-{lens.max()} (median {int(lens.median())}), "
                f"season {m}, horizon {h}, {w} windows step {k}, freq {freq}"
                + (f", {dropped} too short left out" if dropped else ""))
        print(f"\n## {head}", file=sys.stderr)
        runs, outs = {}, []
        if "statsforecast" in engines:
            out = os.path.join(gdir, "statsforecast.csv")
            models = INTERMITTENT_MODELS if intermittent else REGULAR_MODELS
            if m == 52 and not intermittent:
                models = models.replace("arima", {"seasonal": "arima", "nonseasonal": "arima1", "off": ""}[a.weekly_arima])
                models = ",".join(x for x in models.split(",") if x)
            wall, cpu, rss, stdout = run(sf_cmd(inp, out, spec, freq, models, a.jobs))
            runs["statsforecast (all models)"] = {"wall": wall, "cpu": cpu, "rss_mib": rss, **json.loads(stdout.strip().splitlines()[-1])}
            outs.append(load_out(out, "statsforecast", None))
            print(f"  statsforecast  wall {wall:7.2f} s  cpu {cpu:7.2f} s  peak RSS {rss:6.0f} MiB", file=sys.stderr)
        elif a.reuse_statsforecast:
            out = os.path.join(gdir, "statsforecast.csv")
            if os.path.exists(out):
                outs.append(load_out(out, "statsforecast", None))
                print(f"  statsforecast  rows of an earlier run reused from {out}", file=sys.stderr)
            else:
                print(f"  statsforecast  no earlier rows at {out}: not scored", file=sys.stderr)
        if "fabrik" in engines:
            for model in (a.fabrik_models_intermittent if intermittent else a.fabrik_models).split(","):
                out = os.path.join(gdir, f"fabrik-{model}.csv")
                wall, cpu, rss, _ = run(fabrik_cmd(a.fabrik, inp, out, spec, model))
                runs[f"fabrik {model}"] = {"wall": wall, "cpu": cpu, "rss_mib": rss}
                outs.append(load_out(out, "fabrik", model))
                print(f"  fabrik {model:8} wall {wall:7.2f} s  cpu {cpu:7.2f} s  peak RSS {rss:6.0f} MiB", file=sys.stderr)
        pts, win = windows_frame(df, spec)
        results, warns, per_window = score(pd.concat(outs, ignore_index=True), pts, win)
        v, boot = verdict(name, results, intermittent, per_window)
        print(f"\n## {head}\n")
        for note in notes:
            print(f"- {note}")
        print(f"- ranked by {'rel RMSSE (arithmetic means)' if intermittent else 'rel MASE (geometric mean)'}; "
              f"{len(win)} windows, {len(pts)} points; * marks the best of a column "
              f"(coverage: nearest the nominal)\n")
        print(table(results, intermittent))
        print()
        print("| run | wall s | CPU s | peak RSS MiB |\n|---|---|---|---|")
        for rk, r in runs.items():
            print(f"| {rk} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['rss_mib']:.0f} |")
        for key, r in results.items():
            if "fitted_models" in r:
                top = dict(list(r["fitted_models"].items())[:6])
                print(f"\n{key} chose (windows, top 6): {top}")
        for wmsg in warns:
            print(f"WARNING {wmsg}")
        print(f"\nverdict: {v}")
        report["groups"][name] = {
            "season": m, "horizon": h, "windows": w, "step": k, "freq": freq, "intermittent": intermittent,
            "series": nser, "length_min": int(lens.min()), "length_max": int(lens.max()), "left_out_short": dropped,
            "notes": notes, "scores": results, "runs": runs, "warnings": warns, "verdict": v, "bootstrap": boot,
            "series_ids": sorted(lens.index.tolist()),
            **({"syntetos_boylan": {s: meta[s] for s in lens.index if s in meta}} if meta else {}),
        }
    if a.speed > 0:
        report["speed"] = speed(a, engines, work)
    report["runtime_s"] = time.perf_counter() - t_start
    print(f"\ntotal {report['runtime_s']:.0f} s", file=sys.stderr)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(no_nan(report), f, indent=1)
    if a.svg:
        drawn = {k: g["bootstrap"] for k, g in report["groups"].items() if g.get("bootstrap")}
        if drawn:
            with open(a.svg, "w") as f:
                f.write(verdict_svg(drawn))
            print(f"chart of the verdicts: {a.svg}", file=sys.stderr)
        else:
            print(f"--svg: no group has both fabrik auto and statsforecast rows: {a.svg} not written", file=sys.stderr)
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
