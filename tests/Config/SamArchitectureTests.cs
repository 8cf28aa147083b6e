using SamEngine.Config;

namespace SamEngine.Tests.Config;

public sealed class SamArchitectureTests
{
    [Theory]
    [InlineData("vit_b", 768, 12, 12)]
    [InlineData("vit_l", 1024, 24, 16)]
    [InlineData("vit_h", 1280, 32, 16)]
    public void Presets_are_the_official_configurations(string name, int dim, int depth, int heads)
    {
        var a = SamArchitecture.FromPreset(name);
        Assert.Equal((dim, depth, heads, 1024, 14, 256, 64), (a.EmbedDim, a.Depth, a.NumHeads, a.ImgSize, a.WindowSize, a.PromptEmbedDim, a.GridSize));
    }

    [Fact]
    public void Unknown_preset_is_named() =>
        Assert.Contains("'vit_x'", Assert.Throws<ArgumentException>(() => SamArchitecture.FromPreset("vit_x")).Message);

    [Fact]
    public void Whole_cases_json_is_accepted()
    {
        var a = SamArchitecture.FromJson(File.ReadAllText(Path.Combine(TestFixtures.Local("odd"), "cases.json")));
        Assert.Equal((320, 48, 3, 3, 7), (a.ImgSize, a.EmbedDim, a.Depth, a.NumHeads, a.WindowSize));
        Assert.Equal([0, 2], a.GlobalAttnIndexes);
    }

    [Fact]
    public void Json_round_trips() => Assert.Equal(SamArchitecture.VitH, SamArchitecture.FromJson(SamArchitecture.VitH.ToJson()));

    [Theory]
    [InlineData("{\"embed_dim\": 770}", "divisible by num_heads")]
    [InlineData("{\"depth\": \"12\"}", "'depth' must be an integer")]
    [InlineData("{\"bogus\": 1}", "unknown architecture key 'bogus'")]
    [InlineData("{\"global_attn_indexes\": [12]}", "global_attn_indexes")]
    [InlineData("[1]", "must be an object")]
    [InlineData("{", "not valid JSON")]
    public void Bad_json_is_explained(string json, string expected) =>
        Assert.Contains(expected, Assert.Throws<ArgumentException>(() => SamArchitecture.FromJson(json)).Message);

    [Theory]
    [InlineData("{\"depth\": 12.0}", "'depth' must be an integer")]
    [InlineData("{\"depth\": 1e1}", "'depth' must be an integer")]
    [InlineData("{\"depth\": null}", "'depth' must be an integer")]
    [InlineData("{\"depth\": 4294967308}", "'depth' must be an integer")] // 2^32 + 12: no wrap to 12
    [InlineData("{\"global_attn_indexes\": [1, \"2\"]}", "'global_attn_indexes' must be an array of integers")]
    [InlineData("{\"global_attn_indexes\": 3}", "'global_attn_indexes' must be an array of integers")]
    [InlineData("{\"global_attn_indexes\": null}", "global_attn_indexes")]
    [InlineData("{\"grid_size\": 64}", "unknown architecture key 'grid_size'")] // derived, not an input
    [InlineData("{\"architecture\": {\"ImgSize\": 1024}}", "unknown architecture key 'ImgSize'")]
    [InlineData("{\"depth\": 12, \"depth\": 2}", "depth")] // a duplicate could hide a value
    [InlineData("null", "must be an object")]
    public void Only_integers_under_known_keys_are_read(string json, string expected) =>
        Assert.Contains(expected, Assert.Throws<ArgumentException>(() => SamArchitecture.FromJson(json)).Message);

    [Theory]
    [InlineData("img_size", 65536, "img_size 65536 must lie in [1, 4096]")]
    [InlineData("patch_size", 1, "img_size / patch_size = 1024 must be at most 128")]
    [InlineData("embed_dim", 1 << 20, "embed_dim 1048576 must lie in [1, 4096]")]
    [InlineData("depth", 100000, "depth 100000 must lie in [1, 128]")]
    [InlineData("depth", 0, "depth 0 must lie in [1, 128]")]
    [InlineData("num_heads", -12, "num_heads -12 must lie in [1, 128]")]
    [InlineData("window_size", int.MaxValue, "window_size 2147483647 must lie in [1, 128]")]
    [InlineData("prompt_embed_dim", 1 << 24, "prompt_embed_dim 16777216 must lie in [1, 2048]")]
    [InlineData("decoder_depth", 1000, "decoder_depth 1000 must lie in [1, 32]")]
    [InlineData("decoder_heads", 1 << 30, "decoder_heads 1073741824 must lie in [1, 128]")]
    [InlineData("decoder_mlp_dim", 1 << 30, "decoder_mlp_dim 1073741824 must lie in [1, 16384]")]
    [InlineData("mask_in_chans", 1 << 30, "mask_in_chans 1073741824 must lie in [1, 1024]")]
    [InlineData("iou_head_hidden_dim", 1 << 30, "iou_head_hidden_dim 1073741824 must lie in [1, 4096]")]
    [InlineData("num_multimask_outputs", 1 << 30, "num_multimask_outputs 1073741824 must lie in [1, 16]")]
    public void Hostile_sizes_are_refused_naming_the_key(string key, int value, string expected) =>
        Assert.Contains(expected, Assert.Throws<ArgumentException>(() => SamArchitecture.FromJson($"{{\"{key}\": {value}}}")).Message);

