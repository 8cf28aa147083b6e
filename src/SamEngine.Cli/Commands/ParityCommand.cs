using System.Globalization;
using SamEngine.Parity;

namespace SamEngine.Cli.Commands;

/// <summary><c>samengine parity</c>: runs a fixture and compares with the official outputs.</summary>
public static class ParityCommand
{
    /// <summary>The <c>parity</c> verb.</summary>
    public static Verb Create()
    {
        var verb = new Verb("parity", "run a parity fixture against the official outputs",
            "samengine parity --fixture DIR [--backend NAME] [--precision fp32|fp16|int8] [--out FILE]", """
            Runs the fixture in DIR (cases.json, reference.safetensors, model.safetensors when shipped,
            else generated weights) end to end as the official SamPredictor did, prints for every
            reference tensor the relative L2 error, the largest absolute error and the share of equal
            values, and exits 1 when one is beyond the limits of engine-contracts.md.
            """);
        var fixture = CliOptions.Required("--fixture", "DIR", "fixture folder (e.g. ../shared/fixtures/tiny)");
        var backend = ModelOptions.BackendOption();
        var precision = ModelOptions.PrecisionOption(); // fp16 and int8 are held to the fp16 column of limits
        var outPath = CliOptions.Text("--out", "FILE", "write the engine's outputs as safetensors under the reference names");
        verb.Add(fixture);
        verb.Add(backend);
        verb.Add(precision);
        verb.Add(outPath);
        verb.SetAction(parsed => Run(parsed.GetRequiredValue(fixture), parsed.GetRequiredValue(backend), parsed.GetValue(precision),
            parsed.GetValue(outPath), parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error));
        return verb;
    }

    private static int Run(string dir, string backendName, Precision precision, string? outPath, TextWriter stdout, TextWriter stderr)
    {
        if (!Directory.Exists(dir)) throw new UsageException($"parity: fixture folder '{dir}' does not exist");
        foreach (var f in new[] { "cases.json", "reference.safetensors" })
            if (!File.Exists(Path.Combine(dir, f))) throw new UsageException($"parity: '{dir}' has no {f}");
        ModelOptions.RequireVitForInt8(precision, ModelOptions.Architecture(Path.Combine(dir, "cases.json"), "parity")!, "parity");
        using var backend = BackendFactory.Create(backendName, precision, stderr, checkExplicitGpu: false);
        var runner = new ParityRunner(dir, backend, precision);
        var progress = Console.IsErrorRedirected ? null : new Action<string>(s => stderr.Write($"\r{s,-60}"));
        var results = runner.Run(progress);
        if (progress is not null) stderr.Write($"\r{"",-60}\r");
        if (outPath is not null) runner.WriteOutputs(outPath);

        var ci = CultureInfo.InvariantCulture;
        stdout.WriteLine($"{"tensor",-36} {"metric",-12} {"rel L2",10} {"max abs",10} {"equal",8} {"limit",8}  result");
        foreach (var r in results)
            stdout.WriteLine(string.Format(ci, "{0,-36} {1,-12} {2,10:E2} {3,10:E2} {4,7:P2} {5,8:G3}  {6}{7}",
                r.Name, r.Metric, r.RelL2, r.MaxAbs, r.EqualShare, r.Limit, r.Passed ? "ok" : "FAIL",
                r.Passed || r.Detail.Length == 0 ? "" : "  " + r.Detail));
        int failed = results.Count(r => !r.Passed);
        stdout.WriteLine($"parity {dir}: {results.Count - failed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }
}
