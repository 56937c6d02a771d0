"""The study's rank tests (pbtnas_stats_cases, core/rank_tests.hpp) against scipy.

Usage: /usr/bin/python3 stats_vs_scipy.py PATH/TO/pbtnas_stats_cases   (run by stats_vs_scipy.sh)

Every case of a fixed table (with and without ties, with zero differences, 3 to 13 pairs, 51 to
90 for the normal approximation, every alternative) is run by the C++ driver and compared with
the scipy value that computes the same quantity (docs/study.md, "Checked against scipy"):

* signed-rank, no ties and no zeros, n <= 50: scipy.stats.wilcoxon (method "auto": exact);
* signed-rank with tied |d| or zero differences, n <= 13: scipy.stats.permutation_test over all
  2^n sign swaps within the pairs (permutation_type "samples", n_resamples=inf: exact) of
  W+ = the rank sum of the positive nonzero differences. scipy's own wilcoxon is not exact there
  (1.10: with ties it looks W+ up, truncated to an integer, in the no-ties table; with zeros it
  switches to the normal approximation); its value is printed for information only;
* signed-rank, n > 50: scipy.stats.wilcoxon(method="approx") (zero_method "wilcox", no continuity
  correction, tie-corrected variance);
* rank-sum without ties, N <= 40: scipy.stats.mannwhitneyu(method="exact");
* rank-sum with ties, N <= 40: scipy.stats.permutation_test over all splits (permutation_type
  "independent", n_resamples=inf: exact) of U1; scipy's mannwhitneyu switches to the normal
  approximation there;
* rank-sum, N > 40: scipy.stats.mannwhitneyu(method="asymptotic") (continuity correction).

Exits 0 when every p-value (and the one-sided statistic) agrees to 1e-9 relative, 1 otherwise.
"""
import subprocess
import sys
import warnings

import numpy as np
import scipy
from scipy import stats

TOL = 1e-9


def w_plus(x, y, axis=-1):
    """Rank sum of the positive differences, zeros dropped (vectorized over the leading axes)."""
    d = np.asarray(x, float) - np.asarray(y, float)
    # The zeros are the smallest |d|: ranking with them and subtracting their count gives the
    # ranks among the nonzero differences (a sign swap leaves the zeros as they are).
    r = stats.rankdata(np.abs(d), axis=axis) - np.sum(d == 0, axis=axis, keepdims=True)
    return np.sum(np.where(d > 0, r, 0.0), axis=axis)


def u1(a, b, axis=-1):
    r = stats.rankdata(np.concatenate([a, b], axis=axis), axis=axis)
    n1 = np.shape(a)[axis]
    return np.sum(r[..., :n1], axis=axis) - n1 * (n1 + 1) / 2


def has_ties(v):
    return len(np.unique(v)) != len(v)


def cases():
    """The fixed table: (test, alternative, x, y)."""
    out = []
    alts = ["greater", "less", "two-sided"]
    # Hand-picked: the paper's smallest designs and the documented examples.
    hand = [
        ([11, 12, 13, 14, 15, 16, 17, 18, 19], [1, 3, 2, 5, 4, 7, 6, 9, 8]),  # 9 positive: 1/512
        ([3, 4, 5], [1, 1, 1]),                                              # 3 positive: 1/8
        ([2, 0, 4, 6, 8], [1, 2, 1, 2, 3]),                                  # d = 1 -2 3 4 5
        ([1, 3.5, 2.5, 0.5, 4], [1, 2, 1, 1, 2]),                            # a zero and ties
        ([2, 2, 0], [1, 1, 2]),                                              # d = 1 1 -2
        ([1, 2, 3, 4], [1, 1, 1, 1]),                                        # a zero
        ([13.25, 14.1, 12.4], [14.9, 13.6, 16.2]),                           # FID-like
    ]
    for x, y in hand:
        for alt in alts:
            out.append(("signed_rank", alt, x, y))
    rng = np.random.default_rng(20230925)
    # Random pairs, n = 3..13: continuous (no ties), rounded to a grid (ties, zeros).
    for n in range(3, 14):
        for kind in ["distinct", "grid"]:
            for alt in alts:
                x = rng.normal(0.3, 1.0, n)
                y = rng.normal(0.0, 1.0, n)
                if kind == "grid":
                    x, y = np.round(x * 2) / 2, np.round(y * 2) / 2
                out.append(("signed_rank", alt, list(x), list(y)))
    # Normal approximation: more than 50 nonzero differences, without and with ties and zeros.
    for n, grid in [(51, None), (60, 10), (90, 2)]:
        for alt in alts:
            x = rng.normal(0.2, 1.0, n)
            y = rng.normal(0.0, 1.0, n)
            if grid:
                x, y = np.round(x * grid) / grid, np.round(y * grid) / grid
            assert np.sum(x != y) > 50, "an approximation case needs more than 50 nonzero differences"
            out.append(("signed_rank", alt, list(x), list(y)))
    # Rank-sum: the documented cases, then random samples (ties on a grid), then the approximation.
    for a, b in [([1, 1, 1], [2, 2, 2]), ([1, 2, 2], [2, 3, 4]), ([1, 2, 3], [4, 5, 6]), ([5, 5], [5, 5])]:
        for alt in alts:
            out.append(("rank_sum", alt, a, b))
    for n1, n2 in [(3, 3), (3, 5), (4, 4), (5, 6), (6, 6), (7, 7), (9, 12), (20, 20)]:
        for kind in ["distinct", "grid"]:
            if kind == "grid" and n1 + n2 > 14:
                continue  # keeps scipy's enumeration of the splits short
            for alt in alts:
                a = rng.normal(0.5, 1.0, n1)
                b = rng.normal(0.0, 1.0, n2)
                if kind == "grid":
                    a, b = np.round(a), np.round(b)
                out.append(("rank_sum", alt, list(a), list(b)))
    for n1, n2, grid in [(21, 21, False), (25, 30, True)]:
        for alt in alts:
            a = rng.normal(0.3, 1.0, n1)
            b = rng.normal(0.0, 1.0, n2)
            if grid:
                a, b = np.round(a), np.round(b)
            out.append(("rank_sum", alt, list(a), list(b)))
    return out


