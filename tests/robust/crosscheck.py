#!/usr/bin/python3
"""Independent recomputation of `threadx robust` from the results file's /blocks, written from
docs/ROBUST.md alone with numpy (no deduplication, no tiles, no shared partial sums), compared with
the robustness file: ids and counts exactly, every other number to 1e-12 relative.

    /usr/bin/python3 tests/robust/crosscheck.py RESULTS.h5 ROBUST.h5

Checked: CSCV (per split: chosen id, IS and OOS Sharpe, lambda; PBO, probability of OOS loss,
slope, intercept), the DSR's selection (the K best ids by whole-run SR), trials N_t (distinct
streams), V and SR0, and DSR/PSR0 from the file's own SR*, skewness and kurtosis (the moments
come from returns re-run by threadx, which python cannot reach: SR* is checked against the
whole-run SR from the block sums to 1e-10 instead, the two summation orders differing in the last
bits), and every walk-forward fold and the stitched figures.
"""
import itertools
import math
import statistics
import sys

import h5py
import numpy as np

REL = 1e-12
failures = []
checked = 0


def close(name, got, want, rel=REL):
    global checked
    checked += 1
    got, want = float(got), float(want)
    if math.isnan(want) and math.isnan(got):
        return
    if got == want:
        return
    if abs(got - want) <= rel * max(abs(want), abs(got)):
        return
    failures.append(f"{name}: file {got!r}, recomputed {want!r}")


def same(name, got, want):
    global checked
    checked += 1
    if got != want:
        failures.append(f"{name}: file {got!r}, recomputed {want!r}")


