using System.Text.Json.Nodes;
using SamEngine.Config;
using SamEngine.Modeling;

namespace SamEngine.Parity;

/// <summary>One prompt case of a fixture's <c>cases.json</c>.</summary>
public sealed record FixtureCase(string Name, SamPrompt[] Prompts, bool Multimask, bool Batched, string? MaskFrom);

/// <summary>A fixture's <c>cases.json</c>: architecture, weights and prompt cases.</summary>
public sealed record FixtureSpec(SamArchitecture Architecture, ulong Seed, string? ShippedWeights, IReadOnlyList<FixtureCase> Cases)
{
    /// <summary>Reads and validates <c>cases.json</c>.</summary>
    public static FixtureSpec Load(string path)
    {
        var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
            ?? throw new FormatException($"'{path}' is not a JSON object");
        var arch = SamArchitecture.FromJson(root["architecture"]?.ToJsonString() ?? throw new FormatException($"'{path}' has no architecture"));
        var weights = root["weights"] as JsonObject;
        ulong seed = weights?["seed"]?.GetValue<ulong>() ?? 0;
        string? shipped = weights?["shipped"]?.GetValue<string?>();
        var cases = new List<FixtureCase>();
        foreach (var node in root["cases"] as JsonArray ?? [])
        {
            var c = (JsonObject)node!;
            string name = c["name"]!.GetValue<string>();
            bool multimask = c["multimask"]?.GetValue<bool>() ?? false;
            var points = new List<(float, float, int)>();
            if (c["points"] is JsonArray pts)
            {
                var labels = (JsonArray)c["labels"]!;
                for (int i = 0; i < pts.Count; i++)
                    points.Add((pts[i]![0]!.GetValue<float>(), pts[i]![1]!.GetValue<float>(), labels[i]!.GetValue<int>()));
            }
            static float[] Box(JsonNode n) => ((JsonArray)n).Select(v => v!.GetValue<float>()).ToArray();
            if (c["boxes"] is JsonArray boxes)
            {
                cases.Add(new FixtureCase(name, boxes.Select(b => new SamPrompt { Box = Box(b!) }).ToArray(), multimask, true, null));
                continue;
            }
            var prompt = new SamPrompt { Points = points, Box = c["box"] is { } bx ? Box(bx) : null };
            cases.Add(new FixtureCase(name, [prompt], multimask, false, c["mask_from"]?.GetValue<string>()));
        }
        return new FixtureSpec(arch, seed, shipped, cases);
    }
}
