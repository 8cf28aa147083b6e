"""What box mIoU on the held-out set (tests/fixtures/demo_eval) could be, before any training: the ceiling
of SAM's mask path at a given architecture, and what a trivial answer scores.

usage: /usr/bin/python3 bounds.py REPO_ROOT [--config IMG_SIZE:PATCH_SIZE ...]

- ceiling: each true mask resized to the model's input (longest side IMG_SIZE, padded), its coverage of
  every low-res cell (the decoder's output grid, 4 x IMG_SIZE / PATCH_SIZE a side) turned into logits
  proportional to coverage - 1/2, then upsampled and thresholded as postprocess_masks does. A model
  cannot place a boundary much better than this through that grid, so a target above it is out of reach.
- fill-box: the prompt box itself as the mask.
Printed per kind and over all objects, one column per configuration.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenes  # noqa: E402


def ceiling_iou(mask, img_size, patch_size):
    h, w = mask.shape
    scale = img_size / max(h, w)
    nh, nw = int(h * scale + 0.5), int(w * scale + 0.5)
    x = F.interpolate(torch.from_numpy(mask.astype(np.float32))[None, None], (nh, nw), mode="bilinear", align_corners=False)
    x = F.pad(x, (0, img_size - nw, 0, img_size - nh))
    cell = patch_size // 4  # input pixels per low-res cell
    logits = (F.avg_pool2d(x, cell) - 0.5) * 20
    up = F.interpolate(logits, (img_size, img_size), mode="bilinear", align_corners=False)[..., :nh, :nw]
    pred = F.interpolate(up, (h, w), mode="bilinear", align_corners=False)[0, 0].numpy() > 0
    return scenes.binary_iou(pred, mask)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("repo_root")
    ap.add_argument("--config", action="append", default=[], metavar="IMG_SIZE:PATCH_SIZE")
    args = ap.parse_args()
    configs = [tuple(map(int, c.split(":"))) for c in args.config] or [(320, 16), (256, 8)]
    data = os.path.join(args.repo_root, "tests", "fixtures", "demo_eval")
    manifest = json.load(open(os.path.join(data, "manifest.json")))
    rows = []
    for scene in manifest["scenes"]:
        for o in scene["objects"]:
            mask = np.asarray(Image.open(os.path.join(data, o["mask"]))) > 127
            x0, y0, x1, y1 = o["box"]
            box = np.zeros_like(mask)
            box[y0:y1 + 1, x0:x1 + 1] = True
            values = [ceiling_iou(mask, s, p) for s, p in configs] + [scenes.binary_iou(box, mask)]
            rows.append((o["kind"], values))
    header = [f"ceiling {s}/{p}" for s, p in configs] + ["fill-box"]
    print(f"{'kind':>8} {'n':>4}  " + "  ".join(f"{h:>16}" for h in header))
    for kind in sorted({k for k, _ in rows}) + ["all"]:
        v = np.array([r for k, r in rows if kind in ("all", k)])
        print(f"{kind:>8} {len(v):4d}  " + "  ".join(f"{x:16.3f}" for x in v.mean(0)))


if __name__ == "__main__":
    main()