    [Fact]
    public void The_official_models_are_well_within_the_limits()
    {
        foreach (var a in new[] { SamArchitecture.VitB, SamArchitecture.VitL, SamArchitecture.VitH })
        {
            Assert.Same(a, a.Validate());
            Assert.True(a.EmbedDim * 3 <= SamArchitecture.Limits.EmbedDim && a.GridSize * 2 <= SamArchitecture.Limits.GridSize && a.Depth * 4 <= SamArchitecture.Limits.Depth);
        }
    }

    [Fact]
    public void ToJson_writes_the_snake_case_keys_in_order_and_no_derived_sizes() =>
        Assert.Equal("""{"img_size":1024,"patch_size":16,"embed_dim":1280,"depth":32,"num_heads":16,"global_attn_indexes":[7,15,23,31],"window_size":14,"prompt_embed_dim":256,"decoder_depth":2,"decoder_heads":8,"decoder_mlp_dim":2048,"mask_in_chans":16,"iou_head_hidden_dim":256,"num_multimask_outputs":3}""",
            SamArchitecture.VitH.ToJson());

    [Fact]
    public void Missing_keys_keep_the_vit_b_values() =>
        Assert.Equal(SamArchitecture.VitB with { Depth = 3, GlobalAttnIndexes = [2] }, SamArchitecture.FromJson("{\"depth\": 3, \"global_attn_indexes\": [2]}"));
}

public sealed class Sam2ArchitectureTests
{
    [Theory]
    [InlineData("sam2.1_hiera_t", 96, 1, 12)]
    [InlineData("sam2.1_hiera_s", 96, 1, 16)]
    [InlineData("sam2.1_hiera_b+", 112, 2, 24)]
    [InlineData("sam2.1_hiera_l", 144, 2, 48)]
    public void Presets_are_the_official_configurations(string name, int dim, int heads, int depth)
    {
        var a = SamArchitecture.FromPreset(name);
        Assert.Equal((ModelFamily.Sam2, dim, heads, depth, 1024, 256, 64, 256), (a.Family, a.Hiera!.EmbedDim, a.Hiera.NumHeads, a.Hiera.Depth, a.ImgSize, a.PromptEmbedDim, a.GridSize, a.LowResSize));
        Assert.Same(a, a.Validate());
        Assert.Equal(a, SamArchitecture.FromJson(a.ToJson()));
    }

    [Fact]
    public void Sam2_json_has_no_vit_keys_and_sam1_json_no_family()
    {
        var json = SamArchitecture.Sam21HieraT.ToJson();
        Assert.Contains("\"family\":\"sam2\"", json);
        Assert.Contains("\"hiera\":{", json);
        Assert.DoesNotContain("embed_dim\":768", json);
        Assert.DoesNotContain("window_size", json);
        Assert.DoesNotContain("family", SamArchitecture.VitB.ToJson());
        Assert.DoesNotContain("hiera", SamArchitecture.VitB.ToJson());
    }

    [Fact]
    public void Hiera_t_blocks_pool_and_window_as_upstream()
    {
        var h = SamArchitecture.Sam21HieraT.Hiera!;
        // stages [1, 2, 7, 2]: blocks 1, 3 and 10 start stages 1-3 and pool; their window lags a stage.
        Assert.Equal([1, 3, 10], Enumerable.Range(0, h.Depth).Where(h.PoolsQueries));
        Assert.Equal([8, 8, 4, 4, 14, 0, 14, 0, 14, 0, 14, 7], Enumerable.Range(0, h.Depth).Select(h.WindowOf));
        Assert.Equal([96, 192, 384, 768], Enumerable.Range(0, 4).Select(h.StageDim));
    }

