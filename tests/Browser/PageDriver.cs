using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using SamEngine.Amg;

namespace SamEngine.Tests.Browser;

/// <summary>
/// The click-to-segment page in chromium, driven as a person would (file input, drop, mouse, keys), with
/// what a test needs to look at: the page's prompt state, the canvases' pixels, and the server's answer
/// to the same prompt asked over HTTP.
/// </summary>
internal sealed class PageDriver(IPage page, string baseUrl)
{
    public IPage Page => page;

    /// <summary>The tiny fixture's image (300 x 200).</summary>
    public static string TinyImage => Path.Combine(TestFixtures.Local("tiny"), "image.png");

    public static async Task<PageDriver> OpenAsync(BrowserSession session, ServerProcess server, string? image = null)
    {
        var page = await session.NewPageAsync(server.BaseUrl);
        var driver = new PageDriver(page, server.BaseUrl);
        await page.GotoAsync("/");
        if (image is not null)
        {
            await page.SetInputFilesAsync("#file", image);
            await driver.WaitForPhaseAsync("ready");
        }
        return driver;
    }

    public Task WaitForPhaseAsync(string phase) =>
        page.WaitForFunctionAsync($"() => document.body.dataset.phase === '{phase}'", null, new() { Timeout = 60_000 });

    /// <summary>The page's prompts and last answer (window.samPage.state), as JSON.</summary>
    public async Task<JsonElement> StateAsync() => await page.EvaluateAsync<JsonElement>(
        "() => { const s = window.samPage.state; return { points: s.points, box: s.box, selected: s.selected, " +
        "answer: s.result ? s.result.answer : null, objects: s.objects.map(o => o.rle), image: s.image }; }");

    /// <summary>The screen position of an image pixel's centre (the canvases are scaled by CSS).</summary>
    public async Task<(float X, float Y)> ScreenAsync(double x, double y)
    {
        var box = await page.Locator("#overlay-canvas").BoundingBoxAsync() ?? throw new InvalidOperationException("no canvas");
        var size = await page.EvaluateAsync<int[]>("() => { const c = document.getElementById('overlay-canvas'); return [c.width, c.height]; }");
        return ((float)(box.X + (x + 0.5) * box.Width / size[0]), (float)(box.Y + (y + 0.5) * box.Height / size[1]));
    }

    /// <summary>Moves the mouse over an image pixel and waits until the hover mask for it is drawn.</summary>
    public async Task HoverAsync(double x, double y, int steps = 1)
    {
        await page.EvaluateAsync("() => { window.samPage.timings.previewToMask = null; }");
        var (sx, sy) = await ScreenAsync(x, y);
        await page.Mouse.MoveAsync(sx, sy, new() { Steps = steps });
        await page.WaitForFunctionAsync("() => window.samPage.timings.previewToMask !== null", null, new() { Timeout = 30_000 });
        await page.WaitForFunctionAsync("() => new Promise(r => requestAnimationFrame(() => r(true)))");
    }

    /// <summary>Presses and releases a button where the mouse is, and waits for the answer to be drawn.</summary>
    public async Task ClickHereAsync(MouseButton button = MouseButton.Left, bool shift = false)
    {
        string before = await page.EvaluateAsync<string>("() => document.body.dataset.answered ?? ''");
        if (shift) await page.Keyboard.DownAsync("Shift");
        await page.Mouse.DownAsync(new() { Button = button });
        await page.Mouse.UpAsync(new() { Button = button });
        if (shift) await page.Keyboard.UpAsync("Shift");
        await WaitForAnswerAfterAsync(before);
    }

    /// <summary>Moves to a pixel and clicks there.</summary>
    public async Task ClickAsync(double x, double y, MouseButton button = MouseButton.Left, bool shift = false)
    {
        var (sx, sy) = await ScreenAsync(x, y);
        await page.Mouse.MoveAsync(sx, sy);
        await ClickHereAsync(button, shift);
    }

