"""Parity fixture of the shipped demo model: the official segment_anything code run on samples/shapes.png (halved)
with weights/demo/sam_demo.safetensors, in the layout of the SAM 1 fixtures (shared/fixtures/README.md).

usage: /usr/bin/python3 make_fixture.py SAM_SRC REPO_ROOT [--threads N]

Writes REPO_ROOT/tests/fixtures/demo/{cases.json, reference.safetensors}; cases.json names the weights
"shipped": "demo" (the parity runner loads the model `--model demo` loads), so `samengine parity --fixture
tests/fixtures/demo` checks the engine against the official code on that very file. The model is built with
train.build_sam (the official modules) and the fp16 weights widened to float32, as the engine does.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "sam2"))
import train  # noqa: E402
from fixture_io import predictor_case, safetensors_metadata, save_safetensors  # noqa: E402

WEIGHTS = os.path.join("weights", "demo", "sam_demo.safetensors")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sam_src")
    ap.add_argument("repo_root")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    sys.path.insert(0, args.sam_src)
    from segment_anything import SamPredictor
    torch.set_num_threads(args.threads)

    weights_path = os.path.join(args.repo_root, WEIGHTS)
    arch = json.loads(safetensors_metadata(weights_path)["sam_architecture"])
    sam = train.build_sam(arch).eval()
    sam.load_state_dict(train.load_weights(weights_path))

    # The sample halved (320 x 240, the model's own input size) keeps the reference a few MB.
    sample = Image.open(os.path.join(args.repo_root, "samples", "shapes.png")).convert("RGB")
    image = np.asarray(sample.resize((sample.width // 2, sample.height // 2), Image.BILINEAR))
    h, w = image.shape[:2]
    out = {"image": image}
    pred = SamPredictor(sam)
    enc = sam.image_encoder
    captured = {}
    hooks = [enc.patch_embed.register_forward_hook(lambda m, i, o: captured.__setitem__("patch_embed", o))]
    for bi, blk in enumerate(enc.blocks):
        hooks.append(blk.register_forward_hook(lambda m, i, o, bi=bi: captured.__setitem__(f"block_{bi}", o)))
    hooks.append(enc.neck[0].register_forward_hook(lambda m, i, o: captured.__setitem__("neck_conv1", o)))
    pred.set_image(image)
    for hook in hooks:
        hook.remove()
    resized = pred.transform.apply_image(image)
    out["input_resized"] = resized
    out["input_tensor"] = sam.preprocess(torch.as_tensor(resized).permute(2, 0, 1).contiguous()[None].float()).numpy()
    out["patch_embed"] = (captured["patch_embed"] + enc.pos_embed).detach().numpy()
    for k, v in captured.items():
        if k.startswith("block_") or k == "neck_conv1":
            out[k] = v.detach().numpy()
    out["image_embeddings"] = pred.features.detach().numpy()
    out["dense_pe"] = sam.prompt_encoder.get_dense_pe().detach().numpy()

    # The halved sample's objects: ball (100, 150), sun (260, 45), house walls 180-260 x 115-190, window 200-220 x 130-150.
    cases = [
        dict(name="point_multi", points=[[100.0, 150.0]], labels=[1], multimask=True),
        dict(name="points_fg_bg_single", points=[[235.0, 160.0], [210.0, 140.0]], labels=[1, 0], multimask=False),
        dict(name="box_single", box=[237.0, 22.0, 283.0, 68.0], multimask=False),
        dict(name="box_point", box=[175.0, 85.0, 265.0, 191.0], points=[[220.0, 100.0]], labels=[1], multimask=False),
        dict(name="point_mask_refine", points=[[100.0, 150.0], [30.0, 210.0]], labels=[1, 0], mask_from="point_multi",
             multimask=False),
        dict(name="five_points_multi", points=[[210.0, 140.0], [190.0, 175.0], [220.0, 100.0], [30.0, 30.0],
                                                [300.0, 220.0]], labels=[1, 1, 1, 0, 0], multimask=True),
        dict(name="edge_points", points=[[0.0, 0.0], [w - 1.0, h - 1.0]], labels=[1, 0], multimask=True),
    ]
    results = {}
    for c in cases:
        predictor_case(pred, sam, c, results, out)

    boxes = np.array([[65.0, 115.0, 136.0, 186.0], [237.0, 22.0, 283.0, 68.0], [199.0, 129.0, 221.0, 151.0]], np.float32)
    bt = torch.as_tensor(pred.transform.apply_boxes(boxes, pred.original_size), dtype=torch.float)
    with torch.no_grad():
        bm, biou, blow = pred.predict_torch(None, None, bt, None, multimask_output=False)
    cases.append(dict(name="batched_boxes", boxes=boxes.tolist(), multimask=False))
    out["batched_boxes.masks"] = bm.numpy().astype(np.uint8)
    out["batched_boxes.iou_predictions"] = biou.numpy().astype(np.float32)
    out["batched_boxes.low_res_logits"] = blow.numpy().astype(np.float32)

    fixture = os.path.join(args.repo_root, "tests", "fixtures", "demo")
    os.makedirs(fixture, exist_ok=True)
    save_safetensors(os.path.join(fixture, "reference.safetensors"), out)
    doc = dict(config="demo", architecture=dict(arch, image_hw=[h, w]),
               weights=dict(shipped="demo"),
               image=dict(source="samples/shapes.png, halved (PIL bilinear)", height=h, width=w),
               reference=dict(code="facebookresearch/segment-anything (official), PyTorch " + torch.__version__ + ", float32, CPU",
                              threads=args.threads),
               cases=cases,
               tensors={k: [str(v.dtype), list(v.shape)] for k, v in sorted(out.items())})
    with open(os.path.join(fixture, "cases.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("wrote", fixture)


if __name__ == "__main__":
    main()
