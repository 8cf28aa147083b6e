using Microsoft.Playwright;
using Xunit.Abstractions;

namespace SamEngine.Tests.Browser;

/// <summary>A server on generated vit_b weights (the full-size decoder, random weights).</summary>
public sealed class VitBServer() : BrowserAndServer(new ServerProcess("--model", "generated:vit_b"));

/// <summary>
/// The page's click-to-mask and hover-to-mask latency with vit_b on samples/shapes.png (640 x 480): from
/// the pointer event to the mask painted (the request, the decoder, the masks at the original size,
/// COCO RLE both ways, the canvas and the next animation frame). Opt-in (Large): it is a measurement,
/// its figures are in the README; it asserts only that every click and hover drew a mask.
/// </summary>
[Collection("browser")]
[Trait("Category", "Large")]
public sealed class ClickLatencyTests(VitBServer fixture, ITestOutputHelper output) : IClassFixture<VitBServer>
{
    [BrowserFact]
    public async Task VitBClickToMask()
    {
        var driver = await PageDriver.OpenAsync(fixture.Session, fixture.Server, PageFiles.InRepository(Path.Combine("samples", "shapes.png")));
        var random = new Random(3);
        var clicks = new List<double>();
        var hovers = new List<double>();
        var requests = new List<double>();
        for (int i = 0; i < 21; i++)
        {
            double x = 20 + random.NextDouble() * 600, y = 20 + random.NextDouble() * 440;
            await driver.Page.Keyboard.PressAsync("r");   // each click a first click: three masks, the common case
            await driver.HoverAsync(x, y);
            hovers.Add(await driver.Page.EvaluateAsync<double>("() => window.samPage.timings.previewToMask"));
            await driver.ClickHereAsync(MouseButton.Left);
            clicks.Add(await driver.Page.EvaluateAsync<double>("() => window.samPage.timings.clickToMask"));
            requests.Add(await driver.Page.EvaluateAsync<double>("() => window.samPage.timings.clickRequest"));
            Assert.Equal(3, await driver.Page.Locator("#candidates li").CountAsync());
        }
        await driver.ScreenshotAsync("vit_b-click");
        // the first of each is warm-up (JIT of the page's path)
        output.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
        output.WriteLine($"vit_b click to mask: {Summary(clicks.Skip(1))}");
        output.WriteLine($"vit_b hover to mask: {Summary(hovers.Skip(1))}");
        output.WriteLine($"vit_b click's predict request (HTTP round trip): {Summary(requests.Skip(1))}");
    }

    private static string Summary(IEnumerable<double> ms)
    {
        var sorted = ms.OrderBy(v => v).ToArray();
        return $"median {sorted[sorted.Length / 2]:F0} ms, p90 {sorted[(int)Math.Ceiling(0.9 * sorted.Length) - 1]:F0} ms, " +
            $"min {sorted[0]:F0} ms, max {sorted[^1]:F0} ms over {sorted.Length}";
    }
}
