namespace SamEngine.Modeling;

/// <summary>
/// What a model name (<see cref="SamModel.Load"/>'s argument, the CLI's <c>--model</c>) stands for:
/// <c>demo</c>, the small model shipped with SamEngine; <c>generated:&lt;preset&gt;[:&lt;seed&gt;]</c>,
/// seeded random weights; anything else is a checkpoint path.
/// </summary>
public static class ModelSource
{
    /// <summary>
    /// The name of the shipped demo model: SAM's architecture at 320 x 320, trained on synthetic shapes
    /// only (real photos need the official checkpoints). A file that happens to be called <c>demo</c> is
    /// reached as <c>./demo</c>.
    /// </summary>
    public const string Demo = "demo";

    /// <summary>The model used when none is named: <see cref="Demo"/>.</summary>
    public const string Default = Demo;

    /// <summary>
    /// Where the demo model lies: <c>weights/demo/sam_demo.safetensors</c> under the application's folder,
    /// where the build (and <c>dotnet publish</c>) copies it from the repository's <c>weights/demo/</c>.
    /// </summary>
    public static string DemoPath => Path.Combine(AppContext.BaseDirectory, "weights", "demo", "sam_demo.safetensors");

    /// <summary>True for <c>generated:...</c>: random weights whose masks are meaningless.</summary>
    public static bool IsGenerated(string model) => model.StartsWith("generated:", StringComparison.Ordinal);

    /// <summary>The file <paramref name="model"/> names (<see cref="DemoPath"/> for <c>demo</c>); null for generated weights.</summary>
    public static string? FilePath(string model) =>
        IsGenerated(model) ? null : model == Demo ? DemoPath : model;
}
