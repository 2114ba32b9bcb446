#!/usr/bin/env python3
"""Plots of docs/results.md from the JSON that scripts/results.sh writes.

    python scripts/plot_results.py /tmp/ddim-results     # → docs/results-table1.png, docs/results-inversion.png
    python scripts/plot_results.py --table1 SWEEP_DIR     # → docs/results-table1.png from SWEEP_DIR/table1.json

A cell with 95 % intervals (eval_digits.py --sweep) gets them as error bars.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The paper's Table 2 (CIFAR10, reconstruction MSE of DDIM inversion) and Table 1 (CIFAR10 FID).
PAPER_INVERSION = {10: 0.014, 20: 0.0065, 50: 0.0023, 100: 0.0009, 200: 0.0004, 500: 0.0001, 1000: 0.0001}
PAPER_TABLE1 = {
    "0": {10: 13.36, 20: 6.84, 50: 4.67, 100: 4.16, 1000: 4.04},
    "0.2": {10: 14.04, 20: 7.11, 50: 4.77, 100: 4.25, 1000: 4.09},
    "0.5": {10: 16.66, 20: 8.35, 50: 5.25, 100: 4.46, 1000: 4.29},
    "1": {10: 41.07, 20: 18.36, 50: 8.01, 100: 5.78, 1000: 4.73},
    "hat": {10: 367.43, 20: 133.37, 50: 32.72, 100: 9.99, 1000: 3.17},
}


def main() -> None:
    docs = os.path.join(REPO, "docs")
    if sys.argv[1] == "--table1":
        plot_table1(os.path.join(sys.argv[2], "table1.json"), docs)
        print("written: docs/results-table1.png")
        return
    out = sys.argv[1]

    rows = json.load(open(os.path.join(out, "inversion.json")))["rows"]
    extra = os.path.join(out, "inversion-1000.json")
    if os.path.exists(extra):
        rows += json.load(open(extra))["rows"]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=110)
    ax.plot([r["steps"] for r in rows], [r["mse"] for r in rows], "o-", label="ddim, digits model (MNIST digits)")
    ax.plot(list(PAPER_INVERSION), list(PAPER_INVERSION.values()), "s--", label="paper, CIFAR10 (Table 2)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("steps S")
    ax.set_ylabel("reconstruction MSE ([−1, 1])")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(docs, "results-inversion.png"))

    table_path = os.path.join(out, "sweep", "table1.json")
    if not os.path.exists(table_path):
        print("written: docs/results-inversion.png (no sweep/table1.json yet)")
        return
    plot_table1(table_path, docs)
    print("written: docs/results-inversion.png, docs/results-table1.png")


def plot_table1(table_path: str, docs: str) -> None:
    """docs/results-table1.png: digit-FID and the confident share against S for each η, beside the
    paper's CIFAR10 FID."""
    table = json.load(open(table_path))["cells"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), dpi=110)
    etas = list(dict.fromkeys(c["eta"] for c in table))
    n_main = max(c["n"] for c in table)
    for eta in etas:
        cells = sorted((c for c in table if c["eta"] == eta), key=lambda c: c["steps"])
        label = "σ̂" if eta == "hat" else f"η = {eta}"
        # cells with fewer samples (S = 1000) drawn hollow: a Fréchet distance from few samples is biased up
        full = [c for c in cells if c["n"] == n_main]
        few = [c for c in cells if c["n"] < n_main]
        line, = axes[0].plot([c["steps"] for c in full], [c["digit_fid"] for c in full], "o-", label=label)
        axes[1].plot([c["steps"] for c in full], [100 * c["confident"] for c in full], "o-", color=line.get_color(), label=label)
        # 95 % intervals where the scorer gave them
        if full and "digit_fid_ci" in full[0]:
            xs = [c["steps"] for c in full]
            fid_err = [[max(0.0, c["digit_fid"] - c["digit_fid_ci"][0]) for c in full], [c["digit_fid_ci"][1] - c["digit_fid"] for c in full]]
            conf_err = [[100 * (c["confident"] - c["confident_ci"][0]) for c in full], [100 * (c["confident_ci"][1] - c["confident"]) for c in full]]
            axes[0].errorbar(xs, [c["digit_fid"] for c in full], yerr=fid_err, fmt="none", ecolor=line.get_color(), capsize=3, alpha=0.7)
            axes[1].errorbar(xs, [100 * c["confident"] for c in full], yerr=conf_err, fmt="none", ecolor=line.get_color(), capsize=3, alpha=0.7)
        if few:
            axes[0].plot([c["steps"] for c in few], [c["digit_fid"] for c in few], "o", mfc="none", color=line.get_color())
            axes[1].plot([c["steps"] for c in few], [100 * c["confident"] for c in few], "o", mfc="none", color=line.get_color())
        paper = PAPER_TABLE1.get(eta)
        if paper:
            axes[2].plot(list(paper), list(paper.values()), "o-", label=label)
    few_n = sorted({c["n"] for c in table if c["n"] < n_main})
    note = f" (hollow: n = {few_n[0]})" if few_n else ""
    axes[0].set_title(f"ddim, digits model: digit-FID, n = {n_main}{note}", fontsize=9)
    axes[1].set_title(f"ddim, digits model: % confident (p ≥ 0.9){note}", fontsize=9)
    axes[2].set_title("paper, CIFAR10: FID (Table 1)", fontsize=9)
    for i, ax in enumerate(axes):
        ax.set_xscale("log")
        if i != 1:
            ax.set_yscale("log")
        ax.set_xlabel("steps S")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(docs, "results-table1.png"))



if __name__ == "__main__":
    main()
