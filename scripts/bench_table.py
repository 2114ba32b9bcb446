#!/usr/bin/env python3
"""The table of docs/performance.md: ddim, PyTorch and onnxruntime on the same UNet folders,
same machine, same thread count, interleaved in one run.

    /work/pyenv/bin/python scripts/bench_table.py --cifar /tmp/bench/cifar10-32 \
        [--celebahq /tmp/bench/celebahq-256] [--threads 2] [--rounds 5] [--celebahq-rounds 3] [--runs 10] \
        [--digits-runs 200] [--kernels avx512,avx2] [--tui 5] [--json OUT.json]

Each round runs every case once in every engine (`ddim bench --json`, then
`scripts/bench_peers.py --json`, which times PyTorch and the same model exported to
onnxruntime), back to back; the celebahq case runs in the first `--celebahq-rounds` rounds only
(a round of it takes a minute); the digits model, whose forwards take milliseconds, is timed
over `--digits-runs` forwards a round instead of `--runs`. The table gives, per engine, the
median over rounds of each run's median, and as ratios the median over rounds of each round's
own ratio, with their range, and the same for the fastest forward of each engine in a round
(what the machine allows each engine when nothing interrupts it). With `--kernels`, ddim runs
once per listed kernel path in every round (DDIM_KERNELS=avx512, avx2 or portable: e.g. the
AVX2 path on an AVX-512 machine, to stand for an AVX2 one), each a row of its own, each against
the same round's peers (`avx512+bf16`: the AVX-512 path with `--precision bf16`'s products):
a round's engines ran seconds apart, under the same load from other tenants, so a round's ratio
is the like-for-like comparison; the ratio of medians can pair one engine's quiet round with
another's loaded one (on the 2-vCPU VM the same command's median moves by 30 % and more between
rounds, both engines together). Peak RSS is each process's own (wait4), for ddim the
whole process (weights included). Model folders with the real architectures and random
weights come from `scripts/make_fixtures.py --bench-models OUT_DIR [--celebahq]`; the digits
model is the embedded one (Sources/DefaultModel/digits).

With `--tui N`, the same run then measures the live sampler against `ddim sample` on the digits
model at `--tui-batch`: N runs of `scripts/tui_interleaved.sh 40 0.3` (the two programs taking
turns on the machine in 0.3 s slices; needs tmux), printed under the table as live / headless
time a step, the median of the runs' totals with their range.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_with_rss(cmd: list[str], env: dict | None = None) -> tuple[dict, float]:
    """The JSON a command prints, and its own peak RSS in MB (from wait4)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out = p.stdout.read() if p.stdout else ""
    err = p.stderr.read() if p.stderr else ""
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}): {err.strip()}")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cifar", help="google/ddpm-cifar10-32 architecture folder")
    ap.add_argument("--celebahq", help="google/ddpm-celebahq-256 architecture folder (batch 1 only)")
    ap.add_argument("--digits", default=os.path.join(ROOT, "Sources/DefaultModel/digits"))
    ap.add_argument("--ddim", default=os.path.join(ROOT, ".build/release/ddim"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--celebahq-rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--digits-runs", type=int, default=200)
    ap.add_argument("--tui-batch", type=int, default=4, help="the live sampler's default batch")
    ap.add_argument("--tui", type=int, default=0, metavar="N",
                    help="also N runs of scripts/tui_interleaved.sh: the live sampler against ddim sample")
    ap.add_argument("--kernels", default="",
                    help="comma-separated ddim kernel paths (DDIM_KERNELS values), each its own rows, a path with "
                         "+bf16 (avx512+bf16) also with bf16 Winograd products (DDIM_PRECISION=bf16); default: ddim as it picks")
    ap.add_argument("--json", help="also write every measurement here")
    args = ap.parse_args()

    cases = [("embedded digits model", args.digits, 1), ("embedded digits model", args.digits, args.tui_batch)]
    if args.cifar:
        cases += [("google/ddpm-cifar10-32 architecture", args.cifar, 1), ("google/ddpm-cifar10-32 architecture", args.cifar, 4)]
    if args.celebahq:
        cases += [("google/ddpm-celebahq-256 architecture", args.celebahq, 1)]

    peers = [sys.executable, os.path.join(ROOT, "scripts/bench_peers.py")]
    kernels = [k for k in args.kernels.split(",") if k] or [None]
    results: dict[tuple[str, int, str | None], dict[str, list[float]]] = {}
    meta: dict = {}
    for r in range(args.rounds):
        for name, folder, batch in cases:
            if "celebahq" in name and r >= args.celebahq_rounds:
                continue
            runs = max(2, args.runs // 4) if "celebahq" in name else args.digits_runs if folder == args.digits else args.runs
            ours = []
            for kernel in kernels:
                # "avx512+bf16": the AVX-512 kernels with bf16 Winograd products (--precision bf16)
                path, _, precision = (kernel or "").partition("+")
                env = {**os.environ, **({"DDIM_KERNELS": path} if path else {}),
                       **({"DDIM_PRECISION": precision} if precision else {})} if kernel else None
                ours.append((kernel, *run_with_rss([args.ddim, "bench", "--model", folder, "--batch", str(batch), "--threads",
                                                    str(args.threads), "--runs", str(runs), "--json"], env)))
            p, prss = run_with_rss(peers + [folder, "--batch", str(batch), "--threads", str(args.threads),
                                           "--runs", str(runs), "--warmup", "2", "--json"])
            for kernel, d, rss in ours:
                row = d.get("kernels", kernel) + ("" if d.get("precision", "fp32") == "fp32" else "+" + d["precision"])
                slot = results.setdefault((name, batch, row),
                                          {"ddim": [], "torch": [], "ort": [], "ddim_rss": [], "peers_rss": [],
                                           "ratio_torch": [], "ratio_ort": [], "ratio_ort_fastest": []})
                slot["ratio_ort_fastest"].append(d["min_ms"] / p["onnxruntime_min_ms"])
                slot["ratio_torch"].append(d["median_ms"] / p["torch_ms"])
                slot["ratio_ort"].append(d["median_ms"] / p["onnxruntime_ms"])
                slot["ddim"].append(d["median_ms"])
                slot["torch"].append(p["torch_ms"])
                slot["ort"].append(p["onnxruntime_ms"])
                slot["ddim_rss"].append(rss)
                slot["peers_rss"].append(prss)
                # the kernel path is the row's (--kernels), not the header's
                blas = d["blas"].replace(f", {d['kernels']} kernels", "") if len(kernels) > 1 and "kernels" in d else d["blas"]
                meta = {"blas": blas, "torch": p["torch_version"], "onnxruntime": p["onnxruntime_version"],
                        "conv": d.get("conv"), "params": meta.get("params", {})}
                meta["params"][name] = p["params"]
                print(f"round {r + 1}: {name} b{batch} ({row} kernels): ddim {d['median_ms']:.1f}, "
                      f"torch {p['torch_ms']:.1f}, ort {p['onnxruntime_ms']:.1f} ms; ddim RSS {rss:.0f} MB", file=sys.stderr)

    tui: list[float] = []
    for r in range(args.tui):
        out = subprocess.run([os.path.join(ROOT, "scripts/tui_interleaved.sh"), "40", "0.3", str(args.tui_batch)],
                             capture_output=True, text=True, env={**os.environ, "DDIM": args.ddim})
        last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
        if out.returncode != 0 or "totals" not in last:
            sys.exit(f"tui_interleaved.sh failed ({out.returncode}): {out.stderr.strip() or last}")
        tui.append(float(last.rsplit(":", 1)[1]))
        print(f"tui run {r + 1}: {last}", file=sys.stderr)

    med = statistics.median
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; {args.threads} threads "
          f"each; {meta['blas']}, 3×3 convolutions by {meta['conv']}; PyTorch {meta['torch']}, onnxruntime "
          f"{meta['onnxruntime']}; times: median of {args.rounds} interleaved rounds ({args.celebahq_rounds} for "
          f"celebahq) of each engine's median of {args.runs} forwards ({args.digits_runs} for the digits model); "
          f"ratios: median of the rounds' own ratios (range over rounds); fastest: the same for each engine's "
          f"fastest forward of a round.\n")
    print("| model | batch | ddim kernels | ddim (ms) | PyTorch (ms) | onnxruntime (ms) | ddim / PyTorch | ddim / ort | "
          "ddim / ort, fastest | ddim peak RSS |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (name, batch, kernel), s in results.items():
        d, t, o = med(s["ddim"]), med(s["torch"]), med(s["ort"])
        rt, ro, rf = s["ratio_torch"], s["ratio_ort"], s["ratio_ort_fastest"]
        print(f"| {name} ({meta['params'][name] / 1e6:.1f} M) | {batch} | {kernel or '?'} | {d:.1f} | {t:.1f} | {o:.1f} | "
              f"{med(rt):.2f} ({min(rt):.2f}–{max(rt):.2f}) | {med(ro):.2f} ({min(ro):.2f}–{max(ro):.2f}) | "
              f"{med(rf):.2f} ({min(rf):.2f}–{max(rf):.2f}) | {max(s['ddim_rss']):.0f} MB |")
    if tui:
        print(f"\nThe live sampler (tmux, 160×48, truecolour) against `ddim sample`, digits model, batch "
              f"{args.tui_batch}, taking turns on the machine (`scripts/tui_interleaved.sh 40 0.3`, {len(tui)} runs): "
              f"live / headless time a step {med(tui):.3f} ({min(tui):.3f}–{max(tui):.3f}).")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "threads": args.threads, "rounds": args.rounds,
                       "celebahq_rounds": args.celebahq_rounds, "runs": args.runs, "digits_runs": args.digits_runs,
                       "cases": [{"model": n, "batch": b, "kernels": k, **s} for (n, b, k), s in results.items()],
                       "tui_live_over_headless": tui}, f, indent=2)


if __name__ == "__main__":
    main()
