using Microsoft.Playwright;

namespace SamEngine.Tests.Browser;

/// <summary>One headless chromium for a test class, launched from the system executable.</summary>
public sealed class BrowserSession : IAsyncLifetime
{
    private IPlaywright? _playwright;

    /// <summary>The running browser.</summary>
    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // Under CI a missing chromium must fail the tests; elsewhere BrowserFact has skipped them already.
        string? executable = Chromium.Executable;
        if (executable is null && !Chromium.InCi) return;
        if (executable is null) throw new InvalidOperationException("no chromium (SAMENGINE_CHROMIUM, /usr/bin/chromium): .ci/run installs Debian's chromium package");
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            // containers run tests as root, where chromium's sandbox cannot start
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
    }

    /// <summary>A fresh page (its own context, downloads allowed) of the given viewport.</summary>
    public async Task<IPage> NewPageAsync(string baseUrl, int width = 1280, int height = 800)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl,
            ViewportSize = new ViewportSize { Width = width, Height = height },
            AcceptDownloads = true,
        });
        return await context.NewPageAsync();
    }
}

/// <summary>Where the browser tests keep their screenshots: artifacts/browser beside the test binaries.</summary>
internal static class Artifacts
{
    public static string Folder
    {
        get
        {
            var dir = Path.Combine(AppContext.BaseDirectory, "artifacts", "browser");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    /// <summary>Saves a screenshot of the page as <paramref name="name"/>.png and returns its path.</summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name)
    {
        var path = Path.Combine(Folder, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path });
        return path;
    }
}
