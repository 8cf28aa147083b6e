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
}
