"""Writes the demo model's held-out evaluation set and redraws samples/shapes.png with its true masks.

usage: /usr/bin/python3 make_data.py REPO_ROOT [--scenes N] [--seed S]

- REPO_ROOT/tests/fixtures/demo_eval: N scenes from scenes.py with a seed stream the training never draws
  (training uses [seed, step], this uses [EVAL_STREAM, i]), image NNN.png and a mask NNN_KK.png per visible
  instance, and manifest.json.
- REPO_ROOT/samples/shapes.png (640 x 480: a landscape with a sun, a ball and a house with a roof and a
  window) and samples/shapes_masks/ in the same layout.

Manifest: {"recipe", "seed", "scenes": [{"image", "width", "height", "objects": [{"mask", "kind", "area",
"point": [x, y], "box": [x0, y0, x1, y1]}]}]}; point = the interior pixel farthest from the boundary, to be
prompted at its centre (x + 0.5, y + 0.5); box = inclusive pixel bounds, prompted as (x0, y0, x1 + 1, y1 + 1).
Masks are 8-bit gray PNGs, 255 inside. Re-running writes identical files.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenes  # noqa: E402

EVAL_STREAM = 1000
LONGEST_SIDE = 320  # the demo model's img_size: scenes are made at the size the model sees


def object_record(mask, kind, file_name):
    return {"mask": file_name, "kind": kind, "area": int(mask.sum()),
            "point": list(scenes.interior_point(mask)), "box": scenes.bounding_box(mask)}


def write_scene(out_dir, stem, image, instances):
    Image.fromarray(image).save(os.path.join(out_dir, f"{stem}.png"), optimize=True)
    objects = []
    for k, inst in enumerate(instances):
        name = f"{stem}_{k:02d}.png"
        Image.fromarray(inst["mask"].astype(np.uint8) * 255).save(os.path.join(out_dir, name), optimize=True)
        objects.append(object_record(inst["mask"], inst["kind"], name))
    return {"image": f"{stem}.png", "width": image.shape[1], "height": image.shape[0], "objects": objects}


def write_manifest(out_dir, recipe, seed, records):
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"recipe": recipe, "seed": seed, "scenes": records}, f, indent=1)
        f.write("\n")


def eval_set(out_dir, count, seed):
    os.makedirs(out_dir, exist_ok=True)
    records = []
    for i in range(count):
        rng = np.random.default_rng([EVAL_STREAM + seed, i])
        h, w = scenes.scene_size(rng, LONGEST_SIDE)
        image, instances = scenes.make_scene(rng, h, w)
        records.append(write_scene(out_dir, f"{i:03d}", image, instances))
    write_manifest(out_dir, f"tools/demo-model/scenes.py make_scene, longest side {LONGEST_SIDE}, "
                            f"generator numpy default_rng([{EVAL_STREAM} + seed, index])", seed, records)


def shapes_sample(image_path, masks_dir):
    """The README's sample: every shape drawn by formula, so each mask is exact."""
    h, w = 480, 640
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    t = (yy / 330.0).clip(0, 1)[..., None]
    image = np.array([118, 170, 232], np.float32) * (1 - t) + np.array([184, 156, 124], np.float32) * t
    horizon = 332 + 10 * np.sin((xx[0] - 80) * 2 * math.pi / 520)
    ground = yy >= horizon[None, :]
    image = np.where(ground[..., None], np.array([116, 132, 62], np.float32), image)

    def ball(cx, cy, r, light, dark, spot):
        m = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        u = (np.hypot(xx - spot[0], yy - spot[1]) / (1.6 * r)).clip(0, 1)[..., None]
        return m, np.array(light, np.float32) * (1 - u) + np.array(dark, np.float32) * u

    sun, sun_fill = ball(520, 90, 45, (250, 222, 100), (250, 210, 50), (505, 80))
    red, red_fill = ball(200, 300, 70, (222, 44, 50), (90, 15, 18), (165, 260))
    walls = (xx >= 360) & (xx < 520) & (yy >= 230) & (yy < 380)
    wall_fill = (np.array([58, 88, 172], np.float32) * (1 - ((xx - 360) / 160).clip(0, 1)[..., None])
                 + np.array([62, 92, 130], np.float32) * ((xx - 360) / 160).clip(0, 1)[..., None])
    roof = (yy < 230) & (yy >= 171 + np.abs(xx - 440) * (59 / 88)) & ~walls
    window = (xx >= 400) & (xx < 440) & (yy >= 260) & (yy < 300)
    for m, fill in [(sun, sun_fill), (red, red_fill), (walls, wall_fill),
                    (roof, np.array([72, 45, 40], np.float32)), (window, np.array([236, 236, 201], np.float32))]:
        image = np.where(m[..., None], fill, image)
    house = walls | roof
    out = np.clip(np.round(image), 0, 255).astype(np.uint8)
    Image.fromarray(out).save(image_path, optimize=True)
    os.makedirs(masks_dir, exist_ok=True)
    objects = []
    for kind, m in [("sun", sun), ("ball", red), ("house", house), ("walls", walls), ("roof", roof),
                    ("window", window), ("ground", ground & ~red & ~house)]:
        name = f"{kind}.png"
        Image.fromarray(m.astype(np.uint8) * 255).save(os.path.join(masks_dir, name), optimize=True)
        objects.append(object_record(m, kind, name))
    record = {"image": "../" + os.path.basename(image_path), "width": w, "height": h, "objects": objects}
    write_manifest(masks_dir, "tools/demo-model/make_data.py shapes_sample", 0, [record])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("repo_root")
    ap.add_argument("--scenes", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    eval_set(os.path.join(args.repo_root, "tests", "fixtures", "demo_eval"), args.scenes, args.seed)
    shapes_sample(os.path.join(args.repo_root, "samples", "shapes.png"),
                  os.path.join(args.repo_root, "samples", "shapes_masks"))


if __name__ == "__main__":
    main()
