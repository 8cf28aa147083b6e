"""Tests of train.py's helpers that a run's result rests on.

usage: SAM_SRC=/tmp/sam1-src /usr/bin/python3 tools/demo-model/test_train.py   (as a script: train.py re-executes
its interpreter on import to set GLIBC_TUNABLES, which `-m unittest` would not survive)
"""
import os
import sys
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train  # noqa: E402

sys.path.insert(0, os.environ.get("SAM_SRC", "/tmp/sam1-src"))

SMALL = dict(train.ARCHITECTURE, img_size=64, patch_size=8, embed_dim=32, depth=2, num_heads=2,
             global_attn_indexes=[1], window_size=4, prompt_embed_dim=32, decoder_mlp_dim=64, iou_head_hidden_dim=32)
GROWN = dict(SMALL, embed_dim=64, num_heads=4, depth=4, global_attn_indexes=[1, 3])


def model(arch, seed):
    torch.manual_seed(seed)
    return train.build_sam(arch).eval()


def trained(arch, seed):
    """A model whose every tensor is perturbed from its initial value, so that no copied zero or one passes by luck."""
    sam = model(arch, seed)
    with torch.no_grad():
        for p in sam.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    return sam


def image(seed):
    return torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(seed))


class GrowTests(unittest.TestCase):
    def setUp(self):
        self.small = trained(SMALL, 0)
        self.source = {k: v.clone() for k, v in self.small.state_dict().items()}

    def grown(self, noise=0.0):
        grown = model(GROWN, 1)
        train.grow(grown, self.source, noise=noise, generator=torch.Generator().manual_seed(0))
        return grown

    def test_a_wider_deeper_encoder_computes_the_source_function_without_noise(self):
        grown = self.grown()
        with torch.no_grad():
            expected = self.small.image_encoder(image(3))
            actual = grown.image_encoder(image(3))
        self.assertLess(float((actual - expected).norm() / expected.norm()), 1e-5)

    def test_the_decoder_and_prompt_encoder_are_copied(self):
        grown = self.grown()
        for name, value in grown.state_dict().items():
            if not name.startswith("image_encoder."):
                self.assertTrue(torch.equal(value, self.source[name]), name)

    def test_noise_breaks_the_symmetry_of_duplicated_units_and_changes_little(self):
        grown = self.grown(noise=1e-2)
        qkv = grown.state_dict()["image_encoder.blocks.0.attn.qkv.weight"]
        q = qkv[:64]
        self.assertFalse(torch.equal(q[:32], q[32:]))
        with torch.no_grad():
            expected = self.small.image_encoder(image(3))
            actual = grown.image_encoder(image(3))
        self.assertLess(float((actual - expected).norm() / expected.norm()), 0.05)

    def test_new_blocks_start_as_identities(self):
        grown = self.grown()
        block = grown.image_encoder.blocks[3]
        x = torch.randn(1, 8, 8, 64)
        with torch.no_grad():
            self.assertTrue(torch.equal(block(x), x))

    def test_a_shape_that_does_not_grow_is_refused_by_name(self):
        grown = model(dict(GROWN, embed_dim=48, num_heads=3), 1)
        with self.assertRaisesRegex(ValueError, r"^image_encoder\.\S+: source .* does not grow into"):
            train.grow(grown, self.source, noise=0.0, generator=torch.Generator().manual_seed(0))


