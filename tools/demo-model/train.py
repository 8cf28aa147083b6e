"""Trains SamEngine's demo model: a small SAM built from the official segment_anything modules, on
synthetic scenes (scenes.py), with SAM's interactive training recipe.

usage: /usr/bin/python3 train.py SAM_SRC OUT_DIR [--steps N] [--seed S] [--threads N] [--workers W] [--resume] [--set KEY=VALUE ...] [--loss-size L] [--small-object-area PIXELS] [--init-from FILE [--peak-lr LR]] [--bf16]

SAM_SRC is a checkout of facebookresearch/segment-anything (never committed). OUT_DIR receives
checkpoint.pt (every 100 steps, to resume), train-log.jsonl and sam_demo.safetensors (fp16, official
state-dict names, the architecture in the metadata key sam_architecture). --set changes an entry of
ARCHITECTURE for an experiment (e.g. --set img_size=256 --set patch_size=8 --set window_size=8); the
scenes are drawn at img_size. --workers W processes (default 2) each take every W-th image of a step and
sum their gradients before the optimizer step.

Recipe (SAM paper, section 3 and appendix A): per object, a first prompt that is a point drawn uniformly
from the mask or its box with noise; then points drawn uniformly from the error region between the last
prediction and the truth (foreground where the prediction missed, background where it spilled over),
with the previous low-res logits fed back as the mask prompt. A single point gets the three multimask
outputs and only the output with the lowest loss is trained; other prompts train the single output.
Mask loss focal : dice = 20 : 1 (objects of an image weighed alike, or small ones more with
--small-object-area); the IoU head regresses the true IoU of each output by MSE.
"""
import os
import sys

# Set before numpy or torch load libgomp (it reads the variable once): OpenMP threads that spin at
# barriers stall whenever another process takes a core, and a 2-core machine shared with a build then
# trains ~6x slower; sleeping waits cost little when the machine is quiet.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# glibc maps each large tensor fresh and every 4 KB page then faults on first touch: on our VMs that made
# a 67 MB add take 115 ms instead of 9 (a step at patch size 8: 3.5 s instead of 2). With the tunable,
# glibc asks for transparent huge pages for those mappings. It is read at process start, hence the re-exec.
if "glibc.malloc.hugetlb" not in os.environ.get("GLIBC_TUNABLES", ""):
    os.environ["GLIBC_TUNABLES"] = ":".join(filter(None, [os.environ.get("GLIBC_TUNABLES"), "glibc.malloc.hugetlb=1"]))
    os.execv(sys.executable, [sys.executable] + sys.argv)

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from functools import partial  # noqa: E402

import numpy as np  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "sam2"))
import scenes  # noqa: E402

ARCHITECTURE = {
    "img_size": 320, "patch_size": 16, "embed_dim": 128, "depth": 4, "num_heads": 4,
    "global_attn_indexes": [1, 3], "window_size": 10,
    "prompt_embed_dim": 128, "decoder_depth": 2, "decoder_heads": 4, "decoder_mlp_dim": 512,
    "mask_in_chans": 16, "iou_head_hidden_dim": 128, "num_multimask_outputs": 3,
}
IMAGES_PER_STEP = 4
OBJECTS_PER_IMAGE = 6
CORRECTION_POINTS = 2  # prompts per object: the first one, then this many error-region points
FOCAL_WEIGHT, DICE_WEIGHT, IOU_WEIGHT = 20.0, 1.0, 1.0


def build_sam(a):
    """The model, from the official modules with the hyper-parameters _build_sam uses."""
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer
    grid = a["img_size"] // a["patch_size"]
    dim = a["prompt_embed_dim"]
    return Sam(
        image_encoder=ImageEncoderViT(
            depth=a["depth"], embed_dim=a["embed_dim"], img_size=a["img_size"], mlp_ratio=4,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=a["num_heads"],
            patch_size=a["patch_size"], qkv_bias=True, use_rel_pos=True,
            global_attn_indexes=a["global_attn_indexes"], window_size=a["window_size"], out_chans=dim),
        prompt_encoder=PromptEncoder(
            embed_dim=dim, image_embedding_size=(grid, grid), input_image_size=(a["img_size"], a["img_size"]),
            mask_in_chans=a["mask_in_chans"]),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=a["num_multimask_outputs"],
            transformer=TwoWayTransformer(depth=a["decoder_depth"], embedding_dim=dim,
                                          mlp_dim=a["decoder_mlp_dim"], num_heads=a["decoder_heads"]),
            transformer_dim=dim, iou_head_depth=3, iou_head_hidden_dim=a["iou_head_hidden_dim"]),
        pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375])