    /// <summary>Drags a box between two image pixels and waits for its answer.</summary>
    public async Task DragAsync(double x0, double y0, double x1, double y1)
    {
        string before = await page.EvaluateAsync<string>("() => document.body.dataset.answered ?? ''");
        var (ax, ay) = await ScreenAsync(x0, y0);
        var (bx, by) = await ScreenAsync(x1, y1);
        await page.Mouse.MoveAsync(ax, ay);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(bx, by, new() { Steps = 8 });
        await page.Mouse.UpAsync();
        await WaitForAnswerAfterAsync(before);
    }

    private Task WaitForAnswerAfterAsync(string before) => page.WaitForFunctionAsync(
        $"() => (document.body.dataset.answered ?? '') !== '{before}'", null, new() { Timeout = 30_000 });

    /// <summary>Asks the server directly what the page asked: the same prompt must give the same masks.</summary>
    public async Task<JsonElement> PredictOverHttpAsync(string imageId, JsonNode body)
    {
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        var response = await http.PostAsJsonAsync($"v1/images/{imageId}/predict", body);
        Assert.True(response.IsSuccessStatusCode, $"predict over HTTP: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Which pixels of a canvas are painted (alpha above 0), row-major.</summary>
    public async Task<bool[]> PaintedAsync(string canvasId)
    {
        var alpha = await page.EvaluateAsync<string>(
            $"() => {{ const c = document.getElementById('{canvasId}'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; " +
            "let s = ''; for (let i = 3; i < d.length; i += 4) s += d[i] > 0 ? '1' : '0'; return s; }");
        return alpha.Select(c => c == '1').ToArray();
    }

    /// <summary>The distinct colours painted on a canvas (opaque edges included).</summary>
    public Task<int> DistinctColoursAsync(string canvasId) => page.EvaluateAsync<int>(
        $"() => {{ const c = document.getElementById('{canvasId}'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; " +
        "const seen = new Set(); for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]); return seen.size; }");

    /// <summary>A COCO RLE of an answer, decoded by the engine (row-major 0/1).</summary>
    public static byte[] Decode(JsonElement rle)
    {
        var size = rle.GetProperty("size");
        return CocoRle.Decode(size[0].GetInt32(), size[1].GetInt32(), rle.GetProperty("counts").GetString()!).ToMask();
    }

    /// <summary>
    /// Asserts the overlay shows exactly <paramref name="mask"/>, pixel for pixel, away from the drawn
    /// prompts (points and box lines cover a few pixels around them).
    /// </summary>
    public static void AssertShows(bool[] painted, byte[] mask, int width, JsonElement state, string what)
    {
        var points = state.GetProperty("points").EnumerateArray().Select(p => (X: p[0].GetDouble(), Y: p[1].GetDouble())).ToList();
        double[]? box = state.GetProperty("box").ValueKind == JsonValueKind.Array
            ? state.GetProperty("box").EnumerateArray().Select(v => v.GetDouble()).ToArray() : null;
        int wrong = 0, compared = 0, set = 0;
        for (int i = 0; i < mask.Length; i++)
        {
            int x = i % width, y = i / width;
            if (points.Any(p => Math.Abs(p.X - x) <= 4 && Math.Abs(p.Y - y) <= 4)) continue;
            if (box is not null && NearBoxEdge(box, x, y)) continue;
            compared++;
            if (mask[i] != 0) set++;
            if (painted[i] != (mask[i] != 0)) wrong++;
        }
        Assert.True(set > 0, $"{what}: the server's mask is empty where compared, so the check would prove nothing");
        Assert.True(wrong == 0, $"{what}: {wrong} of {compared} pixels differ between the canvas and the server's mask");
    }

    private static bool NearBoxEdge(double[] b, int x, int y)
    {
        bool inX = x >= b[0] - 2 && x <= b[2] + 2, inY = y >= b[1] - 2 && y <= b[3] + 2;
        return (inX && (Math.Abs(y - b[1]) <= 2 || Math.Abs(y - b[3]) <= 2)) || (inY && (Math.Abs(x - b[0]) <= 2 || Math.Abs(x - b[2]) <= 2));
    }

    public Task<string> ScreenshotAsync(string name) => Artifacts.ScreenshotAsync(page, name);
}
