#!/usr/bin/env python3
"""Plot the training loss of the embedded model (loss.csv from train_default.py --export).

    python scripts/plot_loss.py Sources/DefaultModel/digits/loss.csv docs/model-card-loss.png
"""
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    src, out = sys.argv[1], sys.argv[2]
    steps, loss = [], []
    with open(src) as f:
        for row in csv.DictReader(f):
            steps.append(int(row["step"]))
            loss.append(float(row["loss"]))
    # trailing mean over 50 iterations (the CSV's EMA column lags far behind the early drop)
    window = 50
    mean = [sum(loss[max(0, i - window + 1):i + 1]) / (i - max(0, i - window + 1) + 1) for i in range(len(loss))]
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=110)
    ax.plot(steps, loss, lw=0.6, alpha=0.4, label="loss (batch)")
    ax.plot(steps, mean, lw=1.6, label=f"mean of the last {window}")
    ax.set_yscale("log")
    # the batch and hardware of the run, from the model.json written beside loss.csv
    meta_path = os.path.join(os.path.dirname(src), "model.json")
    meta = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
    ax.set_xlabel(f"iteration (batch {meta.get('batch', '?')})")
    ax.set_ylabel("ε-prediction MSE")
    where = f", {meta['hardware']}, {meta['wall_minutes']:g} min" if "hardware" in meta else ""
    ax.set_title(f"digits-32: DDPM training loss{where}", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
