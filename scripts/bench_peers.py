#!/usr/bin/env python3
"""Time one UNet2DModel forward in the peers ddim is compared with: PyTorch and onnxruntime (CPU).

    /work/pyenv/bin/python scripts/bench_peers.py MODEL_DIR [--batch N] [--threads N] [--runs N] [--json]

MODEL_DIR is a local diffusers UNet folder (config.json + diffusion_pytorch_model.safetensors)
or a pipeline folder holding one in unet/. Nothing is downloaded. Random-weight folders with
the real architectures come from `scripts/make_fixtures.py --bench-models OUT_DIR`.

PyTorch: float32, eval, torch.set_num_threads(threads), torch.inference_mode(); median (and
min) wall time of `runs` forwards after `warmup` forwards. onnxruntime: the same model exported to ONNX
(opset 17, TorchScript exporter, timestep an input), CPUExecutionProvider with
intra_op_num_threads = threads, all graph optimisations, same input.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")

import numpy as np  # noqa: E402
import torch  # noqa: E402


def unet_dir(path: str) -> str:
    if os.path.isfile(os.path.join(path, "config.json")):
        return path
    sub = os.path.join(path, "unet")
    if os.path.isfile(os.path.join(sub, "config.json")):
        return sub
    sys.exit(f"{path}: neither a UNet folder (config.json) nor a pipeline folder (unet/config.json)")


class Wrapper(torch.nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep):
        return self.unet(sample, timestep, return_dict=False)[0]


def time_ms(fn, warmup: int, runs: int) -> tuple[float, float]:
    """(median, min) wall milliseconds per call after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--timestep", type=float, default=500.0)
    ap.add_argument("--no-onnx", action="store_true", help="time PyTorch only")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args()

    from diffusers import UNet2DModel
    from diffusers.utils import logging as dlogging

    dlogging.set_verbosity_error()
    torch.set_num_threads(args.threads)

    folder = unet_dir(args.model_dir)
    unet = UNet2DModel.from_pretrained(folder, torch_dtype=torch.float32).eval()
    model = Wrapper(unet).eval()
    cfg = unet.config
    size = cfg.sample_size if isinstance(cfg.sample_size, (list, tuple)) else (cfg.sample_size, cfg.sample_size)
    g = torch.Generator().manual_seed(0)
    sample = torch.randn(args.batch, cfg.in_channels, *size, generator=g)
    timestep = torch.full((args.batch,), args.timestep, dtype=torch.float32)
    params = sum(p.numel() for p in unet.parameters())

    with torch.inference_mode():
        ref = model(sample, timestep)
        torch_ms, torch_min = time_ms(lambda: model(sample, timestep), args.warmup, args.runs)

    result = {
        "model_dir": os.path.abspath(folder),
        "params": params,
        "input_shape": list(sample.shape),
        "torch_ms": round(torch_ms, 3),
        "onnxruntime_ms": None,
        "torch_min_ms": round(torch_min, 3),
        "onnxruntime_min_ms": None,
        "batch": args.batch,
        "threads": args.threads,
        "runs": args.runs,
        "torch_version": torch.__version__,
        "onnxruntime_version": None,
        "max_abs_diff_ort_vs_torch": None,
    }

    if not args.no_onnx:
        import onnxruntime as ort

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "unet.onnx")
            with torch.no_grad():
                torch.onnx.export(model, (sample, timestep), path, opset_version=17, dynamo=False,
                                  input_names=["sample", "timestep"], output_names=["out"])
            so = ort.SessionOptions()
            so.intra_op_num_threads = args.threads
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            feeds = {"sample": sample.numpy(), "timestep": timestep.numpy()}
            out = sess.run(None, feeds)[0]
            ort_ms, ort_min = time_ms(lambda: sess.run(None, feeds), args.warmup, args.runs)
        result["onnxruntime_ms"] = round(ort_ms, 3)
        result["onnxruntime_min_ms"] = round(ort_min, 3)
        result["onnxruntime_version"] = ort.__version__
        result["max_abs_diff_ort_vs_torch"] = float(np.abs(out - ref.numpy()).max())

    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['model_dir']}: {params / 1e6:.1f} M params, input {result['input_shape']}, "
          f"{args.threads} threads, median of {args.runs}")
    print(f"  {'engine':<24}{'median ms':>12}{'min ms':>10}")
    print(f"  {'torch ' + torch.__version__:<24}{torch_ms:>12.2f}{torch_min:>10.2f}")
    if result["onnxruntime_ms"] is not None:
        print(f"  {'onnxruntime ' + result['onnxruntime_version']:<24}{result['onnxruntime_ms']:>12.2f}"
              f"{result['onnxruntime_min_ms']:>10.2f}")
        print(f"  max |ort - torch| = {result['max_abs_diff_ort_vs_torch']:.2e}")


if __name__ == "__main__":
    main()
