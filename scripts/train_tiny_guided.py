#!/usr/bin/env python3
"""Train the tiny guided fixture (Tests/Fixtures/guided_toy): a class-conditional DDPM trained
for classifier-free guidance on a toy world of 8x8 pictures, on the CPU in about a minute, so
that ddim's tests can check that guidance steers (GuidedToyTests) without the embedded model's
GPU-trained second generation (issue #23).

The toy world, white (+1) on black (-1):
    class 0  a horizontal bar, 2 rows high, across the picture, at a random row
    class 1  a vertical bar, 2 columns wide, at a random column
    class 2  a 3x3 square at a random place
    class 3  the null class: the label is replaced by it for 20 % of the samples

A picture's class is told by its bright pixels (GuidedToyTests.kind): full bright rows only ->
0, full bright columns only -> 1, neither and 5-13 bright pixels -> 2.

    python scripts/train_tiny_guided.py [--out Tests/Fixtures/guided_toy] [--iters 3000]

UNet2DModel 8x8, channels (8, 16), attention at the second level, num_class_embeds 4 with
"_ddim_null_class": 3 in config.json; DDPM eps-prediction, linear betas, T = 1000; AdamW 2e-3,
batch 128, EMA 0.995; weights stored as F16. One thread and fixed seeds: the same bytes on the
same torch build.
"""

import argparse
import json
import os

import torch
import torch.nn.functional as F

NULL = 3
SIZE = 8


def toy_batch(n, gen):
    """n pictures (n, 1, 8, 8) in {-1, 1} and their classes 0-2."""
    labels = torch.randint(0, 3, (n,), generator=gen)
    x = -torch.ones(n, 1, SIZE, SIZE)
    pos = torch.randint(0, SIZE - 1, (n,), generator=gen)
    sq = torch.randint(0, SIZE - 2, (n, 2), generator=gen)
    for i in range(n):
        c = int(labels[i])
        if c == 0:
            x[i, 0, pos[i]:pos[i] + 2, :] = 1
        elif c == 1:
            x[i, 0, :, pos[i]:pos[i] + 2] = 1
        else:
            r, k = int(sq[i, 0]), int(sq[i, 1])
            x[i, 0, r:r + 3, k:k + 3] = 1
    return x, labels


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "Tests", "Fixtures", "guided_toy"))
    ap.add_argument("--iters", type=int, default=3000)
    ap.add_argument("--p-uncond", type=float, default=0.2)
    args = ap.parse_args()

    from diffusers import DDPMScheduler, UNet2DModel
    torch.set_num_threads(1)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model = UNet2DModel(
        sample_size=SIZE, in_channels=1, out_channels=1, layers_per_block=1, block_out_channels=(8, 16),
        down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        num_class_embeds=NULL + 1, norm_num_groups=4)
    ema = UNet2DModel.from_config(model.config)
    ema.load_state_dict(model.state_dict())
    sched = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", beta_start=1e-4, beta_end=0.02, clip_sample=True)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.0)
    model.train()
    for step in range(args.iters):
        x0, y = toy_batch(128, gen)
        # the label, or the null class for p_uncond of the batch
        y = torch.where(torch.rand(128, generator=gen) < args.p_uncond, torch.full_like(y, NULL), y)
        noise = torch.randn(x0.shape, generator=gen)
        t = torch.randint(0, 1000, (128,), generator=gen)
        loss = F.mse_loss(model(sched.add_noise(x0, noise, t), t, class_labels=y).sample, noise)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        for g in opt.param_groups:
            g["lr"] = 2e-3 * min(1.0, (step + 1) / 100) * (1 - 0.9 * step / args.iters)
        opt.step()
        with torch.no_grad():
            d = min(0.995, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - d)
        if step % 500 == 0 or step == args.iters - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}", flush=True)

    os.makedirs(args.out, exist_ok=True)
    ema.half().save_pretrained(args.out, safe_serialization=True)
    path = os.path.join(args.out, "config.json")
    config = json.load(open(path))
    config["_ddim_null_class"] = NULL
    with open(path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    sched.save_config(args.out)
    n = sum(p.numel() for p in ema.parameters())
    print(f"wrote {args.out}: {n} parameters (F16), {args.iters} iterations, p_uncond {args.p_uncond}")


if __name__ == "__main__":
    main()
