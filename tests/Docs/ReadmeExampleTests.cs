using SamEngine.Imaging;
using SamEngine.Modeling;
using SamEngine.Checkpoints;
using SamEngine.Config;
using SamEngine.Tests.Checkpoints;

namespace SamEngine.Tests.Docs;

/// <summary>Runs alone: the example uses relative paths, so the test changes the current directory.</summary>
[CollectionDefinition(nameof(CurrentDirectoryCollection), DisableParallelization = true)]
public sealed class CurrentDirectoryCollection;

/// <summary>
/// The README's library example is this file's region between the markers, verbatim: one test
/// checks that the documentation's block equals it, another runs it on the tiny model.
/// </summary>
[Collection(nameof(CurrentDirectoryCollection))]
public class ReadmeExampleTests
{
    // Split so that these declarations are not themselves found as markers.
    private const string Begin = "readme-example-" + "begin", End = "readme-example-" + "end";

    private static void Example()
    {
        // readme-example-begin
        using var model = SamModel.Load("sam_vit_b.safetensors");   // written by `samengine convert`
        using var predictor = new SamPredictor(model);
        predictor.SetImage("photo.jpg");                             // runs the image encoder once
        var prompt = new SamPrompt { Points = [(120f, 80f, 1)], Box = [40, 30, 260, 170] };
        var result = predictor.Predict(prompt, multimask: true);
        int best = result.BestMask();
        Console.WriteLine($"mask {best}: predicted IoU {result.IouPredictions[best]:F3}");
        result.SaveMaskPng(best, "mask.png");
        EmbeddingFile.Save("photo.embedding.safetensors", model, predictor.Embedding!);
        // readme-example-end
    }

    /// <summary>The repository root: the first folder above the test binaries holding SamEngine.sln.</summary>
    internal static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SamEngine.sln"))) return d.FullName;
        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }

    private static string Region(string text)
    {
        var all = text.Split('\n').Select(l => l.TrimEnd('\r', ' ')).ToList();
        int b = all.FindIndex(l => l.Contains(Begin)), e = all.FindIndex(l => l.Contains(End));
        Assert.True(b >= 0 && e > b, "markers not found");
        var lines = all[(b + 1)..e].Where(l => l.Length > 0 && !l.TrimStart().StartsWith("```")).ToList();
        int indent = lines.Min(l => l.Length - l.TrimStart().Length);
        return string.Join("\n", lines.Select(l => l[indent..]));
    }

    [Fact]
    public void DocumentationShowsExactlyThisExample()
    {
        string root = RepoRoot();
        string code = Region(File.ReadAllText(Path.Combine(root, "tests", "Docs", "ReadmeExampleTests.cs")));
        var docs = new[] { "README.md" }.Select(p => Path.Combine(root, p))
            .Where(File.Exists).Where(p => File.ReadAllText(p).Contains(Begin)).ToList();
        Assert.NotEmpty(docs);
        foreach (var doc in docs)
        {
            string block = Region(File.ReadAllText(doc));
            // The documentation adds the two using lines the test file has at its top.
            Assert.Equal("using SamEngine.Imaging;\nusing SamEngine.Modeling;\n" + code, block);
            Assert.True(block.Split('\n').Length <= 15, $"{doc}: the example is longer than 15 lines");
        }
    }

    [Fact]
    public void ExampleRuns()
    {
        string dir = TestFiles.TempDir();
        var arch = SamArchitecture.FromJson(File.ReadAllText(TestFiles.TinyArch));
        CheckpointConverter.Convert(TestFiles.TinyPth, Path.Combine(dir, "sam_vit_b.safetensors"), arch: arch);
        File.Copy(TestFiles.TinyImage, Path.Combine(dir, "photo.jpg")); // a PNG: the loader goes by content
        string previous = Environment.CurrentDirectory;
        var stdout = Console.Out;
        var captured = new StringWriter();
        try
        {
            Environment.CurrentDirectory = dir;
            Console.SetOut(captured);
            Example();
        }
        finally
        {
            Console.SetOut(stdout);
            Environment.CurrentDirectory = previous;
        }
        Assert.StartsWith("mask ", captured.ToString());
        Assert.True(new FileInfo(Path.Combine(dir, "mask.png")).Length > 0);
        Assert.True(File.Exists(Path.Combine(dir, "photo.embedding.safetensors")));
    }
}
