"""A training checkpoint's quality on the held-out set, measured in PyTorch by the official predictor: box
mIoU, single-point mIoU of the top-scored mask and oracle mIoU over the three, per kind, per size and per fill of
the object's box; how many box prompts failed and how many of those found another object instead.

usage: /usr/bin/python3 evaluate.py SAM_SRC REPO_ROOT CHECKPOINT [--set KEY=VALUE ...] [--worst N PNG [--min-area A]]

CHECKPOINT: a run's checkpoint.pt, or an exported .safetensors.

A quick look while a run trains (about 20 s, no export): the figures the README and the CI bars quote are
the engine's (tests/Evaluation/DemoModelQualityTests.cs on the exported fp16 file), which this follows
closely. Prompts as there: the box (x0, y0, x1 + 1, y1 + 1), the point at the centre of the manifest's pixel.
Give the --set entries the run was trained with. --worst draws the N objects (of at least --min-area pixels)
with the lowest box IoU into PNG, two to a row: the scene around the box, and the box's mask over it (green
where it is right, red where it missed the object, blue where it spilled over).
"""
import argparse
import collections
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenes  # noqa: E402
import train  # noqa: E402


def parse_args(argv):
    """The command line, checked before the model is built: a bad --worst fails now, not after the evaluation."""
    ap = argparse.ArgumentParser()
    ap.add_argument("sam_src")
    ap.add_argument("repo_root")
    ap.add_argument("checkpoint")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--worst", nargs=2, metavar=("N", "PNG"))
    ap.add_argument("--min-area", type=int)
    args = ap.parse_args(argv)
    if args.worst:
        count, png = args.worst
        if not count.isdigit() or int(count) < 1:
            ap.error(f"--worst N must be a whole number of at least 1, not {count!r}")
        if not png.lower().endswith(".png"):
            ap.error(f"--worst PNG must name a .png file, not {png!r}")
        args.worst = (int(count), png)
    if args.min_area is not None:
        if not args.worst:
            ap.error("--min-area only chooses among the objects --worst draws; give --worst N PNG too")
        if args.min_area < 0:
            ap.error(f"--min-area must be 0 or more pixels, not {args.min_area}")
    args.min_area = args.min_area or 0
    try:
        train.apply_settings(args.set)
    except ValueError as e:
        ap.error(str(e))
    return args


def main():
    args = parse_args(sys.argv[1:])
    sys.path.insert(0, args.sam_src)
    from segment_anything import SamPredictor
    torch.set_num_threads(2)
    sam = train.build_sam(train.ARCHITECTURE)
    if args.checkpoint.endswith(".safetensors"):  # an exported model
        sam.load_state_dict(train.load_weights(args.checkpoint))
    else:
        sam.load_state_dict(torch.load(args.checkpoint)["model"])
    predictor = SamPredictor(sam.eval())
    data = os.path.join(args.repo_root, "tests", "fixtures", "demo_eval")
    manifest = json.load(open(os.path.join(data, "manifest.json")))
    rows = []  # (kind, area, fill of its box, box IoU, top-scored point IoU, oracle point IoU, box mask's best IoU with another object)
    box_cases = []  # (box IoU, area, image, truth, box mask, box) for --worst
    with torch.no_grad():
        for scene in manifest["scenes"]:
            image = np.asarray(Image.open(os.path.join(data, scene["image"])).convert("RGB"))
            predictor.set_image(image)
            truths = [np.asarray(Image.open(os.path.join(data, o["mask"]))) > 127 for o in scene["objects"]]
            for i, (o, truth) in enumerate(zip(scene["objects"], truths)):
                x0, y0, x1, y1 = o["box"]
                masks, _, _ = predictor.predict(box=np.array([x0, y0, x1 + 1, y1 + 1], np.float32), multimask_output=False)
                box = scenes.binary_iou(masks[0], truth)
                other = max((scenes.binary_iou(masks[0], t) for j, t in enumerate(truths) if j != i), default=0.0)
                fill = o["area"] / ((x1 - x0 + 1) * (y1 - y0 + 1))
                if args.worst and o["area"] >= args.min_area:
                    box_cases.append((box, o["area"], image, truth, masks[0], o["box"]))
                px, py = o["point"]
                masks, scores, _ = predictor.predict(point_coords=np.array([[px + 0.5, py + 0.5]]), point_labels=np.array([1]),
                                                     multimask_output=True)
                ious = [scenes.binary_iou(m, truth) for m in masks]
                rows.append((o["kind"], o["area"], fill, box, ious[int(np.argmax(scores))], max(ious), other))

    def table(title, key):
        groups = collections.defaultdict(list)
        for r in rows:
            groups[key(r)].append(r)
        print(title)
        for k in sorted(groups):
            g = np.array([r[3:6] for r in groups[k]])
            print(f"  {str(k):>8} n={len(g):3d}  box {g[:, 0].mean():.3f}  point {g[:, 1].mean():.3f}  oracle {g[:, 2].mean():.3f}")

    every = np.array([r[3:6] for r in rows])
    print(f"all n={len(rows)}  box {every[:, 0].mean():.3f}  point {every[:, 1].mean():.3f}  oracle {every[:, 2].mean():.3f}")
    table("by kind", lambda r: r[0])
    table("by area (log2 pixels)", lambda r: min(int(np.log2(r[1])), 15))
    # An occluded object's box can hold mostly its occluder, so the box prompt asks for either.
    table("by fill of the box (area / box area)", lambda r: f"{min(int(r[2] * 5), 4) / 5:.1f}+")
    failed = [r for r in rows if r[3] < 0.5]
    print(f"box IoU under 0.5: {len(failed)} objects, {sum(r[6] > r[3] for r in failed)} of them closer to another object of their scene;"
          f" objects under 512 pixels carry {sum(1 - r[3] for r in rows if r[1] < 512) / sum(1 - r[3] for r in rows):.0%} of the box IoU lost")
    if args.worst:
        draw_worst(sorted(box_cases, key=lambda c: c[0])[:args.worst[0]], args.worst[1])


def draw_worst(cases, path, tile=160, margin=10):
    """Each case as the scene around its box beside the box's mask over it, two cases to a row of PNG."""
    sheet = Image.new("RGB", (4 * tile, tile * ((len(cases) + 1) // 2)))
    for i, (iou, area, image, truth, mask, (x0, y0, x1, y1)) in enumerate(cases):
        ya, yb = max(0, y0 - margin), min(image.shape[0], y1 + margin + 1)
        xa, xb = max(0, x0 - margin), min(image.shape[1], x1 + margin + 1)
        crop, t, m = image[ya:yb, xa:xb], truth[ya:yb, xa:xb], mask[ya:yb, xa:xb]
        over = crop.astype(np.float32)
        over[t & m] = over[t & m] * 0.5 + [0, 128, 0]
        over[t & ~m] = [255, 0, 0]
        over[m & ~t] = [0, 0, 255]
        pair = Image.fromarray(np.concatenate([crop, over.astype(np.uint8)], 1)).resize((2 * tile, tile))
        sheet.paste(pair, ((i % 2) * 2 * tile, (i // 2) * tile))
        print(f"worst {i}: box IoU {iou:.3f}, area {area}, box {x0},{y0},{x1},{y1}")
    sheet.save(path)


if __name__ == "__main__":
    main()