def focal_loss(logits, target, alpha=0.25, gamma=2.0):
    """Sigmoid focal loss (RetinaNet), averaged over pixels: one value per mask."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = p * target + (1 - p) * (1 - target)
    loss = ce * (1 - p_t) ** gamma
    loss = (alpha * target + (1 - alpha) * (1 - target)) * loss
    return loss.flatten(-2).mean(-1)


def dice_loss(logits, target):
    p = torch.sigmoid(logits).flatten(-2)
    t = target.flatten(-2)
    return 1 - (2 * (p * t).sum(-1) + 1) / (p.sum(-1) + t.sum(-1) + 1)


def mask_iou(logits, target):
    pred = logits > 0
    t = target > 0.5
    inter = (pred & t).flatten(-2).sum(-1).float()
    union = (pred | t).flatten(-2).sum(-1).float()
    return inter / union.clamp(min=1)


def sample_pixel(rng, region):
    """A uniformly drawn (x, y) of a boolean H x W numpy region, or None when it is empty."""
    ys, xs = np.nonzero(region)
    if len(xs) == 0:
        return None
    i = int(rng.integers(len(xs)))
    return int(xs[i]), int(ys[i])


def noisy_box(rng, mask, size):
    """The mask's box (x0, y0, x1 + 1, y1 + 1) with each side moved by noise of 10 % of the box side, at most 20 px."""
    x0, y0, x1, y1 = scenes.bounding_box(mask)
    x1, y1 = x1 + 1, y1 + 1
    w, h = x1 - x0, y1 - y0
    sx, sy = min(0.1 * w, 20.0), min(0.1 * h, 20.0)
    box = np.array([x0, y0, x1, y1], np.float32) + rng.normal(0, 1, 4).astype(np.float32) * [sx, sy, sx, sy]
    return np.clip(box, 0, size)


def loss_targets(masks, size, loss_size):
    """K x 1 x loss_size x loss_size targets of K boolean H x W masks padded to size (as the image is): each
    value is the fraction of its area that the mask covers."""
    h, w = masks[0].shape
    target = torch.zeros(len(masks), 1, size, size)
    for i, m in enumerate(masks):
        target[i, 0, :h, :w] = torch.from_numpy(m.astype(np.float32))
    return target if loss_size == size else F.interpolate(target, (loss_size, loss_size), mode="area")


def object_weights(masks, small_area):
    """Each object's share of an image's mask loss: equal when small_area is 0 (SAM's recipe); otherwise an object
    of fewer than small_area pixels weighs sqrt(small_area / area) times as much (at most 4 times), the weights
    normalised to a mean of 1. Why: a boundary pixel costs a small object far more IoU than a large one, while the
    focal term, averaged over the image, gives it little gradient."""
    areas = np.array([max(int(m.sum()), 1) for m in masks], np.float64)
    w = np.ones(len(masks)) if small_area <= 0 else np.clip(np.sqrt(small_area / areas), 1.0, 4.0)
    return torch.from_numpy(w / w.mean()).float()