    [Theory]
    [InlineData("{\"family\": \"sam2\", \"embed_dim\": 96, \"hiera\": {}}", "'embed_dim' is SAM 1's")]
    [InlineData("{\"family\": \"sam2\"}", "needs its trunk under 'hiera'")]
    [InlineData("{\"hiera\": {}}", "needs \"family\": \"sam2\"")]
    [InlineData("{\"family\": \"sam3\", \"hiera\": {}}", "'family' must be \"sam\" or \"sam2\"")]
    [InlineData("{\"family\": 1, \"hiera\": {}}", "'family' must be")]
    [InlineData("{\"family\": \"sam2\", \"hiera\": {\"stages\": [1, 2, 7]}}", "hiera.stages must list 4 stages")]
    [InlineData("{\"family\": \"sam2\", \"hiera\": {\"stages\": [1, \"2\", 7, 2]}}", "'hiera.stages' must be an array of integers")]
    [InlineData("{\"family\": \"sam2\", \"hiera\": {\"bogus\": 1}}", "unknown architecture key 'hiera.bogus'")]
    [InlineData("{\"family\": \"sam2\", \"hiera\": {\"embed_dim\": 1048576}}", "hiera.embed_dim 1048576 must lie in")]
    [InlineData("{\"family\": \"sam2\", \"hiera\": {\"stages\": [1, 2, 1000000, 2]}}", "stages")]
    [InlineData("{\"family\": \"sam2\", \"hiera\": {\"global_att_blocks\": [12]}}", "global_att_blocks must lie in [0, 12)")]
    [InlineData("{\"family\": \"sam2\", \"img_size\": 1000, \"hiera\": {}}", "multiple of 32")]
    [InlineData("{\"family\": \"sam2\", \"hiera\": {\"window_spec\": [7, 4, 14, 7]}}", "multiple of hiera.window_spec[0] 7")]
    [InlineData("{\"family\": \"sam2\", \"hiera\": []}", "'hiera' must be an object")]
    public void Bad_sam2_json_is_explained(string json, string expected) =>
        Assert.Contains(expected, Assert.Throws<ArgumentException>(() => SamArchitecture.FromJson(json)).Message);

    [Fact]
    public void MobileSam_preset_is_build_sam_vit_t()
    {
        var a = SamArchitecture.FromPreset("mobile_sam");
        var t = a.TinyVit!;
        Assert.Equal(ModelFamily.Sam, a.Family);
        Assert.Equal([64, 128, 160, 320], t.EmbedDims);
        Assert.Equal([2, 2, 6, 2], t.Depths);
        Assert.Equal([2, 4, 5, 10], t.NumHeads);
        Assert.Equal([7, 7, 14, 7], t.WindowSizes);
        Assert.Equal((1024, 256, 64, 16), (a.ImgSize, a.PromptEmbedDim, a.GridSize, a.EmbeddingStride));
        // Upstream's merge keeps the grid into a 320-wide stage: stages at 256, 128, 64, 64.
        Assert.Equal([256, 128, 64, 64], Enumerable.Range(0, 4).Select(s => t.StageGrid(s, 1024)));
        Assert.Equal(a, SamArchitecture.FromJson(a.ToJson()));
        Assert.DoesNotContain("\"embed_dim\"", a.ToJson()); // no ViT keys in a MobileSAM architecture
    }

    [Theory]
    [InlineData("{\"tiny_vit\": {\"embed_dims\": [64, 128, 160, 256], \"num_heads\": [2, 4, 5, 8]}}", "stride 32")]
    [InlineData("{\"tiny_vit\": {\"embed_dims\": [64, 320, 160, 320]}}", "stride")]
    [InlineData("{\"tiny_vit\": {\"depths\": [2, 2, 6]}}", "must list 4 stages")]
    [InlineData("{\"tiny_vit\": {\"num_heads\": [2, 4, 7, 10]}}", "divisible by num_heads[2]")]
    [InlineData("{\"tiny_vit\": {\"window_sizes\": [7, 7, 0, 7]}}", "tiny_vit.window_sizes[] 0")]
    [InlineData("{\"tiny_vit\": {\"bogus\": 1}}", "unknown architecture key 'tiny_vit.bogus'")]
    [InlineData("{\"tiny_vit\": {\"depths\": \"2\"}}", "'tiny_vit.depths' must be an array of integers")]
    [InlineData("{\"tiny_vit\": 3}", "'tiny_vit' must be an object")]
    [InlineData("{\"tiny_vit\": {}, \"embed_dim\": 768}", "describes its encoder under 'tiny_vit'")]
    [InlineData("{\"tiny_vit\": {}, \"prompt_embed_dim\": 128}", "prompt_embed_dim 128 must be 256")]
    [InlineData("{\"tiny_vit\": {}, \"img_size\": 1000}", "multiple of 16")]
    [InlineData("{\"tiny_vit\": {\"embed_dims\": [512, 640, 800, 320]}, \"img_size\": 2048}", "stage 0 (512 channels on a 512x512 grid) is too large")]
    public void Bad_tiny_vit_is_explained(string json, string expected) =>
        Assert.Contains(expected, Assert.Throws<ArgumentException>(() => SamArchitecture.FromJson(json)).Message);
}
