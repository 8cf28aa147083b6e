namespace SamEngine.Tests.Browser;

/// <summary>
/// Where the system's chromium is (Debian's package: /usr/bin/chromium; SAMENGINE_CHROMIUM overrides).
/// Playwright drives it through its executable path: no browser is ever downloaded.
/// </summary>
internal static class Chromium
{
    /// <summary>The chromium executable, or null when this machine has none.</summary>
    public static string? Executable
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("SAMENGINE_CHROMIUM");
            if (!string.IsNullOrEmpty(env)) return File.Exists(env) ? env : null;
            return new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);
        }
    }

    /// <summary>True under CI (CI=true), where a missing browser is a failure rather than a skip.</summary>
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// A fact that needs a real browser: skipped with the reason where no chromium exists, except in CI,
/// where it runs and fails.
/// </summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    /// <summary>Skips when chromium is missing outside CI.</summary>
    public BrowserFactAttribute()
    {
        if (Chromium.Executable is null && !Chromium.InCi)
            Skip = "no chromium at /usr/bin/chromium (apt-get install chromium, or set SAMENGINE_CHROMIUM)";
    }
}