def object_loss(sam, embedding, dense_pe, masks, rng, use_box, size, loss_size, small_area=0):
    """Loss of the interactive prompting of K objects of one image (masks: K boolean H x W numpy arrays),
    taken on the logits upscaled to loss_size a side (the targets area-averaged to it when it is below size),
    each object's mask loss weighted by object_weights(masks, small_area)."""
    k = len(masks)
    h, w = masks[0].shape
    target = loss_targets(masks, size, loss_size)
    weights = object_weights(masks, small_area)
    coords = np.zeros((k, 0, 2), np.float32)
    labels = np.zeros((k, 0), np.int64)
    boxes = torch.from_numpy(np.stack([noisy_box(rng, m, size) for m in masks])) if use_box else None
    if not use_box:
        coords = np.array([[sample_pixel(rng, m)] for m in masks], np.float32)
        labels = np.ones((k, 1), np.int64)
    mask_input = None
    total, stats = 0.0, {}
    for step in range(1 + CORRECTION_POINTS):
        multimask = not use_box and coords.shape[1] == 1
        points = (torch.from_numpy(coords), torch.from_numpy(labels)) if coords.shape[1] else None
        sparse, dense = sam.prompt_encoder(points=points, boxes=boxes, masks=mask_input)
        low_res, iou_pred = sam.mask_decoder(image_embeddings=embedding, image_pe=dense_pe,
                                             sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                             multimask_output=multimask)
        low_res, iou_pred = low_res.float(), iou_pred.float()  # under --bf16 the losses still see float32
        logits = F.interpolate(low_res, (loss_size, loss_size), mode="bilinear", align_corners=False)
        t = target.expand_as(logits)
        per_mask = FOCAL_WEIGHT * focal_loss(logits, t) + DICE_WEIGHT * dice_loss(logits, t)  # K x outputs
        best = per_mask.argmin(dim=1)
        rows = torch.arange(k)
        true_iou = mask_iou(logits.detach(), t)
        loss = (weights * per_mask[rows, best]).mean() + IOU_WEIGHT * F.mse_loss(iou_pred, true_iou)
        total = total + loss
        stats[f"iou{step}"] = float(true_iou[rows, best].mean())
        chosen = low_res[rows, best].unsqueeze(1).detach()
        mask_input = chosen
        if step == CORRECTION_POINTS:
            break
        pred = F.interpolate(chosen, (size, size), mode="bilinear", align_corners=False)
        pred = (pred[:, 0, :h, :w] > 0).numpy()
        new_points, new_labels = [], []
        for i, m in enumerate(masks):
            missed, spilled = m & ~pred[i], pred[i] & ~m
            p = sample_pixel(rng, missed | spilled)
            if p is None:
                new_points.append(sample_pixel(rng, m)), new_labels.append(1)
            else:
                new_points.append(p), new_labels.append(1 if m[p[1], p[0]] else 0)
        coords = np.concatenate([coords, np.array(new_points, np.float32)[:, None, :]], axis=1)
        labels = np.concatenate([labels, np.array(new_labels, np.int64)[:, None]], axis=1)
    return total / (1 + CORRECTION_POINTS), stats


# Cosine cycles (warm restarts), so that a longer run extends a shorter one instead of replacing it:
# (last step, peak) of each; past the last one a final cycle at FINAL_PEAK runs to `steps`.
CYCLES = [(2000, 8e-4), (5000, 5e-4), (8500, 2.5e-4)]
FINAL_PEAK = 1.5e-4


