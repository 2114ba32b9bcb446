#!/usr/bin/env python3
"""Generate the golden fixtures under Tests/Fixtures/ for the Swift tests.

    /work/pyenv/bin/python scripts/make_fixtures.py            # regenerate Tests/Fixtures
    /work/pyenv/bin/python scripts/make_fixtures.py --bench-models OUT_DIR [--celebahq]

Everything is built from config dicts with seeded random weights: nothing is downloaded.
The output is deterministic (same bytes on every run with the pinned versions in
scripts/requirements.txt). See Tests/Fixtures/README.md for what each file holds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")

import diffusers  # noqa: E402
from diffusers import DDIMInverseScheduler, DDIMPipeline, DDIMScheduler, DDPMPipeline, DDPMScheduler, UNet2DModel  # noqa: E402
from diffusers.utils import logging as dlogging  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures_randn as fr  # noqa: E402

dlogging.set_verbosity_error()

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(REPO, "Tests", "Fixtures")
GEN = f"scripts/make_fixtures.py, torch {torch.__version__}, diffusers {diffusers.__version__}"


# ---------------------------------------------------------------------------
# helpers


def fl(t) -> list:
    """Tensor/array -> list of Python floats holding float32 values (exact round trip)."""
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    return [float(x) for x in a.astype(np.float32).ravel()]


def _dumps(obj, ind: int = 0) -> str:
    """JSON with one key per line, but lists of scalars kept on one line (compact, diffable)."""
    pad = " " * ind
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f'{pad} {json.dumps(k)}: {_dumps(v, ind + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        return "[\n" + ",\n".join(pad + " " + _dumps(v, ind + 1) for v in obj) + "\n" + pad + "]"
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def write_json(path: str, obj) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = _dumps(obj)
    assert json.loads(text) == obj
    with open(path, "w") as f:
        f.write(text + "\n")


def save_st(tensors: dict, path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tensors = {k: v.detach().contiguous() for k, v in tensors.items()}
    # one metadata key only: safetensors writes __metadata__ from a hash map (random key order)
    save_file(tensors, path, metadata={"generator": GEN})


def perturb(model: torch.nn.Module, seed: int, scale: float = 0.05, norm_scale: float = 0.2) -> None:
    """Make every parameter non-trivial: no exactly-zero biases, GroupNorm affine != (1, 0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, mod in model.named_modules():
            if isinstance(mod, torch.nn.GroupNorm):
                mod.weight.add_(norm_scale * torch.randn(mod.weight.shape, generator=g))
                mod.bias.add_(norm_scale * torch.randn(mod.bias.shape, generator=g))
        for name, p in model.named_parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))


def round_weights(model: torch.nn.Module, dtype: torch.dtype) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).to(torch.float32))


def config_json_text(model: UNet2DModel) -> str:
    """config.json exactly as UNet2DModel.save_pretrained writes it."""
    with tempfile.TemporaryDirectory() as d:
        model.save_config(d)
        with open(os.path.join(d, "config.json")) as f:
            return f.read()


def save_unet_folder(model: UNet2DModel, folder: str, dtype: torch.dtype = torch.float32,
                     legacy_attention: bool = False) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(config_json_text(model))
    sd = {k: v.to(dtype) for k, v in model.state_dict().items()}
    if legacy_attention:
        sd = rename_legacy(sd, model)
    save_st(sd, os.path.join(folder, "diffusion_pytorch_model.safetensors"))