def scipy_value(test, alt, x, y):
    """(p, statistic or None, which scipy method, scipy's default p for information or None)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if test == "signed_rank":
            d = x - y
            nz = d[d != 0]
            zeros, ties = int(np.sum(d == 0)), has_ties(np.abs(nz))
            if len(nz) > 50:
                r = stats.wilcoxon(x, y, alternative=alt, method="approx")
                return r.pvalue, (r.statistic if alt != "two-sided" else None), "wilcoxon(method='approx')", None
            if not zeros and not ties:
                r = stats.wilcoxon(x, y, alternative=alt)
                return r.pvalue, (r.statistic if alt != "two-sided" else None), "wilcoxon (auto: exact)", None
            assert len(d) <= 16, "scipy enumerates 2^n sign swaps: keep exact cases with ties or zeros small"
            r = stats.permutation_test((x, y), w_plus, permutation_type="samples", alternative=alt,
                                       n_resamples=np.inf, vectorized=True)
            default = stats.wilcoxon(x, y, alternative=alt).pvalue
            return r.pvalue, r.statistic, "permutation_test(samples, exact)", default
        n = len(x) + len(y)
        ties = has_ties(np.concatenate([x, y]))
        if n > 40:
            r = stats.mannwhitneyu(x, y, alternative=alt, method="asymptotic")
            return r.pvalue, r.statistic, "mannwhitneyu(method='asymptotic')", None
        if not ties:
            r = stats.mannwhitneyu(x, y, alternative=alt, method="exact")
            return r.pvalue, r.statistic, "mannwhitneyu(method='exact')", None
        assert n <= 16, "scipy enumerates the splits: keep exact cases with ties small"
        r = stats.permutation_test((x, y), u1, permutation_type="independent", alternative=alt,
                                   n_resamples=np.inf, vectorized=True)
        default = stats.mannwhitneyu(x, y, alternative=alt).pvalue
        return r.pvalue, r.statistic, "permutation_test(independent, exact)", default


def close(a, b):
    return abs(a - b) <= TOL * max(abs(a), abs(b), 1e-300) or abs(a - b) <= 1e-15


def main():
    driver = sys.argv[1]
    table = cases()
    fmt = lambda v: ",".join(repr(float(e)) for e in v)
    text = "".join(f"{t} {alt} {fmt(x)} {fmt(y)}\n" for t, alt, x, y in table)
    run = subprocess.run([driver], input=text, capture_output=True, text=True)
    if run.returncode != 0:
        print(run.stdout, run.stderr)
        print(f"FAIL: {driver} exited {run.returncode}")
        return 1
    lines = run.stdout.split("\n")[: len(table)]
    if len(lines) != len(table) or not all(lines):
        print(run.stdout)
        print(f"FAIL: {len(table)} cases, but the driver printed {len([l for l in lines if l])} lines")
        return 1
    print(f"scipy {scipy.__version__}, numpy {np.__version__}: {len(table)} cases, tolerance {TOL} relative")
    bad = 0
    for (test, alt, x, y), line in zip(table, lines):
        p, exact, stat = line.split()
        p, stat = float(p), float(stat)
        sp, sstat, how, default = scipy_value(test, alt, x, y)
        ok = close(p, sp) and (sstat is None or close(stat, float(sstat)))
        bad += not ok
        info = f"  (scipy's default: {default:.6g})" if default is not None and not close(default, sp) else ""
        print(f"{'ok  ' if ok else 'FAIL'} {test:11s} {alt:9s} n={len(x):2d},{len(y):2d} "
              f"pbtnas p={p:.12g} ({'exact' if exact == '1' else 'approx'}, stat {stat:g})  "
              f"scipy {how}: p={sp:.12g}{'' if sstat is None else f', stat {float(sstat):g}'}{info}")
    if bad:
        print(f"FAIL: {bad} of {len(table)} cases differ from scipy")
        return 1
    print(f"all {len(table)} cases agree with scipy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