def cosine_cycle(step, steps, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def learning_rate(step, steps):
    """Linear warm-up and cosine decay within each cycle of CYCLES (the first one with a 200-step warm-up,
    later ones 50); a run that stops inside a cycle ends that cycle's decay at `steps`."""
    start = 0
    for i, (end, peak) in enumerate(CYCLES):
        if step < end or steps <= end:
            return cosine_cycle(step - start, min(steps, end) - start, peak=peak, warmup=200 if i == 0 else 50)
        start = end
    return cosine_cycle(step - start, steps - start, peak=FINAL_PEAK, warmup=50)


def load_weights(path):
    """A safetensors model's state dict as float32 tensors (the fp16 weights widened, as the engine does)."""
    from fixture_io import load_safetensors
    return {name: torch.from_numpy(v.astype(np.float32)) for name, v in load_safetensors(path).items()}


def export(sam, path, steps, init_from=None):
    """Writes the fp16 file; init_from (the --init-from file) is named in its description with that file's own."""
    from fixture_io import safetensors_metadata, save_safetensors
    about = f"SamEngine demo model, tools/demo-model/train.py, {steps} steps on synthetic shapes only"
    if init_from:
        about += f", started from {os.path.basename(init_from)} ({safetensors_metadata(init_from).get('demo_model', '?')})"
    tensors = {name: t.detach().to(torch.float16).numpy() for name, t in sam.state_dict().items()}
    save_safetensors(path + ".tmp", tensors, {"sam_architecture": json.dumps(ARCHITECTURE), "demo_model": about})
    os.replace(path + ".tmp", path)  # a reader never sees a half-written file


def apply_settings(items):
    """Applies --set KEY=VALUE items to ARCHITECTURE (an integer, or comma-separated integers for a list entry
    such as global_attn_indexes=1,3,5); ValueError naming the first that does not fit its entry."""
    for item in items:
        key, _, value = item.partition("=")
        parts = value.split(",")
        if key not in ARCHITECTURE or not all(v.lstrip("-").isdigit() for v in parts) \
                or (isinstance(ARCHITECTURE[key], int) and len(parts) != 1):
            raise ValueError(f"--set {item}: not KEY=INT (or KEY=INT,INT,... for a list) for an entry of ARCHITECTURE "
                             f"({', '.join(ARCHITECTURE)})")
        ARCHITECTURE[key] = [int(v) for v in parts] if isinstance(ARCHITECTURE[key], list) else int(value)


# Linear / 1x1-conv weights whose second dimension reads the encoder's (widened) features: a widened input is
# the source's features twice over, so each copy of the source weights is halved.
INPUT_WIDENED = ("attn.qkv.weight", "attn.proj.weight", "mlp.lin1.weight", "mlp.lin2.weight", "neck.0.weight")


def resample_patches(name, src, target):
    """A source tensor tied to the token grid, carried to a finer or coarser patch size by pixel position (the image
    size staying): the patch kernel resampled with its sum kept (a flat patch embeds as before), the absolute
    position embedding and the relative ones (a table over token offsets) interpolated over the same span of the
    image. Other tensors come back as they are."""
    if name == "image_encoder.patch_embed.proj.weight" and src.shape[-1] != target.shape[-1]:
        k = target.shape[-1]
        kernel = F.interpolate(src, (k, k), mode="bilinear", align_corners=False, antialias=True)
        return kernel + (src.sum((2, 3), keepdim=True) - kernel.sum((2, 3), keepdim=True)) / k ** 2
    if name == "image_encoder.pos_embed" and src.shape[1] != target.shape[1]:
        grid = target.shape[1:3]
        return F.interpolate(src.permute(0, 3, 1, 2), grid, mode="bicubic", align_corners=False).permute(0, 2, 3, 1)
    if ".rel_pos_" in name and src.shape[0] != target.shape[0]:
        return F.interpolate(src.t()[None], target.shape[0], mode="linear", align_corners=True)[0].t()
    return src


def grow(sam, source, noise, generator):
    """Loads a smaller trained SAM of the same family into sam (net2net): tensors of equal shape are copied; an
    encoder twice as wide (same head size, twice the heads and MLP width) gets each source unit twice, with
    inputs from duplicated units halved, which computes the same function; encoder blocks past the source's
    depth start as identities (the outputs of their attention and MLP zero). noise (relative to each grown
    tensor's std) breaks the symmetry of the duplicated units, which would otherwise learn in lockstep. A finer
    patch size is carried over by resample_patches (an approximation: tokens then see less of the image each)."""
    state = sam.state_dict()
    for name, target in state.items():
        src = source.get(name)
        if src is None:
            if name.startswith("image_encoder.blocks.") and (".attn.proj." in name or ".mlp.lin2." in name):
                target.zero_()
            elif not name.startswith("image_encoder.blocks."):
                raise ValueError(f"{name}: missing from the source model")
            continue
        src = resample_patches(name, src, target)
        if src.shape == target.shape:
            target.copy_(src)
            continue
        t = src
        if name.endswith(INPUT_WIDENED) and t.shape[1] * 2 == target.shape[1]:
            t = torch.cat([t, t], dim=1) / 2
        if ".attn.qkv." in name:  # rows are (q, k, v) x channels: widen each third
            t = torch.cat([torch.cat([c, c], dim=0) for c in t.chunk(3, dim=0)], dim=0)
        elif t.shape[0] * 2 == target.shape[0]:
            t = torch.cat([t, t], dim=0)
        elif name == "image_encoder.pos_embed" and t.shape[-1] * 2 == target.shape[-1]:
            t = torch.cat([t, t], dim=-1)
        if t.shape != target.shape:
            raise ValueError(f"{name}: source {tuple(src.shape)} does not grow into {tuple(target.shape)}")
        target.copy_(t + noise * t.std() * torch.randn(t.shape, generator=generator))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sam_src")
    ap.add_argument("out_dir")
    ap.add_argument("--steps", type=int, default=11200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="CPU threads in all (default 2)")
    ap.add_argument("--workers", type=int, default=2,
                    help="processes that split each step's images and sum their gradients (default 2: one a core)")
    ap.add_argument("--pe-scale", type=float, default=1.0,
                    help="std of the prompt encoder's random Fourier frequencies (upstream's PositionEmbeddingRandom scale; 1 as _build_sam leaves it)")
    ap.add_argument("--loss-size", type=int, default=0,
                    help="side at which the mask loss is taken (default: img_size); the logits are upscaled to it, the true masks area-averaged")
    ap.add_argument("--small-object-area", type=int, default=0, metavar="PIXELS",
                    help="weigh the mask loss of objects under PIXELS by sqrt(PIXELS / area), at most 4 (default 0: all equal, SAM's recipe)")
    ap.add_argument("--init-from", metavar="SAFETENSORS",
                    help="start from a trained smaller model (e.g. the shipped one), grown into this architecture (see grow)")
    ap.add_argument("--peak-lr", type=float, default=4e-4,
                    help="with --init-from: the peak of its one cosine cycle over --steps (100 steps of warm-up)")
    ap.add_argument("--bf16", action="store_true",
                    help="run the forward pass under CPU autocast to bfloat16 (weights, optimizer and losses stay float32)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--export-only", action="store_true", help="write sam_demo.safetensors from checkpoint.pt and stop")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="an entry of ARCHITECTURE to change: KEY=INT, or KEY=INT,INT,... for a list")
    args = ap.parse_args()
    try:
        apply_settings(args.set)
    except ValueError as e:
        ap.error(str(e))
    if not 1 <= args.workers <= min(IMAGES_PER_STEP, args.threads):
        ap.error(f"--workers {args.workers}: between 1 and the lesser of {IMAGES_PER_STEP} images a step and --threads {args.threads}")
    if args.workers == 1 or args.export_only:
        train(0, 1, args, None, ARCHITECTURE)
        return
    # Small ops leave a second thread of one process idle much of a step; two single-threaded processes
    # each take half the images (a step at patch size 8: 2.2 s with one process of two threads).
    rendezvous = os.path.join(tempfile.mkdtemp(prefix="demo-train-"), "rendezvous")
    torch.multiprocessing.spawn(train, args=(args.workers, args, rendezvous, dict(ARCHITECTURE), os.getpid()), nprocs=args.workers)