def sharpe(s1, s2, n):
    """Section 2, elementwise over arrays; each operation rounded on its own, left to right."""
    s1 = np.asarray(s1, dtype=np.float64)
    s2 = np.asarray(s2, dtype=np.float64)
    if n < 2:
        return np.zeros_like(s1)
    dn = float(n)
    var = (s2 - s1 * s1 / dn) / float(n - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sr = s1 / dn / np.sqrt(np.where(var > 0, var, 1.0))
    return np.where(var > 0, sr, 0.0)


def sums(sum_r, sum_r2, blocks):
    """Sums over the given blocks in increasing order, from +0 (sequential, not pairwise)."""
    s1 = np.zeros(sum_r.shape[0])
    s2 = np.zeros(sum_r.shape[0])
    for b in sorted(blocks):
        s1 = s1 + sum_r[:, b]
        s2 = s2 + sum_r2[:, b]
    return s1, s2


def seq_sum(values):
    total = 0.0
    for v in values:
        total = total + float(v)
    return total


def best(values, mask=None):
    """Index of the largest value, ties to the smallest index; None when nothing is allowed."""
    v = values if mask is None else np.where(mask, values, -np.inf)
    if mask is not None and not mask.any():
        return None
    top = v.max()
    return int(np.flatnonzero(v == top)[0])


def main():
    results_path, robust_path = sys.argv[1], sys.argv[2]
    with h5py.File(results_path, "r") as f:
        blocks = f["blocks"][:]
        bars = int(f.attrs["bar_count"])
    rows, S = blocks.shape
    T = bars - 1
    sum_r = np.ascontiguousarray(blocks["sum_r"], dtype=np.float64)
    sum_r2 = np.ascontiguousarray(blocks["sum_r2"], dtype=np.float64)
    equity = np.ascontiguousarray(blocks["equity"], dtype=np.float64)
    trades = np.ascontiguousarray(blocks["trades"], dtype=np.int64)
    # n_b from b(i) = floor((i-1) S / T)
    n_b = np.bincount([(i - 1) * S // T for i in range(1, T + 1)], minlength=S)
    robust = h5py.File(robust_path, "r")
    print(f"crosscheck: {rows} combinations, S = {S}, T = {T}, n_b = {n_b.tolist()}")

    # ---- CSCV ----
    if "cscv" in robust:
        g = robust["cscv"]
        splits = list(itertools.combinations(range(S), S // 2))
        C = len(splits)
        same("cscv.S", int(g.attrs["S"]), S)
        same("cscv.splits", int(g.attrs["splits"]), C)
        same("cscv.candidates", int(g.attrs["candidates"]), rows)
        table = g["splits"][:]
        same("cscv.splits rows", len(table), C)
        xs, ys, lambdas = [], [], []
        for j, J in enumerate(splits):
            Jc = [b for b in range(S) if b not in J]
            R = sharpe(*sums(sum_r, sum_r2, J), int(n_b[list(J)].sum()))
            Rp = sharpe(*sums(sum_r, sum_r2, Jc), int(n_b[Jc].sum()))
            n = best(R)
            L = int(np.count_nonzero(Rp < Rp[n]))
            Q = int(np.count_nonzero(Rp == Rp[n]))
            w = (L + (Q + 1) / 2) / (rows + 1)
            lam = math.log(w / (1 - w))
            same(f"split {j} chosen", int(table["chosen"][j]), n)
            close(f"split {j} is_sharpe", table["is_sharpe"][j], R[n])
            close(f"split {j} oos_sharpe", table["oos_sharpe"][j], Rp[n])
            close(f"split {j} lambda", table["lambda"][j], lam)
            xs.append(float(R[n]))
            ys.append(float(Rp[n]))
            lambdas.append(lam)
        close("pbo", g.attrs["pbo"], sum(1 for l in lambdas if l <= 0) / C)
        close("prob_oos_loss", g.attrs["prob_oos_loss"], sum(1 for y in ys if y < 0) / C)
        mx, my = seq_sum(xs) / C, seq_sum(ys) / C
        sxx = seq_sum((x - mx) * (x - mx) for x in xs)
        sxy = seq_sum((x - mx) * (y - my) for x, y in zip(xs, ys))
        slope = sxy / sxx if sxx != 0 else math.nan
        close("slope", g.attrs["slope"], slope)
        close("intercept", g.attrs["intercept"], my - slope * mx if sxx != 0 else math.nan)
        print(f"  cscv: {C} splits, pbo {float(g.attrs['pbo']):.6f}")

    # ---- DSR: selection, trials, V, SR0, and the formula ----
    whole = sharpe(*sums(sum_r, sum_r2, range(S)), T)
    dsr = robust["dsr"][:]
    K = len(dsr)
    order = sorted(range(rows), key=lambda i: (-whole[i], i))[:K]
    same("dsr ids", [int(x) for x in dsr["combo_id"]], order)
    keys = np.concatenate([sum_r.view(np.uint64), sum_r2.view(np.uint64)], axis=1)
    _, first = np.unique(keys, axis=0, return_index=True)
    first = np.sort(first)  # each stream's smallest id, in increasing order
    n_t = len(first)
    srs = whole[first]
    mean = seq_sum(srs) / n_t
    V = seq_sum((s - mean) * (s - mean) for s in srs) / (n_t - 1) if n_t >= 2 else math.nan
    if n_t >= 2:
        g_ = 0.5772156649015329
        Z = statistics.NormalDist().inv_cdf
        sr0 = math.sqrt(V) * ((1 - g_) * Z(1 - 1 / n_t) + g_ * Z(1 - 1 / (n_t * math.e)))
    else:
        sr0 = 0.0
    for k in range(K):
        same(f"dsr {k} trials", int(dsr["trials"][k]), n_t)
        close(f"dsr {k} var_sharpe", dsr["var_sharpe"][k], V)
        close(f"dsr {k} sr0", dsr["sr0"][k], sr0)
        sr, g3, g4 = float(dsr["sharpe"][k]), float(dsr["skewness"][k]), float(dsr["kurtosis"][k])
        close(f"dsr {k} sharpe (SR* vs block SR)", sr, whole[order[k]], rel=1e-10)

        def psr(bench):
            arg = 1 - g3 * sr + (g4 - 1) / 4 * sr * sr
            if not arg > 0:
                return math.nan
            z = (sr - bench) * math.sqrt(T - 1) / math.sqrt(arg)
            return 0.5 * math.erfc(-z / math.sqrt(2))

        close(f"dsr {k} dsr", dsr["dsr"][k], psr(sr0))
        close(f"dsr {k} psr0", dsr["psr0"][k], psr(0.0))
    print(f"  dsr: {K} rows, N_t = {n_t}, V = {V:.6g}, SR0 = {sr0:.6g}")

    # ---- walk-forward ----
    if "walk_forward" in robust:
        g = robust["walk_forward"]
        W = int(g.attrs["window"])
        mode = g.attrs["mode"]
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        M = int(g.attrs["min_trades"])
        folds = g["folds"][:]
        same("wf folds", len(folds), S - W)
        n = 0
        s1 = s2 = 0.0
        growth = 1.0
        oos_trades = 0
        is_sum, chose = 0.0, 0
        for k in range(W, S):
            row = folds[k - W]
            first_b = k - W if mode == "rolling" else 0
            ins = list(range(first_b, k))
            cand = trades[:, ins].sum(axis=1) >= M
            R = sharpe(*sums(sum_r, sum_r2, ins), int(n_b[ins].sum()))
            c = best(R, cand)
            same(f"fold {k} fold", int(row["fold"]), k)
            same(f"fold {k} blocks", (int(row["is_first_block"]), int(row["is_last_block"])),
                 (first_b, k - 1))
            n += int(n_b[k])
            if c is None:
                same(f"fold {k} chosen", int(row["chosen"]), -1)
                close(f"fold {k} is_sharpe", row["is_sharpe"], math.nan)
                close(f"fold {k} oos_sharpe", row["oos_sharpe"], 0.0)
                close(f"fold {k} oos_growth", row["oos_growth"], 1.0)
                same(f"fold {k} oos_trades", int(row["oos_trades"]), 0)
                s1, s2 = s1 + 0.0, s2 + 0.0
                continue
            g_k = equity[c, k] / equity[c, k - 1]
            same(f"fold {k} chosen", int(row["chosen"]), c)
            close(f"fold {k} is_sharpe", row["is_sharpe"], R[c])
            close(f"fold {k} oos_sharpe", row["oos_sharpe"],
                  sharpe([sum_r[c, k]], [sum_r2[c, k]], int(n_b[k]))[0])
            close(f"fold {k} oos_growth", row["oos_growth"], g_k)
            same(f"fold {k} oos_trades", int(row["oos_trades"]), int(trades[c, k]))
            s1, s2 = s1 + sum_r[c, k], s2 + sum_r2[c, k]
            growth = growth * g_k
            oos_trades += int(trades[c, k])
            is_sum, chose = is_sum + float(R[c]), chose + 1
        oos_sharpe = float(sharpe([s1], [s2], n)[0])
        close("wf oos_sharpe", g.attrs["oos_sharpe"], oos_sharpe)
        close("wf oos_total_return", g.attrs["oos_total_return"], growth - 1)
        same("wf oos_trades", int(g.attrs["oos_trades"]), oos_trades)
        mean_is = is_sum / chose if chose else math.nan
        eff = oos_sharpe / mean_is if chose and mean_is != 0 else math.nan
        close("wf wf_efficiency", g.attrs["wf_efficiency"], eff)
        print(f"  walk-forward: {mode} W = {W}, {S - W} folds, OOS total return {growth - 1:+.6f}")

    if failures:
        for f_ in failures[:40]:
            print("MISMATCH " + f_)
        print(f"crosscheck: {len(failures)} of {checked} checks failed")
        return 1
    print(f"crosscheck: all {checked} checks agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
