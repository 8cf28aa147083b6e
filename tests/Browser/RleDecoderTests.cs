using System.Text.Json;
using Microsoft.Playwright;
using SamEngine.Amg;

namespace SamEngine.Tests.Browser;

/// <summary>
/// The page's COCO RLE decoder (wwwroot/rle.js), run in chromium against the engine's encoder
/// (<see cref="CocoRle"/>, itself checked against pycocotools' strings in the AMG fixtures).
/// </summary>
[Collection("browser")]
public sealed class RleDecoderTests(BrowserSession session) : IClassFixture<BrowserSession>
{
    private const string Origin = "http://rle.test";

    [BrowserFact]
    public async Task DecodesWhatTheEngineEncodes()
    {
        var page = await OpenRleModuleAsync();
        var random = new Random(17);
        var cases = new List<(int H, int W, byte[] Mask, string Counts)>();
        foreach (var (h, w, density) in new[] { (1, 1, 0.5), (7, 5, 0.5), (40, 64, 0.02), (33, 17, 0.98), (64, 48, 0.5), (3, 400, 0.3) })
        {
            var mask = new byte[h * w];
            // blobs rather than noise, so some runs are long (multi-group values, negative deltas)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    mask[y * w + x] = (byte)(Math.Sin(x * 0.3 + random.NextDouble()) * Math.Cos(y * 0.2) + random.NextDouble() * 0.3 < 2 * density - 1 ? 1 : 0);
            cases.Add((h, w, mask, CocoRle.Encode(RunLengthEncoding.FromMask(mask, h, w))));
        }
        var empty = new byte[12 * 9];
        cases.Add((12, 9, empty, CocoRle.Encode(RunLengthEncoding.FromMask(empty, 12, 9))));
        var full = Enumerable.Repeat((byte)1, 1000 * 3).ToArray();
        cases.Add((1000, 3, full, CocoRle.Encode(RunLengthEncoding.FromMask(full, 1000, 3))));

        foreach (var (h, w, mask, counts) in cases)
        {
            var decoded = await page.EvaluateAsync<JsonElement>(
                "([h, w, counts]) => { const m = window.rle.decodeMask({ size: [h, w], counts }); return { data: Array.from(m.data), area: m.area, box: window.rle.maskBox(m) }; }",
                new object[] { h, w, counts });
            var data = decoded.GetProperty("data").EnumerateArray().Select(v => (byte)v.GetInt32()).ToArray();
            Assert.True(mask.SequenceEqual(data), $"{h} x {w} mask '{counts}' decoded differently");
            Assert.Equal(mask.Count(v => v != 0), decoded.GetProperty("area").GetInt32());
            Assert.Equal(ExpectedBox(mask, h, w), decoded.GetProperty("box").EnumerateArray().Select(v => v.GetInt32()).ToArray());
        }
    }

    [BrowserFact]
    public async Task RefusesMalformedStrings()
    {
        var page = await OpenRleModuleAsync();
        foreach (var (size, counts, message) in new[]
        {
            ("[2, 2]", "\"3\"", "cover 3 pixels"),          // runs short of the 4 pixels
            ("[2, 2]", "\"06\"", "more than 2 x 2"),         // runs past them
            ("[2, 2]", "\"0b\"", "ends inside a run"),       // a continuation bit with nothing after it
            ("[2, 2]", "\"0 \"", "character"),               // below '0'
        })
        {
            var error = await page.EvaluateAsync<string>(
                $"() => {{ try {{ window.rle.decodeMask({{ size: {size}, counts: {counts} }}); return ''; }} catch (e) {{ return e.message; }} }}");
            Assert.Contains(message, error);
        }
    }

    private static int[] ExpectedBox(byte[] mask, int h, int w)
    {
        int x0 = w, y0 = h, x1 = -1, y1 = -1;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (mask[y * w + x] != 0) { x0 = Math.Min(x0, x); x1 = Math.Max(x1, x); y0 = Math.Min(y0, y); y1 = Math.Max(y1, y); }
        return x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
    }

    /// <summary>A blank page that imports rle.js from the source tree (served by Playwright, no server needed).</summary>
    private async Task<IPage> OpenRleModuleAsync()
    {
        var page = await session.NewPageAsync(Origin);
        await page.RouteAsync(Origin + "/**", route =>
        {
            var name = new Uri(route.Request.Url).AbsolutePath.TrimStart('/');
            return name == "rle.js"
                ? route.FulfillAsync(new RouteFulfillOptions { Path = Path.Combine(PageFiles.Folder, name), ContentType = "text/javascript" })
                : route.FulfillAsync(new RouteFulfillOptions { Body = "<!doctype html><title>rle</title>", ContentType = "text/html" });
        });
        await page.GotoAsync(Origin + "/");
        await page.EvaluateAsync("async () => { window.rle = await import('/rle.js'); }");
        return page;
    }
}

/// <summary>Files of the checkout the tests run from: the page's sources, the samples.</summary>
internal static class PageFiles
{
    /// <summary>src/SamEngine.Server/wwwroot.</summary>
    public static string Folder => InRepository(Path.Combine("src", "SamEngine.Server", "wwwroot"));

    /// <summary>A path under the folder holding SamEngine.sln above the test binaries.</summary>
    public static string InRepository(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SamEngine.sln"))) return Path.Combine(dir.FullName, relative);
        }
        throw new DirectoryNotFoundException("no SamEngine.sln above the test binaries");
    }
}
