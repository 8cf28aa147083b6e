namespace SamEngine.Tests;

/// <summary>Where the fixtures are: the small ones ship with the tests, the large ones live in ../shared.</summary>
internal static class TestFixtures
{
    /// <summary>A fixture copied next to the test binaries (tiny, odd).</summary>
    public static string Local(string config) => Path.Combine(AppContext.BaseDirectory, "fixtures", config);

    /// <summary>The model of a local fixture (its weights, with the architecture from its cases.json).</summary>
    public static SamEngine.Modeling.SamModel LoadModel(string config, SamEngine.Backends.IBackend? backend = null)
    {
        string dir = Local(config);
        return SamEngine.Modeling.SamModel.Load(Path.Combine(dir, "model.safetensors"),
            SamEngine.Config.SamArchitecture.FromJson(File.ReadAllText(Path.Combine(dir, "cases.json"))), backend);
    }

    /// <summary>
    /// A large fixture in the shared folder beside the project root (vit_b, vit_h), or null when this
    /// checkout has none. SAMENGINE_FIXTURES overrides the location.
    /// </summary>
    public static string? Shared(string config)
    {
        var env = Environment.GetEnvironmentVariable("SAMENGINE_FIXTURES");
        if (!string.IsNullOrEmpty(env)) return Existing(Path.Combine(env, config));
        return RepositoryRoot() is { } root ? Existing(Path.Combine(root, "..", "shared", "fixtures", config)) : null;
    }

    /// <summary>
    /// A full-size fixture that tools/fixtures/sam2/make_all.sh writes to <c>fixtures-large/</c> under the
    /// repository root (sam2.1_hiera_t, sam2.1_hiera_b+; not committed), or null when this checkout has none.
    /// </summary>
    public static string? Large(string config) =>
        RepositoryRoot() is { } root ? Existing(Path.Combine(root, "fixtures-large", config)) : null;

    /// <summary>The folder holding SamEngine.sln above the test binaries, or null.</summary>
    public static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SamEngine.sln"))) return dir.FullName;
        }
        return null;
    }

    /// <summary>A file or folder of the checkout the tests were built from (samples/, weights/), by its path from the repository root.</summary>
    public static string InRepository(string relative) =>
        RepositoryRoot() is { } root ? Path.Combine(root, relative) : throw new DirectoryNotFoundException("no SamEngine.sln above the test binaries");

    private static string? Existing(string dir) => File.Exists(Path.Combine(dir, "reference.safetensors")) ? Path.GetFullPath(dir) : null;
}

/// <summary>A fact that runs only when a shared (large) fixture is present, and says so when skipped.</summary>
public sealed class SharedFixtureFactAttribute : FactAttribute
{
    /// <summary>Skips unless ../shared/fixtures/<paramref name="config"/> exists.</summary>
    public SharedFixtureFactAttribute(string config)
    {
        if (TestFixtures.Shared(config) is null)
            Skip = $"fixture '{config}' not found in ../shared/fixtures (or SAMENGINE_FIXTURES)";
    }
}

/// <summary>A fact that runs only when a full-size fixture is in fixtures-large/, and says so when skipped.</summary>
public sealed class LargeFixtureFactAttribute : FactAttribute
{
    /// <summary>Skips unless fixtures-large/<paramref name="config"/> exists under the repository root.</summary>
    public LargeFixtureFactAttribute(string config)
    {
        if (TestFixtures.Large(config) is null)
            Skip = $"fixture '{config}' not found in fixtures-large/ under the repository root (generate it with tools/fixtures/sam2/make_all.sh SAM2_SRC)";
    }
}