def sum_over_workers(params, loss, stats, workers):
    """Sums the gradients, the loss and the statistics of every worker in place (one all-reduce each); a
    parameter no worker's images reached keeps no gradient, as in a single process. Returns (loss, stats)."""
    if workers == 1:
        return loss, stats
    import torch.distributed as dist
    reached = torch.tensor([float(p.grad is not None) for p in params])
    flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params])
    keys = sorted(stats)
    numbers = torch.tensor([loss] + [stats[k] for k in keys], dtype=torch.float64)
    for t in (reached, flat, numbers):
        dist.all_reduce(t)
    offset = 0
    for p, r in zip(params, reached):
        n = p.numel()
        p.grad = flat[offset:offset + n].view_as(p) if r > 0 else None
        offset += n
    return float(numbers[0]), {k: float(v) for k, v in zip(keys, numbers[1:])}


def check_same_weights(params):
    """Fails unless every worker holds the same weights (they take the same steps from the same start)."""
    import torch.distributed as dist
    total = torch.tensor([float(sum(p.detach().double().sum() for p in params))], dtype=torch.float64)
    low, high = total.clone(), total.clone()
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    if low.item() != high.item():
        raise RuntimeError(f"workers' weights diverged: sums {low.item()!r} to {high.item()!r}")


def end_with_parent(parent):
    """Makes this worker end when the launching process does: a killed run must not leave workers that go on
    writing its checkpoint (PR_SET_PDEATHSIG; the check after it covers a parent that ended first)."""
    import ctypes
    import signal
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def float32_layer_norms(model):
    """torch 1.13's CPU layer_norm takes no bfloat16 input with float32 weights, which autocast hands it where a
    block's output goes straight into a norm (the decoder's first self-attention): those inputs go in as float32."""
    for m in model.modules():
        if isinstance(m, torch.nn.LayerNorm):
            m.register_forward_pre_hook(lambda _, inputs: tuple(x.float() for x in inputs))