class FinerPatchTests(unittest.TestCase):
    """Growth into a finer patch size at the same image size (resample_patches)."""

    def setUp(self):
        self.source = {k: v.clone() for k, v in trained(SMALL, 0).state_dict().items()}
        self.finer = model(dict(SMALL, patch_size=4, window_size=8), 1)
        train.grow(self.finer, self.source, noise=0.0, generator=torch.Generator().manual_seed(0))
        self.state = self.finer.state_dict()

    def test_a_flat_image_embeds_as_before(self):
        flat = torch.full((1, 3, 64, 64), 0.7)
        with torch.no_grad():
            before = torch.nn.functional.conv2d(flat, self.source["image_encoder.patch_embed.proj.weight"], stride=8)
            after = torch.nn.functional.conv2d(flat, self.state["image_encoder.patch_embed.proj.weight"], stride=4)
        self.assertEqual(tuple(after.shape[-2:]), (16, 16))
        self.assertLess(float((after[0, :, 0, 0] - before[0, :, 0, 0]).norm() / before[0, :, 0, 0].norm()), 1e-5)

    def test_relative_positions_keep_their_ends_and_centre(self):
        for name in ["image_encoder.blocks.0.attn.rel_pos_h", "image_encoder.blocks.1.attn.rel_pos_w"]:
            src, dst = self.source[name], self.state[name]
            self.assertEqual(dst.shape[0], 2 * src.shape[0] + 1)  # twice the offsets each way
            for i, j in [(0, 0), (-1, -1), (src.shape[0] // 2, dst.shape[0] // 2)]:
                self.assertTrue(torch.allclose(dst[j], src[i], atol=1e-6), f"{name} [{i}] -> [{j}]")

    def test_the_position_embedding_covers_the_finer_grid_with_the_same_values(self):
        src, dst = self.source["image_encoder.pos_embed"], self.state["image_encoder.pos_embed"]
        self.assertEqual(tuple(dst.shape), (1, 16, 16, 32))
        self.assertLess(float((dst.mean((1, 2)) - src.mean((1, 2))).norm() / src.mean((1, 2)).norm()), 0.05)
        self.assertLess(float((dst[0, 1::2, 1::2] - src[0]).abs().mean() / src.abs().mean()), 0.5)

    def test_the_model_runs_and_the_decoder_is_copied(self):
        with torch.no_grad():
            self.assertEqual(tuple(self.finer.image_encoder(image(3)).shape), (1, 32, 16, 16))
        for name, value in self.state.items():
            if not name.startswith("image_encoder."):
                self.assertTrue(torch.equal(value, self.source[name]), name)


class ExportTests(unittest.TestCase):
    def test_the_file_holds_every_tensor_in_fp16_and_the_architecture(self):
        import json
        import tempfile
        from fixture_io import load_safetensors, safetensors_metadata
        sam = model(SMALL, 0)
        saved = dict(train.ARCHITECTURE)
        train.ARCHITECTURE.update(SMALL)
        try:
            with tempfile.TemporaryDirectory() as out:
                path = os.path.join(out, "sam_demo.safetensors")
                train.export(sam, path, 7)
                tensors, metadata = load_safetensors(path), safetensors_metadata(path)
                self.assertEqual(os.listdir(out), ["sam_demo.safetensors"])
        finally:
            train.ARCHITECTURE.clear()
            train.ARCHITECTURE.update(saved)
        self.assertEqual(json.loads(metadata["sam_architecture"]), SMALL)
        self.assertIn("7 steps", metadata["demo_model"])
        state = sam.state_dict()
        self.assertEqual(set(tensors), set(state))
        for name, value in state.items():
            self.assertEqual(tensors[name].dtype, np.float16, name)
            self.assertTrue(np.array_equal(tensors[name], value.to(torch.float16).numpy()), name)


class SettingsTests(unittest.TestCase):
    def setUp(self):
        self.saved = dict(train.ARCHITECTURE)

    def tearDown(self):
        train.ARCHITECTURE.clear()
        train.ARCHITECTURE.update(self.saved)

    def test_integers_and_lists(self):
        train.apply_settings(["depth=6", "global_attn_indexes=1,3,5"])
        self.assertEqual(train.ARCHITECTURE["depth"], 6)
        self.assertEqual(train.ARCHITECTURE["global_attn_indexes"], [1, 3, 5])

    def test_a_list_for_an_integer_entry_or_an_unknown_key_is_refused(self):
        for item in ["depth=1,2", "depth=x", "no_such=1", "global_attn_indexes=1,a"]:
            with self.assertRaisesRegex(ValueError, item.split("=")[0]):
                train.apply_settings([item])


class LossTargetTests(unittest.TestCase):
    def test_targets_at_a_smaller_loss_size_keep_each_mask_area_and_place(self):
        masks = [np.zeros((60, 64), bool), np.zeros((60, 64), bool)]
        masks[0][10:41, 21:50] = True
        masks[1][59, 0] = True  # one pixel at the padded edge
        full = train.loss_targets(masks, 64, 64)
        half = train.loss_targets(masks, 64, 16)
        self.assertEqual(tuple(half.shape), (2, 1, 16, 16))
        self.assertTrue(torch.equal(full[:, 0, :60], torch.from_numpy(np.stack(masks).astype(np.float32))))
        self.assertEqual(float(full[:, :, 60:].abs().sum()), 0.0)
        for i, m in enumerate(masks):
            self.assertAlmostEqual(float(half[i].sum()) * 16, float(m.sum()), places=3)
        self.assertAlmostEqual(float(half[1, 0, 14, 0]), 1 / 16)
        self.assertEqual(float(half[0, 0, 5, 8]), 1.0)  # inside the box: covered whole
        self.assertEqual(float(half[0, 0, 0, 0]), 0.0)


class ObjectWeightTests(unittest.TestCase):
    @staticmethod
    def squares(*sides):
        masks = [np.zeros((100, 100), bool) for _ in sides]
        for m, side in zip(masks, sides):
            m[:side, :side] = True
        return masks

    def test_without_a_small_object_area_every_object_weighs_the_same(self):
        self.assertTrue(torch.equal(train.object_weights(self.squares(2, 8, 64), 0), torch.ones(3)))

    def test_small_objects_weigh_more_by_the_root_of_their_area_at_most_four_times_mean_one(self):
        w = train.object_weights(self.squares(1, 8, 16, 32, 64), 1024)  # areas 1, 64, 256, 1024, 4096
        self.assertAlmostEqual(float(w.mean()), 1.0, places=6)
        ratios = (w / w[-1]).tolist()
        for got, expected in zip(ratios, [4.0, 4.0, 2.0, 1.0, 1.0]):
            self.assertAlmostEqual(got, expected, places=5)

    def test_object_loss_applies_the_weights(self):
        sam = trained(SMALL, 2)

        def loss(masks, small_area):
            with torch.no_grad():
                embedding = sam.image_encoder(image(5))
                total, _ = train.object_loss(sam, embedding, sam.prompt_encoder.get_dense_pe(), masks,
                                             np.random.default_rng(1), True, 64, 32, small_area)
            return float(total)

        large = [m[:64, :64] for m in self.squares(40, 48)]  # both over 1024 pixels: weights stay equal
        self.assertEqual(loss(large, 1024), loss(large, 0))
        mixed = [m[:64, :64] for m in self.squares(6, 48)]
        self.assertNotAlmostEqual(loss(mixed, 1024), loss(mixed, 0), places=4)


class Bfloat16Tests(unittest.TestCase):
    PROMPTS = range(8)  # generators for train.images_loss: their first draws pick both kinds (random() < 0.5: a box)

    def loss(self, sam, bf16, prompt_seed):
        masks = [np.zeros((64, 64), bool), np.zeros((64, 64), bool)]
        masks[0][10:41, 21:50] = True
        masks[1][40:60, 5:20] = True
        loss, _ = train.images_loss(sam, image(5), [masks], [np.random.default_rng(prompt_seed)], 64, 32, bf16)
        return loss

    def test_a_step_under_autocast_follows_the_float32_one_with_float32_losses_and_gradients(self):
        self.assertEqual({np.random.default_rng(s).random() < 0.5 for s in self.PROMPTS}, {False, True})
        sam = trained(SMALL, 2).train()
        train.float32_layer_norms(sam)
        deviations = []
        for seed in self.PROMPTS:
            expected = self.loss(sam, False, seed)
            actual = self.loss(sam, True, seed)
            self.assertEqual(actual.dtype, torch.float32)
            deviations.append(abs(float(actual) - float(expected)) / float(expected))
            sam.zero_grad()
            actual.backward()
            grads = [p.grad for p in sam.parameters() if p.grad is not None]
            self.assertGreater(len(grads), 0)
            self.assertTrue(all(g.dtype == torch.float32 and bool(torch.isfinite(g).all()) for g in grads))
        # bfloat16 keeps 8 significant bits, so one prompt's loss can move by a few parts in a thousand; the mean
        # over prompts is the steady measure (a loss taken in bfloat16, or a shim that changes the model, moves it
        # by far more).
        self.assertLess(sum(deviations) / len(deviations), 5e-3)

    def test_without_the_float32_norms_autocast_fails_in_the_decoder(self):
        with self.assertRaises(RuntimeError):
            self.loss(trained(SMALL, 2), True, False)


class WorstCasesTests(unittest.TestCase):
    def test_the_box_mask_is_drawn_green_where_right_red_where_missed_blue_where_spilled(self):
        import tempfile
        import evaluate
        from PIL import Image
        image = np.full((20, 20, 3), 100, np.uint8)
        truth, mask = np.zeros((20, 20), bool), np.zeros((20, 20), bool)
        truth[5:15, 5:10] = True
        mask[5:15, 8:15] = True
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "worst.png")
            # Tile 10 and no margin: the 10 x 10 crop of the box is drawn at its own size, scene then overlay.
            evaluate.draw_worst([(0.25, 50, image, truth, mask, (5, 5, 14, 14))], path, tile=10, margin=0)
            sheet = np.asarray(Image.open(path).convert("RGB")).astype(int)
        self.assertEqual(sheet.shape, (10, 40, 3))
        self.assertEqual(list(sheet[2, 2]), [100, 100, 100])        # the scene as it is
        self.assertEqual(list(sheet[2, 10 + 1]), [255, 0, 0])       # truth only: missed
        self.assertEqual(list(sheet[2, 10 + 4]), [50, 178, 50])     # both: the scene darkened, greened
        self.assertEqual(list(sheet[2, 10 + 7]), [0, 0, 255])       # mask only: spilled over


class EvaluateArgumentTests(unittest.TestCase):
    """evaluate.py refuses a bad --worst before it spends its minutes on the held-out set."""

    def parse(self, *extra):
        import contextlib
        import io
        import evaluate
        with contextlib.redirect_stderr(io.StringIO()) as err:
            try:
                return evaluate.parse_args(["src", "repo", "ckpt.pt", *extra]), ""
            except SystemExit as e:
                self.assertEqual(e.code, 2)
                return None, err.getvalue()

    def test_worst_takes_a_count_and_a_png(self):
        args, _ = self.parse("--worst", "16", "w.png", "--min-area", "1024")
        self.assertEqual((args.worst, args.min_area), ((16, "w.png"), 1024))
        args, _ = self.parse()
        self.assertEqual((args.worst, args.min_area), (None, 0))

    def test_each_bad_worst_is_named(self):
        for extra, named in [(["--worst", "w.png", "16"], "whole number"), (["--worst", "0", "w.png"], "at least 1"),
                             (["--worst", "4", "w.jpg"], ".png"), (["--min-area", "100"], "give --worst"),
                             (["--worst", "4", "w.png", "--min-area", "-1"], "0 or more")]:
            args, err = self.parse(*extra)
            self.assertIsNone(args, extra)
            self.assertIn(named, err, extra)


if __name__ == "__main__":
    unittest.main()