LEGACY = {"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}


def rename_legacy(sd: dict, model: UNet2DModel) -> dict:
    paths = [n for n, m in model.named_modules() if getattr(m, "_from_deprecated_attn_block", False)]
    out = {}
    for k, v in sd.items():
        nk = k
        for p in paths:
            for new, old in LEGACY.items():
                pre = f"{p}.{new}."
                if k.startswith(pre):
                    nk = f"{p}.{old}." + k[len(pre):]
        out[nk] = v
    assert sum(1 for k in out if k.endswith(".query.weight")) == len(paths) > 0
    return out


def st_dtypes(path: str) -> set:
    with safe_open(path, "pt") as f:
        return {f.get_slice(k).get_dtype() for k in f.keys()}


# ---------------------------------------------------------------------------
# 1. UNet cases

UNET_CASES = [
    dict(
        name="ddpm_style", seed=101, dtype=torch.float32, batch=2, timesteps=[999.0, 17.0],
        config=dict(
            sample_size=16, in_channels=3, out_channels=3, block_out_channels=(8, 16),
            down_block_types=("DownBlock2D", "AttnDownBlock2D"),
            up_block_types=("AttnUpBlock2D", "UpBlock2D"),
            layers_per_block=2, attention_head_dim=None, flip_sin_to_cos=False, freq_shift=1,
            downsample_padding=0, norm_eps=1e-6, norm_num_groups=4),
    ),
    dict(
        name="diffusers_defaults", seed=202, dtype=torch.float16, batch=2, timesteps=[500.0, 3.0],
        config=dict(
            sample_size=16, in_channels=1, out_channels=1, block_out_channels=(8, 16, 16),
            down_block_types=("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
            up_block_types=("AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
            norm_num_groups=4),  # everything else: diffusers defaults (attention_head_dim 8 ...)
    ),
    dict(
        name="scale_shift", seed=303, dtype=torch.float32, batch=2, timesteps=[250.0, 750.0],
        config=dict(
            sample_size=8, in_channels=3, out_channels=3, block_out_channels=(8, 16),
            down_block_types=("DownBlock2D", "AttnDownBlock2D"),
            up_block_types=("AttnUpBlock2D", "UpBlock2D"),
            layers_per_block=1, attention_head_dim=8, resnet_time_scale_shift="scale_shift",
            norm_num_groups=4, norm_eps=1e-6, flip_sin_to_cos=False, freq_shift=1,
            downsample_padding=0),
    ),
    dict(
        name="legacy_attention", seed=404, dtype=torch.bfloat16, batch=2, timesteps=[999.0, 17.0],
        legacy=True,
        config=dict(  # same shapes as ddpm_style
            sample_size=16, in_channels=3, out_channels=3, block_out_channels=(8, 16),
            down_block_types=("DownBlock2D", "AttnDownBlock2D"),
            up_block_types=("AttnUpBlock2D", "UpBlock2D"),
            layers_per_block=2, attention_head_dim=None, flip_sin_to_cos=False, freq_shift=1,
            downsample_padding=0, norm_eps=1e-6, norm_num_groups=4),
    ),
    dict(
        name="misc", seed=505, dtype=torch.float32, batch=1, timesteps=[421.0],
        config=dict(
            sample_size=12, in_channels=2, out_channels=2, block_out_channels=(8, 16, 16),
            down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
            layers_per_block=1, center_input_sample=True, add_attention=False,
            mid_block_scale_factor=math.sqrt(2.0), norm_num_groups=4),
    ),
]


# The UNet2DModel variants in public use (issue #20), each at a small size with random weights.
UNET_CASES += [
    dict(  # diffusers' train_unconditional.py (ddpm-butterflies-128 and the like): six levels, one
           # attention level, heads of 8, flip_sin_to_cos true, freq_shift 0, norm_eps 1e-5
        name="training_example", seed=606, dtype=torch.float16, batch=1, timesteps=[640.0],
        config=dict(
            sample_size=32, in_channels=3, out_channels=3, layers_per_block=2,
            block_out_channels=(4, 4, 8, 8, 16, 16),
            down_block_types=("DownBlock2D", "DownBlock2D", "DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D"),
            norm_num_groups=4),
    ),
    dict(  # openai's consistency-model UNets in diffusers: ResNet down/up sampling, scale_shift,
           # heads of 8, class-conditional (an embedding table)
        name="resnet_updown_classes", seed=707, dtype=torch.float16, batch=2, timesteps=[900.0, 33.0], class_labels=[3, 9],
        config=dict(
            sample_size=16, in_channels=3, out_channels=3, layers_per_block=2, block_out_channels=(8, 16, 16),
            down_block_types=("ResnetDownsampleBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
            up_block_types=("AttnUpBlock2D", "AttnUpBlock2D", "ResnetUpsampleBlock2D"),
            downsample_type="resnet", upsample_type="resnet", resnet_time_scale_shift="scale_shift",
            attention_head_dim=8, num_class_embeds=10, norm_num_groups=4),
    ),
    dict(  # class labels through their own sinusoid and MLP; resnet down/up in Attn blocks, "default" shift
        name="class_timestep", seed=808, dtype=torch.float32, batch=2, timesteps=[500.0, 120.0], class_labels=[0, 7],
        config=dict(
            sample_size=8, in_channels=1, out_channels=1, layers_per_block=1, block_out_channels=(8, 16),
            down_block_types=("AttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "AttnUpBlock2D"),
            downsample_type="resnet", upsample_type="resnet",
            class_embed_type="timestep", norm_num_groups=4),
    ),
    dict(  # trained for classifier-free guidance (issue #23): 3 classes and the null class 3,
           # named by this project's config key _ddim_null_class (diffusers skips keys with "_")
        name="guided", seed=1111, dtype=torch.float16, batch=2, timesteps=[700.0, 40.0], class_labels=[1, 3], null_class=3,
        config=dict(
            sample_size=8, in_channels=1, out_channels=1, layers_per_block=1, block_out_channels=(8, 16),
            down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
            num_class_embeds=4, norm_num_groups=4),
    ),
    dict(  # learned variance (improved DDPM): out_channels = 2 × in_channels
        name="learned_variance", seed=909, dtype=torch.float32, batch=1, timesteps=[250.0],
        config=dict(
            sample_size=8, in_channels=3, out_channels=6, layers_per_block=1, block_out_channels=(8, 16),
            down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
            norm_num_groups=4),
    ),
    dict(  # sample_size [height, width], not square
        name="non_square", seed=1010, dtype=torch.float32, batch=2, timesteps=[10.0, 990.0],
        config=dict(
            sample_size=(8, 16), in_channels=1, out_channels=1, layers_per_block=1, block_out_channels=(8, 16),
            down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
            norm_num_groups=4),
    ),
]


def build_unet(config: dict, seed: int) -> UNet2DModel:
    torch.manual_seed(seed)
    m = UNet2DModel(**config)
    perturb(m, seed + 1)
    return m.eval()


# The variants sampled with DDIM as DDIMPipeline's loop does (seed 0, batch 2, 10 steps, η 0.5),
# with the class label and, for a learned variance, ε as the first half of the output: the
# golden of `ddim sample` on each (issue #20: ≤ 2/255 a pixel).
VARIANT_DDIM = {"resnet_updown_classes": 3, "class_timestep": 7, "learned_variance": None, "non_square": None}


def make_variant_ddim(name: str, label) -> None:
    folder = os.path.join(FIX, "unet", name)
    unet = UNet2DModel.from_pretrained(folder).eval()
    sched = DDIMScheduler()  # diffusers' defaults: linear 1e-4…0.02, T = 1000, clip, leading
    sched.save_config(folder)
    sched.set_timesteps(10)
    cfg = unet.config
    size = cfg.sample_size
    (height, width) = (size, size) if isinstance(size, int) else tuple(size)
    g = torch.manual_seed(0)
    x = torch.randn(2, cfg.in_channels, height, width, generator=g)
    labels = torch.tensor([label, label]) if label is not None else None
    with torch.no_grad():
        for t in sched.timesteps:
            out = unet(x, t, class_labels=labels).sample
            if out.shape[1] == 2 * x.shape[1]:
                out = out[:, : x.shape[1]]  # ε; the learned variance is DDPM's, not DDIM's
            x = sched.step(out, t, x, eta=0.5, generator=g).prev_sample
    images = (x / 2 + 0.5).clamp(0, 1)
    save_st({"images": images}, os.path.join(folder, "ddim.safetensors"))
    print(f"unet/{name}: DDIM golden, mean {images.mean():.3f}, inside (0,1) {((images > 0) & (images < 1)).float().mean():.2f}")


def make_unet_cases(only: list | None = None) -> None:
    for case in UNET_CASES:
        if only is not None and case["name"] not in only:
            continue
        folder = os.path.join(FIX, "unet", case["name"])
        if os.path.isdir(folder):
            shutil.rmtree(folder)
        model = build_unet(case["config"], case["seed"])
        if case["dtype"] != torch.float32:
            round_weights(model, case["dtype"])
        cfg = model.config
        g = torch.Generator().manual_seed(case["seed"] + 2)
        size = cfg.sample_size
        (height, width) = (size, size) if isinstance(size, int) else tuple(size)
        sample = torch.randn(case["batch"], cfg.in_channels, height, width, generator=g)
        timestep = torch.tensor(case["timesteps"], dtype=torch.float32)
        labels = case.get("class_labels")
        class_labels = torch.tensor(labels, dtype=torch.long) if labels is not None else None
        with torch.no_grad():
            out = model(sample, timestep, class_labels=class_labels).sample
        save_unet_folder(model, folder, case["dtype"], case.get("legacy", False))
        if case.get("null_class") is not None:
            path = os.path.join(folder, "config.json")
            cfg_json = json.load(open(path))
            cfg_json["_ddim_null_class"] = case["null_class"]
            with open(path, "w") as f:
                json.dump(cfg_json, f, indent=2, sort_keys=True)
                f.write("\n")
        io = {"sample": sample, "timestep": timestep, "output": out}
        if labels is not None:
            io["class_labels"] = torch.tensor(labels, dtype=torch.float32)  # ddim's reader takes floats
        save_st(io, os.path.join(folder, "io.safetensors"))

        # self-check: diffusers itself loads the folder (legacy names, f16/bf16 -> f32) and
        # reproduces the golden output (bit for bit up to GEMM-kernel choice: ~1e-7)
        re = UNet2DModel.from_pretrained(folder).eval()
        assert all(p.dtype == torch.float32 for p in re.parameters())
        with torch.no_grad():
            out2 = re(sample, timestep, class_labels=class_labels).sample
        reload_diff = (out - out2).abs().max().item()
        assert reload_diff < 1e-5, f"{case['name']}: reload mismatch {reload_diff}"
        wdt = st_dtypes(os.path.join(folder, "diffusion_pytorch_model.safetensors"))
        nparams = sum(p.numel() for p in model.parameters())
        print(f"unet/{case['name']}: params {nparams}, weights {sorted(wdt)}, output std {out.std():.3f}, "
              f"mean {out.mean():.3f}, diffusers reload diff {reload_diff:.1e}")
        if case["name"] in VARIANT_DDIM:
            make_variant_ddim(case["name"], VARIANT_DDIM[case["name"]])
        if case.get("null_class") is not None:
            make_guided_ddim(case["name"], label=1, null=case["null_class"], w=2.5)


def make_guided_ddim(name: str, label: int, null: int, w: float) -> None:
    """Classifier-free guidance as ddim does it, written out with diffusers' UNet2DModel and
    DDIMScheduler: eps = eps(x, null) + w * (eps(x, c) - eps(x, null)), the two as one batch of
    2B (conditional half first); seed 0, batch 2, 10 steps, eta 0.5 (the golden of
    `ddim sample --class-label 1 --guidance 2.5`)."""
    folder = os.path.join(FIX, "unet", name)
    unet = UNet2DModel.from_pretrained(folder).eval()
    sched = DDIMScheduler()
    sched.save_config(folder)
    sched.set_timesteps(10)
    size = unet.config.sample_size
    g = torch.manual_seed(0)
    x = torch.randn(2, unet.config.in_channels, size, size, generator=g)
    labels = torch.tensor([label, label, null, null])
    with torch.no_grad():
        for t in sched.timesteps:
            both = unet(torch.cat([x, x]), t, class_labels=labels).sample
            cond, uncond = both[:2], both[2:]
            eps = uncond + w * (cond - uncond)
            x = sched.step(eps, t, x, eta=0.5, generator=g).prev_sample
    images = (x / 2 + 0.5).clamp(0, 1)
    save_st({"images": images}, os.path.join(folder, "ddim_guided.safetensors"))
    print(f"unet/{name}: guided DDIM golden (class {label}, w {w}), mean {images.mean():.3f}")


# ---------------------------------------------------------------------------
# 2. Scheduler cases

TRAINED_BETAS_50 = [float(np.float32(1e-3 + (0.25 - 1e-3) * (i / 49) ** 1.5)) for i in range(50)]

BASE = dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
            clip_sample=True, set_alpha_to_one=True, steps_offset=0, prediction_type="epsilon",
            timestep_spacing="leading")

SCHED_CASES = [
    # name, config overrides, steps, eta, use_clipped_model_output
    ("linear_leading_10_eta0", {}, 10, 0.0, False),
    ("linear_leading_10_eta1", {}, 10, 1.0, False),
    ("linear_leading_10_eta05_offset1", {"steps_offset": 1}, 10, 0.5, False),
    ("linear_leading_7_eta0", {}, 7, 0.0, False),
    ("linear_leading_1_eta0", {}, 1, 0.0, False),
    ("linear_trailing_10_eta0", {"timestep_spacing": "trailing"}, 10, 0.0, False),
    ("linear_trailing_7_eta05", {"timestep_spacing": "trailing"}, 7, 0.5, False),
    ("linear_trailing_1_eta0", {"timestep_spacing": "trailing"}, 1, 0.0, False),
    ("linear_linspace_10_eta0", {"timestep_spacing": "linspace"}, 10, 0.0, False),
    ("linear_linspace_7_eta1", {"timestep_spacing": "linspace"}, 7, 1.0, False),
    ("linear_linspace_1_eta0", {"timestep_spacing": "linspace"}, 1, 0.0, False),
    ("linear_no_alpha_one_10_eta05", {"set_alpha_to_one": False}, 10, 0.5, False),
    ("scaled_linear_sd_10_eta0",
     {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "clip_sample": False,
      "set_alpha_to_one": False, "steps_offset": 1}, 10, 0.0, False),
    ("squaredcos_vpred_trailing_10_eta05",
     {"beta_schedule": "squaredcos_cap_v2", "prediction_type": "v_prediction",
      "timestep_spacing": "trailing"}, 10, 0.5, False),
    ("trained_betas50_leading_10_eta05",
     {"num_train_timesteps": 50, "trained_betas": TRAINED_BETAS_50}, 10, 0.5, False),
    ("trained_betas50_trailing_7_eta1",
     {"num_train_timesteps": 50, "trained_betas": TRAINED_BETAS_50, "timestep_spacing": "trailing"}, 7, 1.0, False),
    ("clip_range_1p5_10_eta0", {"clip_sample_range": 1.5}, 10, 0.0, False),
    ("sample_pred_clip_10_eta05", {"prediction_type": "sample"}, 10, 0.5, False),
    ("vpred_noclip_10_eta0", {"prediction_type": "v_prediction", "clip_sample": False}, 10, 0.0, False),
    ("thresholding_defaults_10_eta0", {"thresholding": True}, 10, 0.0, False),
    ("thresholding_max2p5_ratio09_noclip_10_eta05",
     {"thresholding": True, "clip_sample": False, "sample_max_value": 2.5,
      "dynamic_thresholding_ratio": 0.9}, 10, 0.5, False),
    ("clipped_model_output_10_eta05", {}, 10, 0.5, True),
    ("clipped_model_output_noclip_cos_linspace_7_eta1",
     {"beta_schedule": "squaredcos_cap_v2", "clip_sample": False, "timestep_spacing": "linspace"}, 7, 1.0, True),
]


class _PrevT(int):
    """An int timestep whose `t - T // S` evaluates to a chosen previous timestep.

    diffusers' DDIMScheduler.step computes prev = t - T // S whatever the spacing; passing
    this lets the *same* diffusers code compute the step towards the actual next timestep
    of the plan (what ddim does), so both variants come from identical arithmetic.
    """

    def __new__(cls, t: int, prev: int):
        o = super().__new__(cls, t)
        o.prev = prev
        return o

    def __sub__(self, other):
        return self.prev


def scheduler_config_jsonable(s: DDIMScheduler) -> dict:
    out = {}
    for k, v in s.config.items():
        if k.startswith("_"):
            continue
        if isinstance(v, np.ndarray):
            v = v.tolist()
        if isinstance(v, tuple):
            v = list(v)
        out[k] = v
    return out


def make_scheduler_cases() -> None:
    shape = [1, 2, 3, 3]
    cases = []
    for ci, (name, over, steps, eta, ucmo) in enumerate(SCHED_CASES):
        kw = {**BASE, **over}
        s = DDIMScheduler(**kw)
        s.set_timesteps(steps)
        T = s.config.num_train_timesteps
        ratio = T // steps
        timesteps = [int(t) for t in s.timesteps]
        final = float(s.final_alpha_cumprod)
        g = torch.Generator().manual_seed(1000 + ci)
        recs = []
        for i, t in enumerate(timesteps):
            scale = [1.0, 2.0, 3.0][i % 3]
            sample = torch.randn(shape, generator=g) * scale
            model_output = torch.randn(shape, generator=g) * (1.5 if i % 2 else 1.0)
            noise = torch.randn(shape, generator=g) if eta > 0 else None
            out = s.step(model_output, t, sample, eta=eta, use_clipped_model_output=ucmo,
                         variance_noise=noise)
            prev_diff = t - ratio
            prev_plan = timesteps[i + 1] if i + 1 < len(timesteps) else -1
            out_d = s.step(model_output, _PrevT(t, prev_diff), sample, eta=eta,
                           use_clipped_model_output=ucmo, variance_noise=noise)
            assert torch.equal(out.prev_sample, out_d.prev_sample)  # the _PrevT trick is exact
            out_p = s.step(model_output, _PrevT(t, prev_plan), sample, eta=eta,
                           use_clipped_model_output=ucmo, variance_noise=noise)
            assert torch.equal(out.pred_original_sample, out_p.pred_original_sample)
            for v in (out.prev_sample, out.pred_original_sample, out_p.prev_sample):
                assert torch.isfinite(v).all(), name
            recs.append({
                "t": t,
                "sample": fl(sample),
                "model_output": fl(model_output),
                "variance_noise": fl(noise) if noise is not None else None,
                "prev_sample": fl(out.prev_sample),
                "pred_original_sample": fl(out.pred_original_sample),
                "prev_t_diffusers": prev_diff,
                "prev_t_plan": prev_plan,
                "prev_sample_plan": fl(out_p.prev_sample),
            })
        cases.append({
            "name": name,
            "scheduler_config": scheduler_config_jsonable(s),
            "num_inference_steps": steps,
            "eta": eta,
            "use_clipped_model_output": ucmo,
            "timesteps": timesteps,
            "final_alpha_cumprod": final,
            "alphas_cumprod": fl(s.alphas_cumprod),
            "shape": shape,
            "steps": recs,
        })
    write_json(os.path.join(FIX, "scheduler", "cases.json"), {"generator": GEN, "cases": cases})
    n_diff = sum(1 for c in cases for r in c["steps"] if r["prev_t_diffusers"] != r["prev_t_plan"]
                 and not (r["prev_t_diffusers"] < 0 and r["prev_t_plan"] < 0))
    print(f"scheduler/cases.json: {len(cases)} cases, {sum(len(c['steps']) for c in cases)} steps, "
          f"{n_diff} steps where diffusers' prev != plan's next")


# ---------------------------------------------------------------------------
# 3. torch randn

RANDN_SEEDS = [0, 1, 42, 2**32 + 7, 2**63 + 11]
RANDN_SHAPES = [[1], [5], [15], [16], [17], [3], [2, 3, 4, 4], [1, 1, 32, 32], [3, 7], [1]]


def check_randn_claims() -> None:
    """Numerical verification of every claim README.md makes about torch's CPU randn."""
    # whole recipe, bit for bit, across the shape sequence (vector path, tail redo,
    # scalar path with a cached normal surviving vector-path draws)
    for seed in RANDN_SEEDS + [7, 123456789]:
        g = torch.Generator().manual_seed(seed)
        mine = fr.TorchCPUGenerator(seed)
        for sh in RANDN_SHAPES + [[2, 3, 16, 16], [33]]:
            t = torch.randn(sh, generator=g).flatten().numpy()
            m = np.array(mine.randn(int(np.prod(sh))), dtype=np.float32)
            assert np.array_equal(t.view(np.uint32), m.view(np.uint32)), (seed, sh)
    # torch.manual_seed(s) + global randn == Generator().manual_seed(s) + randn
    for seed in RANDN_SEEDS:
        torch.manual_seed(seed)
        a = [torch.randn(sh) for sh in RANDN_SHAPES]
        g = torch.Generator().manual_seed(seed)
        b = [torch.randn(sh, generator=g) for sh in RANDN_SHAPES]
        assert all(torch.equal(x, y) for x, y in zip(a, b))
    # only the low 32 bits of the seed matter
    for lo in (7, 11):
        for hi in (1 << 32, 1 << 63):
            assert torch.equal(torch.randn(20, generator=torch.Generator().manual_seed(lo)),
                               torch.randn(20, generator=torch.Generator().manual_seed(lo + hi)))
    # float uniforms: 24 low bits of one u32 (torch.rand on a >=16 tensor uses the same)
    g = torch.Generator().manual_seed(5)
    u = torch.rand(64, generator=g).numpy()
    e = fr.MT19937(5)
    assert np.array_equal(u, np.array([(e.next_u32() & 0xFFFFFF) / 2**24 for _ in range(64)], np.float32))
    # first 16 values of a 20-element draw are NOT the first 16 of a 16-element draw's
    # continuation: the tail block is redrawn (uniforms 20..35) and overwrites slots 4..19
    g = torch.Generator().manual_seed(9)
    a20 = torch.randn(20, generator=g)
    g = torch.Generator().manual_seed(9)
    a16 = torch.randn(16, generator=g)
    assert torch.equal(a20[:4], a16[:4]) and not torch.equal(a20[4:16], a16[4:16])
    # scalar path uses log1p(-u2); log(1 - u2) would differ on some draws (checked below)
    # manual_seed resets the cached normal
    g = torch.Generator().manual_seed(3)
    torch.randn(1, generator=g)
    g.manual_seed(3)
    x = torch.randn(1, generator=g)
    assert torch.equal(x, torch.randn(1, generator=torch.Generator().manual_seed(3)))
    # the simpler alternative "Box-Muller in double with libm, then round" is close, not exact
    maxdiff, ndiff, total = 0.0, 0, 0
    for seed in range(20):
        g = torch.Generator().manual_seed(seed)
        t = torch.randn(4096, generator=g).numpy()
        e = fr.MT19937(seed)
        uu = np.array([(e.next_u32() & 0xFFFFFF) / 2**24 for _ in range(4096)], np.float64).reshape(-1, 16)
        r = np.sqrt(-2 * np.log(1 - uu[:, :8]))
        th = 2 * np.pi * uu[:, 8:]
        alt = np.concatenate([r * np.cos(th), r * np.sin(th)], axis=1).astype(np.float32).ravel()
        d = np.abs(alt - t)
        maxdiff = max(maxdiff, float(d.max()))
        ndiff += int((d > 0).sum())
        total += d.size
    print(f"randn self-checks passed; a double-precision libm Box-Muller differs from torch on "
          f"{ndiff}/{total} values, max abs diff {maxdiff:.2e}")


def make_randn() -> None:
    check_randn_claims()
    cases = []
    total = 0
    for seed in RANDN_SEEDS:
        g = torch.Generator().manual_seed(seed)
        mine = fr.TorchCPUGenerator(seed)
        draws = []
        for sh in RANDN_SHAPES:
            t = torch.randn(sh, generator=g)
            m = np.array(mine.randn(int(np.prod(sh))), dtype=np.float32)
            assert np.array_equal(t.flatten().numpy().view(np.uint32), m.view(np.uint32))
            draws.append({"shape": sh, "values": fl(t)})
            total += t.numel()
        cases.append({"seed": seed, "mt19937_first": fr.mt19937_first(seed, 8), "draws": draws})
    write_json(os.path.join(FIX, "randn.json"), {"generator": GEN, "cases": cases})
    print(f"randn.json: {len(cases)} seeds, {total} values")


# ---------------------------------------------------------------------------
# 4. Pipeline parity

PIPE_SEED = 2024
PIPE_CONFIG = dict(
    sample_size=16, in_channels=3, out_channels=3, block_out_channels=(8, 16),
    down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
    layers_per_block=1, attention_head_dim=None, flip_sin_to_cos=False, freq_shift=1,
    downsample_padding=0, norm_eps=1e-6, norm_num_groups=4)


def make_pipeline() -> None:
    folder = os.path.join(FIX, "pipeline", "tiny")
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    unet = build_unet(PIPE_CONFIG, 606)
    # scale conv_out so the output looks like a noise prediction (std ~1 on noise input)
    g = torch.Generator().manual_seed(607)
    x = torch.randn(4, 3, 16, 16, generator=g)
    with torch.no_grad():
        sd = unet(x, torch.tensor([500.0] * 4)).sample.std()
        unet.conv_out.weight.mul_(1.0 / sd)
        unet.conv_out.bias.mul_(1.0 / sd)
        print(f"pipeline unet: output std before scaling {sd:.4f}, after "
              f"{unet(x, torch.tensor([500.0] * 4)).sample.std():.4f}")
    ddpm = DDPMScheduler(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02,
                         beta_schedule="linear", clip_sample=True, variance_type="fixed_small")
    # the folder layout of google/ddpm-cifar10-32: model_index.json + unet/ + scheduler/
    DDPMPipeline(unet=unet, scheduler=ddpm).save_pretrained(folder, safe_serialization=True)
    save_unet_folder(unet, os.path.join(folder, "unet"))  # rewrite with the generator metadata

    unet2 = UNet2DModel.from_pretrained(os.path.join(folder, "unet")).eval()
    sched2 = DDPMScheduler.from_pretrained(os.path.join(folder, "scheduler"))
    ddim = DDIMScheduler.from_config(sched2.config)
    pipe = DDIMPipeline(unet=unet2, scheduler=ddim)
    pipe.set_progress_bar_config(disable=True)
    x_T = torch.randn(2, 3, 16, 16, generator=torch.manual_seed(PIPE_SEED))
    tensors = {"x_T": x_T}
    runs = []
    for eta, key in ((0.0, "eta0"), (1.0, "eta1")):
        t = ddim_images(pipe, batch=2, seed=PIPE_SEED, steps=10, eta=eta)
        interior = ((t > 0) & (t < 1)).float().mean().item()
        print(f"pipeline eta={eta}: mean {t.mean():.3f}, fraction strictly inside (0,1): {interior:.3f}")
        assert interior > 0.5
        tensors[key] = t
        runs.append({"eta": eta, "tensor": key})
    assert not torch.equal(tensors["eta0"], tensors["eta1"])
    # the pipeline is exactly: one generator, x_T first, then one randn(shape) per step if eta > 0
    for eta, key in ((0.0, "eta0"), (1.0, "eta1")):
        s = DDIMScheduler.from_config(sched2.config)
        s.set_timesteps(10)
        g = torch.manual_seed(PIPE_SEED)
        x = torch.randn(2, 3, 16, 16, generator=g)
        with torch.no_grad():
            for t in s.timesteps:
                x = s.step(unet2(x, t).sample, t, x, eta=eta, generator=g).prev_sample
        assert torch.equal((x / 2 + 0.5).clamp(0, 1), tensors[key]), key
    save_st(tensors, os.path.join(folder, "expected.safetensors"))
    write_json(os.path.join(folder, "expected.json"), {
        "generator": GEN,
        "seed": PIPE_SEED,
        "num_inference_steps": 10,
        "batch_size": 2,
        "timesteps": [int(t) for t in pipe.scheduler.timesteps],
        "ddim_scheduler_config": scheduler_config_jsonable(pipe.scheduler),
        "runs": runs,
    })


def make_inversion_golden() -> None:
    """DDIM inversion with diffusers' DDIMInverseScheduler on the tiny pipeline model: x_T of a
    fixed x0 at S = 10, and x0 sampled back from that x_T with DDIMScheduler (issue: promises)."""
    folder = os.path.join(FIX, "pipeline", "tiny")
    unet = UNet2DModel.from_pretrained(os.path.join(folder, "unet")).eval()
    config = DDPMScheduler.from_pretrained(os.path.join(folder, "scheduler")).config
    g = torch.Generator().manual_seed(611)
    # a smooth picture in [-1, 1] (not noise): low-frequency pattern per channel
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 16), torch.linspace(-1, 1, 16), indexing="ij")
    x0 = torch.stack([torch.sin(3 * xx + c) * torch.cos(2 * yy - c) for c in (0.0, 1.0, 2.0)])[None]
    x0 = (0.8 * x0 + 0.05 * torch.randn(1, 3, 16, 16, generator=g)).clamp(-1, 1)
    steps = 10
    # the paper's ODE both ways: no x0 clipping (diffusers' DDIMInverseScheduler clips when the
    # config says clip_sample, which would not be invertible)
    inv = DDIMInverseScheduler.from_config(config, clip_sample=False)
    inv.set_timesteps(steps)
    x = x0.clone()
    with torch.no_grad():
        for t in inv.timesteps:
            x = inv.step(unet(x, t).sample, t, x).prev_sample
    x_T = x.clone()
    fwd = DDIMScheduler.from_config(config, clip_sample=False)
    fwd.set_timesteps(steps)
    with torch.no_grad():
        for t in fwd.timesteps:
            x = fwd.step(unet(x, t).sample, t, x, eta=0.0).prev_sample
    mse = float(((x - x0) ** 2).mean())
    print(f"inversion golden: S={steps}, timesteps up {[int(t) for t in inv.timesteps]}, reconstruction MSE {mse:.5f}")
    save_st({"x0": x0, "x_T": x_T, "reconstruction": x}, os.path.join(folder, "inversion.safetensors"))
    write_json(os.path.join(folder, "inversion.json"), {
        "num_inference_steps": steps, "inverse_timesteps": [int(t) for t in inv.timesteps],
        "reconstruction_mse": mse, "diffusers": "DDIMInverseScheduler then DDIMScheduler(eta=0), both clip_sample=False, float32"})


def ddim_images(pipe: DDIMPipeline, batch: int, seed: int, steps: int, eta: float) -> torch.Tensor:
    """DDIMPipeline(generator=torch.manual_seed(seed)) images in [0, 1], NCHW float32."""
    img = pipe(batch_size=batch, generator=torch.manual_seed(seed), num_inference_steps=steps, eta=eta,
               output_type="np").images
    return torch.from_numpy(np.ascontiguousarray(img.transpose(0, 3, 1, 2))).float()


DEFAULT_MODEL = os.path.join(REPO, "Sources", "DefaultModel", "digits")
DEFAULT_SEED = 0


def make_default_model_golden() -> None:
    """Seeded 10-step DDIMPipeline output of the embedded digits model (issue: default model)."""
    if not os.path.isfile(os.path.join(DEFAULT_MODEL, "config.json")):
        print("no embedded model yet: skipping Tests/Fixtures/default_model")
        return
    folder = os.path.join(FIX, "default_model")
    os.makedirs(folder, exist_ok=True)
    unet = UNet2DModel.from_pretrained(DEFAULT_MODEL).float().eval()
    sched = DDIMScheduler.from_pretrained(DEFAULT_MODEL)
    pipe = DDIMPipeline(unet=unet, scheduler=sched)
    pipe.set_progress_bar_config(disable=True)
    tensors, runs = {}, []
    for eta, key in ((0.0, "eta0"), (1.0, "eta1")):
        tensors[key] = ddim_images(pipe, batch=4, seed=DEFAULT_SEED, steps=10, eta=eta)
        runs.append({"eta": eta, "tensor": key})
    save_st(tensors, os.path.join(folder, "expected.safetensors"))
    write_json(os.path.join(folder, "expected.json"), {
        "generator": GEN, "seed": DEFAULT_SEED, "num_inference_steps": 10, "batch_size": 4, "runs": runs})


# ---------------------------------------------------------------------------
# 5. bench models (not committed)

CIFAR10_CONFIG = dict(
    sample_size=32, in_channels=3, out_channels=3, block_out_channels=(128, 256, 256, 256),
    down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
    layers_per_block=2, attention_head_dim=None, norm_num_groups=32, norm_eps=1e-6, freq_shift=1,
    flip_sin_to_cos=False, downsample_padding=0, act_fn="silu", center_input_sample=False,
    time_embedding_type="positional", mid_block_scale_factor=1, resnet_time_scale_shift="default")
CELEBAHQ_CONFIG = dict(
    CIFAR10_CONFIG, sample_size=256, block_out_channels=(128, 128, 256, 256, 512, 512),
    down_block_types=("DownBlock2D",) * 4 + ("AttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "AttnUpBlock2D") + ("UpBlock2D",) * 4)


def make_bench_models(out_dir: str, celebahq: bool) -> None:
    todo = [("cifar10-32", CIFAR10_CONFIG, 11)]
    if celebahq:
        todo.append(("celebahq-256", CELEBAHQ_CONFIG, 12))
    for name, cfg, seed in todo:
        folder = os.path.join(out_dir, name)
        torch.manual_seed(seed)
        m = UNet2DModel(**cfg).eval()
        perturb(m, seed + 1, scale=0.01)
        save_unet_folder(m, folder)
        DDPMScheduler(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
                      clip_sample=True, variance_type="fixed_small").save_config(folder)
        n = sum(p.numel() for p in m.parameters())
        print(f"{folder}: {n / 1e6:.1f} M parameters ({n}), "
              f"{os.path.getsize(os.path.join(folder, 'diffusion_pytorch_model.safetensors')) / 1e6:.1f} MB")


# ---------------------------------------------------------------------------
# 7. PyTorch pickle checkpoints (diffusion_pytorch_model.bin), zip and legacy formats

PICKLE_SEED = 707
PICKLE_CONFIG = dict(
    sample_size=8, in_channels=3, out_channels=3, block_out_channels=(4, 8),
    down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
    layers_per_block=1, attention_head_dim=4, norm_num_groups=2, norm_eps=1e-6)


def pickle_state_dict(model: UNet2DModel) -> dict:
    """The model's state_dict (an OrderedDict with `_metadata`, as torch.save gets it from
    save_pretrained(safe_serialization=False)), with the layouts a reader must honour: a
    transposed 2-D view, a channels-last 4-D view, two tensors sharing one storage (the second at
    a storage offset), a float16 and a bfloat16 tensor."""
    sd = model.state_dict()
    w = sd["time_embedding.linear_1.weight"]
    sd["time_embedding.linear_1.weight"] = w.t().contiguous().t()          # strides (1, rows)
    c = sd["down_blocks.0.resnets.0.conv1.weight"]
    sd["down_blocks.0.resnets.0.conv1.weight"] = c.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    gw, gb = sd["conv_norm_out.weight"], sd["conv_norm_out.bias"]
    shared = torch.cat([gw, gb])
    sd["conv_norm_out.weight"], sd["conv_norm_out.bias"] = shared[:gw.numel()], shared[gw.numel():]
    sd["conv_out.weight"] = sd["conv_out.weight"].half()
    sd["conv_in.weight"] = sd["conv_in.weight"].bfloat16()
    assert not sd["time_embedding.linear_1.weight"].is_contiguous()
    assert not sd["down_blocks.0.resnets.0.conv1.weight"].is_contiguous()
    assert sd["conv_norm_out.bias"].storage_offset() == gw.numel()
    return sd


def fixed_zip(entries: list, path: str, compression: int = 0) -> None:
    """A zip of (name, bytes) with fixed dates (Python's zipfile: local headers with sizes, no
    data descriptors; torch's writer uses descriptors and 64-byte alignment)."""
    import zipfile
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            z.writestr(info, data)


def make_pickle() -> None:
    """Tests/Fixtures/pickle/: a tiny UNet's weights as torch.save writes them (zip.bin,
    legacy.bin), the same tensors as safetensors (expected.safetensors, each in its stored dtype),
    and diffusers' output from the .bin (io.safetensors); Tests/Fuzz/corpus/pickle/: small
    checkpoints and bad- seeds that each break one rule of the reader. The .bin files are not
    byte-reproducible: torch writes a random serialization id into the zip and memory addresses as
    the legacy format's storage keys. Their tensors are."""
    import io
    import zipfile
    folder = os.path.join(FIX, "pickle")
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    model = build_unet(PICKLE_CONFIG, PICKLE_SEED)
    sd = pickle_state_dict(model)
    # the model the golden output comes from holds exactly the stored (rounded) values
    model.load_state_dict({k: v.float() for k, v in sd.items()})
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(config_json_text(model))
    torch.save(sd, os.path.join(folder, "zip.bin"))
    torch.save(sd, os.path.join(folder, "legacy.bin"), _use_new_zipfile_serialization=False)
    save_st({k: v.clone() for k, v in sd.items()}, os.path.join(folder, "expected.safetensors"))
    g = torch.Generator().manual_seed(PICKLE_SEED + 2)
    sample = torch.randn(2, 3, 8, 8, generator=g)
    timestep = torch.tensor([999.0, 17.0])
    with torch.no_grad():
        out = model(sample, timestep).sample
    save_st({"sample": sample, "timestep": timestep, "output": out}, os.path.join(folder, "io.safetensors"))
    # self-check: diffusers reads each .bin as a model folder's weights and gives the same output
    for name in ("zip.bin", "legacy.bin"):
        with tempfile.TemporaryDirectory() as d:
            shutil.copy(os.path.join(folder, "config.json"), d)
            shutil.copy(os.path.join(folder, name), os.path.join(d, "diffusion_pytorch_model.bin"))
            re = UNet2DModel.from_pretrained(d, use_safetensors=False).eval()
            with torch.no_grad():
                diff = (re(sample, timestep).sample - out).abs().max().item()
            assert diff < 1e-6, f"{name}: reload mismatch {diff}"
    nparams = sum(v.numel() for v in sd.values())
    print(f"pickle/: {len(sd)} tensors, {nparams} parameters, zip {os.path.getsize(os.path.join(folder, 'zip.bin'))} B, "
          f"legacy {os.path.getsize(os.path.join(folder, 'legacy.bin'))} B")

    # fuzz seeds: small state dicts, then bad- seeds that each break one rule
    corpus = os.path.join(REPO, "Tests", "Fuzz", "corpus", "pickle")
    if os.path.isdir(corpus):
        shutil.rmtree(corpus)
    os.makedirs(corpus)
    small = __import__("collections").OrderedDict()
    a = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 8
    small["a"] = a
    small["t"] = (a + 1).t()
    small["h"] = (a - 1).half()
    small["b"] = (a * 3).bfloat16()
    small["o"] = (a * 5).flatten()[2:]
    small["s"] = torch.tensor(2.5)  # rank 0
    good = {}
    for name, kw in (("small.bin", {}), ("small-legacy.bin", {"_use_new_zipfile_serialization": False})):
        buf = io.BytesIO()
        torch.save(small, buf, **kw)
        good[name] = buf.getvalue()
        with open(os.path.join(corpus, name), "wb") as f:
            f.write(good[name])
        back = torch.load(io.BytesIO(good[name]), weights_only=True)
        assert all(torch.equal(back[k], small[k]) for k in small)
    entries = [(i.filename, zipfile.ZipFile(io.BytesIO(good["small.bin"])).read(i.filename))
               for i in zipfile.ZipFile(io.BytesIO(good["small.bin"])).infolist()]
    pkl_name = next(n for n, _ in entries if n.endswith("/data.pkl"))
    pkl = dict(entries)[pkl_name]

    def with_pickle(new: bytes) -> list:
        return [(n, new if n == pkl_name else d) for n, d in entries]

    def once(old: bytes, new: bytes) -> bytes:
        assert old in pkl, old
        return pkl.replace(old, new, 1)

    bad = {
        # the zip rewritten by Python's zipfile, otherwise untouched: accepted
        "python-zipfile.bin": (entries, 0),
        "bad-global-os-system.bin": (with_pickle(once(b"ccollections\nOrderedDict\n", b"cos\nsystem\n")), 0),
        "bad-global-eval.bin": (with_pickle(once(b"ctorch._utils\n_rebuild_tensor_v2\n", b"cbuiltins\neval\n")), 0),
        "bad-opcode-inst.bin": (with_pickle(once(b")R", b"(i")), 0),
        "bad-missing-storage.bin": ([(n, d) for n, d in entries if not n.endswith("/data/0")], 0),
        "bad-tensor-past-storage.bin": (with_pickle(once(b"K\x02K\x03\x86", b"K\x03K\x03\x86")), 0),
        "bad-huge-shape.bin": (with_pickle(once(b"K\x02K\x03\x86", b"J\xff\xff\xff\x7fJ\xff\xff\xff\x7f\x86")), 0),
        "bad-int64-storage.bin": (with_pickle(once(b"ctorch\nFloatStorage\n", b"ctorch\nLongStorage\n")), 0),
        "bad-big-endian.bin": ([(n, b"big" if n.endswith("/byteorder") else d) for n, d in entries], 0),
        "bad-deflated.bin": (entries, zipfile.ZIP_DEFLATED),
    }
    for name, (ents, compression) in bad.items():
        fixed_zip(ents, os.path.join(corpus, name), compression)
    with open(os.path.join(corpus, "bad-truncated.bin"), "wb") as f:
        f.write(good["small.bin"][: len(good["small.bin"]) * 2 // 3])
    legacy = good["small-legacy.bin"]
    assert legacy[2:4] == b"\x8a\x0a"
    with open(os.path.join(corpus, "bad-legacy-magic.bin"), "wb") as f:
        f.write(legacy[:4] + bytes([legacy[4] ^ 1]) + legacy[5:])
    with open(os.path.join(corpus, "bad-legacy-short-data.bin"), "wb") as f:
        f.write(legacy[:-3])
    for name in sorted(os.listdir(corpus)):
        data = open(os.path.join(corpus, name), "rb").read()
        try:
            torch.load(io.BytesIO(data), weights_only=True)
            loads = True
        except Exception:
            loads = False
        print(f"  corpus/pickle/{name}: {len(data)} B, torch.load(weights_only=True) {'loads' if loads else 'refuses'}")


# ---------------------------------------------------------------------------


def total_size(root: str) -> int:
    tot = 0
    for d, _, files in os.walk(root):
        for f in files:
            tot += os.path.getsize(os.path.join(d, f))
    return tot


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench-models", metavar="OUT_DIR", help="write random-weight bench models instead")
    ap.add_argument("--celebahq", action="store_true", help="with --bench-models: also celebahq-256 (455 MB)")
    ap.add_argument("--inversion-only", action="store_true", help="only the DDIM inversion golden (tiny pipeline)")
    ap.add_argument("--pickle-only", action="store_true",
                    help="only the PyTorch pickle checkpoints (Tests/Fixtures/pickle, the pickle fuzz seeds)")
    ap.add_argument("--default-model-only", action="store_true",
                    help="only the golden of the embedded model (after retraining it)")
    ap.add_argument("--unet-cases", metavar="NAMES",
                    help="only these UNet cases, comma-separated (e.g. the variants added later, leaving the others' bytes as they are)")
    args = ap.parse_args()
    if args.unet_cases:
        torch.set_num_threads(1)
        make_unet_cases(args.unet_cases.split(","))
        return
    if args.inversion_only:
        torch.set_num_threads(1)
        make_inversion_golden()
        return
    if args.pickle_only:
        torch.set_num_threads(1)
        make_pickle()
        return
    if args.default_model_only:
        torch.set_num_threads(1)
        make_default_model_golden()
        return
    torch.set_num_threads(1)  # fixed reduction order -> reproducible bytes
    if args.bench_models:
        make_bench_models(args.bench_models, args.celebahq)
        return
    make_randn()
    make_scheduler_cases()
    make_unet_cases()
    make_pipeline()
    make_inversion_golden()
    make_default_model_golden()
    make_pickle()
    print("files:")
    for d, _, files in sorted(os.walk(FIX)):
        for f in sorted(files):
            p = os.path.join(d, f)
            print(f"  {os.path.relpath(p, REPO)}  {os.path.getsize(p)}")
    tot = total_size(FIX)
    print(f"total Tests/Fixtures: {tot} bytes ({tot / 1e6:.2f} MB)")
    assert tot < 4.4e6, "fixtures over the 4.4 MB budget"  # 2.5 MB until issue #20's UNet variants and pickle weights, 4.2 until #23's guided ones


if __name__ == "__main__":
    main()