def images_loss(sam, images, objects, rngs, size, loss_size, bf16, small_area=0):
    """This worker's share of a step's loss (each image's term over IMAGES_PER_STEP, so the workers' shares sum to
    the step's mean) and its statistics; with bf16 the forward pass runs under CPU autocast to bfloat16. Each
    image's generator picks its prompt kind and then its prompts."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        embeddings = sam.image_encoder(images)
        dense_pe = sam.prompt_encoder.get_dense_pe()
        loss, stats = 0.0, {}
        for b, (masks, rng) in enumerate(zip(objects, rngs)):
            term, st = object_loss(sam, embeddings[b:b + 1], dense_pe, masks, rng, rng.random() < 0.5, size,
                                   loss_size, small_area)
            loss = loss + term / IMAGES_PER_STEP
            for key, v in st.items():
                stats[key] = stats.get(key, 0.0) + v / IMAGES_PER_STEP
    return loss, stats


def train(rank, workers, args, rendezvous, architecture, parent=None):
    """One worker's training loop (the only one when workers is 1): images rank, rank + workers, ... of each step.
    A spawned worker imports this module afresh, hence the architecture passed in."""
    ARCHITECTURE.update(architecture)
    if parent is not None:
        end_with_parent(parent)
    if workers > 1:
        import torch.distributed as dist
        dist.init_process_group("gloo", init_method="file://" + rendezvous, rank=rank, world_size=workers)
    sys.path.insert(0, args.sam_src)
    torch.set_num_threads(max(1, args.threads // workers))
    torch.manual_seed(args.seed)  # every worker starts from the same weights
    os.makedirs(args.out_dir, exist_ok=True)
    sam = build_sam(ARCHITECTURE)
    # The frequencies are a buffer drawn at scale 1; scaling them is building PositionEmbeddingRandom with that
    # scale. Higher ones separate nearby positions (a kernel about 1 / (4 pi scale) of the image wide).
    sam.prompt_encoder.pe_layer.positional_encoding_gaussian_matrix.mul_(args.pe_scale)
    if args.bf16:
        float32_layer_norms(sam)
    opt = torch.optim.AdamW(sam.parameters(), lr=1e-4, weight_decay=0.1)
    size = ARCHITECTURE["img_size"]
    ckpt_path = os.path.join(args.out_dir, "checkpoint.pt")
    start = 0
    if args.resume and os.path.exists(ckpt_path):
        ckpt = torch.load(ckpt_path)
        sam.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        start = ckpt["step"]
    if args.export_only:
        ckpt = torch.load(ckpt_path)
        sam.load_state_dict(ckpt["model"])
        export(sam, os.path.join(args.out_dir, "sam_demo.safetensors"), ckpt["step"], args.init_from)
        return
    if args.init_from and start == 0:  # a resumed run's checkpoint already holds the grown model
        source = load_weights(args.init_from)
        grow(sam, source, noise=1e-2, generator=torch.Generator().manual_seed(args.seed))
    log = open(os.path.join(args.out_dir, "train-log.jsonl"), "a") if rank == 0 else None
    params = [p for p in sam.parameters() if p.requires_grad]
    t0 = time.time()
    for step in range(start, args.steps):
        for g in opt.param_groups:
            g["lr"] = (cosine_cycle(step, args.steps, args.peak_lr, warmup=100) if args.init_from
                       else learning_rate(step, args.steps))
        # Image i of a step has its own generator (scene, objects, prompt kind, prompts): what it sees depends
        # only on the seed, the step and i, so a resumed run or one split among workers trains on the same data.
        mine = list(range(rank, IMAGES_PER_STEP, workers))
        rngs = {i: np.random.default_rng([args.seed, step, i]) for i in mine}
        images, objects = [], []
        for i in mine:
            rng = rngs[i]
            h, w = scenes.scene_size(rng, size)
            image, instances = scenes.make_scene(rng, h, w)
            pick = rng.permutation(len(instances))[:OBJECTS_PER_IMAGE]
            images.append(sam.preprocess(torch.from_numpy(image.copy()).permute(2, 0, 1).float()))
            objects.append([instances[k]["mask"] for k in pick])
        loss, stats = images_loss(sam, torch.stack(images), objects, [rngs[i] for i in mine], size,
                                  args.loss_size or size, args.bf16, args.small_object_area)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        loss, stats = sum_over_workers(params, float(loss), stats, workers)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        checkpoint = (step + 1) % 100 == 0 or step + 1 == args.steps
        if checkpoint and workers > 1:
            check_same_weights(params)
        if rank != 0:
            continue
        entry = {"step": step + 1, "loss": round(loss, 5), "lr": opt.param_groups[0]["lr"],
                 "seconds": round(time.time() - t0, 1), **{k: round(v, 4) for k, v in stats.items()}}
        log.write(json.dumps(entry) + "\n")
        log.flush()
        if (step + 1) % 20 == 0:
            print(json.dumps(entry), flush=True)
        if checkpoint:
            torch.save({"model": sam.state_dict(), "optimizer": opt.state_dict(), "step": step + 1}, ckpt_path + ".tmp")
            os.replace(ckpt_path + ".tmp", ckpt_path)
    if rank != 0:
        return
    export(sam, os.path.join(args.out_dir, "sam_demo.safetensors"), args.steps, args.init_from)
    print(f"wrote {os.path.join(args.out_dir, 'sam_demo.safetensors')}")


if __name__ == "__main__":
    main()
