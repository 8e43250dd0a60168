"""The one-seed CNN + augmentation variants run on the H100 (output: robustness-h100-cnn-variants.log)."""
from dataclasses import replace

import torch

from digitlab.datasets import load
from digitlab.inference import predict_labels
from digitlab.models import build
from digitlab.presets import recommended
from digitlab.robustness.evaluate import robustness_table
from digitlab.training import seed_everything, train

torch.backends.cudnn.benchmark = True
data = load("mnist")
base = recommended("cnn", augment="shift,rotate,scale", augment_max_shift=3.0, epochs=12)
variants = [
    ("ep20", {}, replace(base, epochs=20)),
    ("shift3-rot15 ep12", {}, replace(base, augment_max_shift=3.0, augment_max_degrees=15.0)),
    ("wide 64-128 h256 ep12", {"channels": (64, 128), "hidden_sizes": (256,)}, base),
    ("ep20 b256 lr8e-3", {}, replace(base, epochs=20, batch_size=256, lr=8e-3)),
    ("shift3-rot15 ep20", {}, replace(base, epochs=20, augment_max_shift=3.0, augment_max_degrees=15.0)),
]
strengths = {"shift": (0, 1, 2, 3, 4), "rotate": (5, 10, 15, 20)}
for name, model_config, config in variants:
    seed_everything(0)
    model = build("cnn", **model_config)
    result = train(model, data, config, device="cuda")
    rows = robustness_table({"m": lambda x, model=model: predict_labels(model, x)}, data.test, ("shift", "rotate"), strengths)
    worst = {t: min(r["accuracy"] for r in rows if r["transform"] == t and r["strength"] > 0) for t in ("shift", "rotate")}
    print(f"{name:24s} clean {result.test_accuracy:.2%} shift<=4 {worst['shift']:.2%} rot<=20 {worst['rotate']:.2%} "
          f"{result.train_seconds:.1f}s hist {[round(h['test_accuracy']*100,2) for h in result.history[-4:]]}", flush=True)
