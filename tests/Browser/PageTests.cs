using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using SamEngine.Imaging;

namespace SamEngine.Tests.Browser;

/// <summary>A browser and a real server, shared by a test class; nothing starts where the tests skip.</summary>
public abstract class BrowserAndServer(ServerProcess server) : IAsyncLifetime
{
    public BrowserSession Session { get; } = new();
    public ServerProcess Server { get; } = server;

    public async Task InitializeAsync()
    {
        if (Chromium.Executable is null && !Chromium.InCi) return;   // every test skips
        await Session.InitializeAsync();
        await Server.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await Session.DisposeAsync();
        await Server.DisposeAsync();
    }
}

/// <summary>The server on the tiny fixture model.</summary>
public sealed class PageFixture() : BrowserAndServer(new ServerProcess());

/// <summary>
/// The click-to-segment page in Debian's chromium against <c>samengine serve</c> on the tiny fixture:
/// every mask the page draws is compared pixel for pixel with the server's answer to the same prompt,
/// decoded by the engine. Each state's screenshot goes to artifacts/browser beside the test binaries.
/// </summary>
[Collection("browser")]
public sealed class PageTests(PageFixture fixture) : IClassFixture<PageFixture>
{
    private const int Width = 300, Height = 200;   // the tiny fixture's image

    [BrowserFact]
    public async Task HoverDrawsTheMaskUnderTheMouse()
    {
        var driver = await PageDriver.OpenAsync(fixture.Session, fixture.Server, PageDriver.TinyImage);
        await driver.ScreenshotAsync("01-loaded");
        Assert.Equal(0, (await driver.PaintedAsync("overlay-canvas")).Count(p => p));

        var asked = new List<string>();
        driver.Page.Request += (_, r) => { if (r.Url.EndsWith("/predict")) lock (asked) asked.Add(r.PostData ?? ""); };
        await driver.HoverAsync(81, 76);
        var state = await driver.StateAsync();
        Assert.Empty(state.GetProperty("points").EnumerateArray());   // hovering commits nothing
        var request = JsonNode.Parse(asked[^1])!.AsObject();
        AssertNear([81.5, 76.5, 1], request["points"]![0]!.AsArray().Select(v => v!.GetValue<double>()).ToArray());
        Assert.True(request["multimask"]!.GetValue<bool>());   // one point is ambiguous
        var answer = await driver.PredictOverHttpAsync(ImageId(state), request);
        var best = Best(answer);
        PageDriver.AssertShows(await driver.PaintedAsync("overlay-canvas"), PageDriver.Decode(answer.GetProperty("masks")[best]), Width, state, "hover");
        await driver.ScreenshotAsync("02-hover");

        await driver.Page.Mouse.MoveAsync(1, 1);   // off the image: the preview goes
        await driver.Page.WaitForFunctionAsync("() => true");
        Assert.Equal(0, (await driver.PaintedAsync("overlay-canvas")).Count(p => p));
    }

    [BrowserFact]
    public async Task HoverKeepsOneRequestInFlightAndTheLatestPositionWins()
    {
        var driver = await PageDriver.OpenAsync(fixture.Session, fixture.Server, PageDriver.TinyImage);
        int inFlight = 0, most = 0, sent = 0;
        var bodies = new List<string>();
        driver.Page.Request += (_, r) =>
        {
            if (!r.Url.EndsWith("/predict")) return;
            lock (bodies) { most = Math.Max(most, ++inFlight); sent++; bodies.Add(r.PostData ?? ""); }
        };
        void Done(IRequest r) { if (r.Url.EndsWith("/predict")) lock (bodies) inFlight--; }
        driver.Page.RequestFinished += (_, r) => Done(r);
        driver.Page.RequestFailed += (_, r) => Done(r);

        var (x0, y0) = await driver.ScreenAsync(20, 20);
        await driver.Page.Mouse.MoveAsync(x0, y0);
        await driver.HoverAsync(210, 60, steps: 40);   // 40 pointer moves
        await driver.Page.WaitForFunctionAsync("() => new Promise(r => setTimeout(() => r(true), 300))");

        Assert.Equal(1, most);
        Assert.InRange(sent, 1, 41);
        var last = JsonNode.Parse(bodies[^1])!.AsObject();   // the final position was asked last
        AssertNear([210.5, 60.5, 1], last["points"]![0]!.AsArray().Select(v => v!.GetValue<double>()).ToArray());
        var state = await driver.StateAsync();
        var answer = await driver.PredictOverHttpAsync(ImageId(state), last);
        PageDriver.AssertShows(await driver.PaintedAsync("overlay-canvas"), PageDriver.Decode(answer.GetProperty("masks")[Best(answer)]), Width, state, "latest hover");
    }

    [BrowserFact]
    public async Task ClickPickShiftClickRightClickUndoReset()
    {
        var driver = await PageDriver.OpenAsync(fixture.Session, fixture.Server, PageDriver.TinyImage);

        // one click: three candidates with their scores, the best one drawn
        await driver.ClickAsync(81, 76);
        var state = await driver.StateAsync();
        string imageId = ImageId(state);
        AssertPoints(state, [81.5, 76.5, 1]);
        var first = await AssertPageShowsServerAnswer(driver, state, multimask: true, maskInput: null, "click");
        var candidates = driver.Page.Locator("#candidates li");
        Assert.Equal(3, await candidates.CountAsync());
        for (int i = 0; i < 3; i++)
            Assert.Equal(first.GetProperty("scores")[i].GetDouble().ToString("F3"), await candidates.Nth(i).Locator(".score").TextContentAsync());
        Assert.Equal(Best(first), state.GetProperty("selected").GetInt32());
        await driver.ScreenshotAsync("03-click-candidates");

        // pick another candidate: it is drawn, and it refines the next click
        int pick = (Best(first) + 1) % 3;
        await candidates.Nth(pick).ClickAsync();
        Assert.Contains("selected", await candidates.Nth(pick).GetAttributeAsync("class") ?? "");
        state = await driver.StateAsync();
        PageDriver.AssertShows(await driver.PaintedAsync("overlay-canvas"), PageDriver.Decode(first.GetProperty("masks")[pick]), Width, state, "picked candidate");
        await driver.ScreenshotAsync("04-candidate-picked");

        // shift-click: a background point, with the picked candidate as mask input
        await driver.ClickAsync(30, 20, shift: true);
        state = await driver.StateAsync();
        AssertPoints(state, [81.5, 76.5, 1], [30.5, 20.5, 0]);
        var afterShift = await AssertPageShowsServerAnswer(driver, state,
            multimask: false, maskInput: $"{first.GetProperty("result_id").GetString()}:{pick}", "shift-click");
        Assert.Empty(await driver.Page.Locator("#candidates li").AllAsync());   // two points: one mask
        await driver.ScreenshotAsync("05-shift-click");

        // right-click: another background point
        await driver.ClickAsync(150, 150, MouseButton.Right);
        state = await driver.StateAsync();
        AssertPoints(state, [81.5, 76.5, 1], [30.5, 20.5, 0], [150.5, 150.5, 0]);
        await AssertPageShowsServerAnswer(driver, state, multimask: false, maskInput: afterShift.GetProperty("result_id").GetString(), "right-click");
        await driver.ScreenshotAsync("06-right-click");

        // undo: back to the shift-click's points and mask, without asking the server again
        await driver.Page.Keyboard.PressAsync("z");
        state = await driver.StateAsync();
        Assert.Equal(2, state.GetProperty("points").GetArrayLength());
        PageDriver.AssertShows(await driver.PaintedAsync("overlay-canvas"), PageDriver.Decode(afterShift.GetProperty("masks")[0]), Width, state, "undo");
        await driver.ScreenshotAsync("07-undo");

        // reset: nothing left
        await driver.Page.Mouse.MoveAsync(1, 1);
        await driver.Page.Keyboard.PressAsync("r");
        state = await driver.StateAsync();
        Assert.Equal(0, state.GetProperty("points").GetArrayLength());
        Assert.Equal(0, (await driver.PaintedAsync("overlay-canvas")).Count(p => p));
        Assert.Equal(imageId, ImageId(state));
        await driver.ScreenshotAsync("08-reset");
    }

    [BrowserFact]
    public async Task DragDrawsABox()
    {
        var driver = await PageDriver.OpenAsync(fixture.Session, fixture.Server, PageDriver.TinyImage);
        await driver.DragAsync(150, 20, 285, 120);
        var state = await driver.StateAsync();
        Assert.Empty(state.GetProperty("points").EnumerateArray());   // a drag is not a click
        var box = state.GetProperty("box").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        AssertNear([150.5, 20.5, 285.5, 120.5], box);
        var boxAnswer = await AssertPageShowsServerAnswer(driver, state, multimask: false, maskInput: null, "box");
        Assert.Empty(await driver.Page.Locator("#candidates li").AllAsync());
        await driver.ScreenshotAsync("09-box");

        // with a prompt committed, moving the mouse asks nothing and the committed mask stays
        int asked = 0;
        driver.Page.Request += (_, r) => { if (r.Url.EndsWith("/predict")) Interlocked.Increment(ref asked); };
        var (x, y) = await driver.ScreenAsync(40, 170);
        await driver.Page.Mouse.MoveAsync(x, y, new() { Steps = 5 });
        await driver.Page.WaitForFunctionAsync("() => new Promise(r => setTimeout(() => r(true), 300))");
        Assert.Equal(0, asked);
        PageDriver.AssertShows(await driver.PaintedAsync("overlay-canvas"), PageDriver.Decode(boxAnswer.GetProperty("masks")[0]), Width, state, "box after moving");
    }

    [BrowserFact]
    public async Task SegmentEverythingDrawsEveryMaskInItsOwnColour()
    {
        var driver = await PageDriver.OpenAsync(fixture.Session, fixture.Server, PageDriver.TinyImage);
        await driver.Page.Locator("#amg-options summary").ClickAsync();
        // the tiny model's masks are nearly alike: without NMS (threshold above 1) several survive
        const string options = """{"points_per_side": 4, "pred_iou_thresh": 0, "stability_score_thresh": 0.6, "stability_score_offset": 0.05, "box_nms_thresh": 1.01}""";
        foreach (var (name, value) in JsonDocument.Parse(options).RootElement.EnumerateObject().Select(p => (p.Name, p.Value.ToString())))
            await driver.Page.FillAsync("#" + name.Replace('_', '-'), value);
        await driver.Page.ClickAsync("#everything");
        await driver.Page.WaitForFunctionAsync("() => document.getElementById('status').textContent.startsWith('Everything:')", null, new() { Timeout = 60_000 });
        var state = await driver.StateAsync();

        using var http = new HttpClient { BaseAddress = new Uri(fixture.Server.BaseUrl) };
        var response = await http.PostAsync($"v1/images/{ImageId(state)}/amg", new StringContent(options, System.Text.Encoding.UTF8, "application/json"));
        var records = (await response.Content.ReadAsStringAsync()) is var text && response.IsSuccessStatusCode
            ? JsonDocument.Parse(text).RootElement : throw new InvalidOperationException(text);
        if (records.ValueKind == JsonValueKind.Object) records = records.GetProperty("masks");
        int count = records.GetArrayLength();
        Assert.True(count >= 2, $"the tiny model gave {count} masks; the colours check needs two");
        Assert.Equal(count, state.GetProperty("objects").GetArrayLength());
        Assert.Equal($"{count} objects.", await driver.Page.TextContentAsync("#objects-count"));

        var union = new byte[Width * Height];
        foreach (var record in records.EnumerateArray())
        {
            var mask = PageDriver.Decode(record.GetProperty("segmentation"));
            for (int i = 0; i < union.Length; i++) union[i] |= mask[i];
        }
        PageDriver.AssertShows(await driver.PaintedAsync("objects-canvas"), union, Width, state, "everything");
        Assert.True(await driver.DistinctColoursAsync("objects-canvas") >= 2, "the masks are not drawn in their own colours");
        await driver.ScreenshotAsync("10-everything");
    }

    [BrowserFact]
    public async Task ExportsTheMaskAsPngAndAllMasksAsCocoJson()
    {
        var driver = await PageDriver.OpenAsync(fixture.Session, fixture.Server, PageDriver.TinyImage);
        await driver.ClickAsync(210, 60);
        await driver.Page.Keyboard.PressAsync("Enter");   // keep it as an object
        await driver.ClickAsync(81, 76);
        var state = await driver.StateAsync();
        var current = state.GetProperty("answer").GetProperty("masks")[state.GetProperty("selected").GetInt32()];
        await driver.ScreenshotAsync("11-before-export");

        var png = await driver.Page.RunAndWaitForDownloadAsync(() => driver.Page.Keyboard.PressAsync("p"));
        Assert.Equal("image-mask.png", png.SuggestedFilename);
        string pngPath = Path.Combine(Artifacts.Folder, "export-mask.png");
        await png.SaveAsAsync(pngPath);
        var image = ImageLoader.Load(pngPath);
        Assert.Equal((Width, Height), (image.Width, image.Height));
        var expected = PageDriver.Decode(current);
        for (int i = 0; i < expected.Length; i++)
            Assert.True((image.Pixels[i * 3] == 255) == (expected[i] != 0) && image.Pixels[i * 3] is 0 or 255, $"PNG pixel {i} is {image.Pixels[i * 3]}");

        var json = await driver.Page.RunAndWaitForDownloadAsync(() => driver.Page.Keyboard.PressAsync("j"));
        string jsonPath = Path.Combine(Artifacts.Folder, "export-masks.json");
        await json.SaveAsAsync(jsonPath);
        var coco = JsonDocument.Parse(File.ReadAllText(jsonPath)).RootElement;
        Assert.Equal(Width, coco.GetProperty("images")[0].GetProperty("width").GetInt32());
        var annotations = coco.GetProperty("annotations");
        Assert.Equal(2, annotations.GetArrayLength());   // the kept mask and the current one
        var kept = state.GetProperty("objects")[0];
        Assert.Equal(kept.GetProperty("counts").GetString(), annotations[0].GetProperty("segmentation").GetProperty("counts").GetString());
        Assert.Equal(current.GetProperty("counts").GetString(), annotations[1].GetProperty("segmentation").GetProperty("counts").GetString());
        Assert.Equal(expected.Count(v => v != 0), annotations[1].GetProperty("area").GetInt32());
        Assert.Equal(BoxOf(expected), annotations[1].GetProperty("bbox").EnumerateArray().Select(v => v.GetInt32()).ToArray());
    }

    [BrowserFact]
    public async Task DroppedImageIsEncodedAndABadOneIsReported()
    {
        var driver = await PageDriver.OpenAsync(fixture.Session, fixture.Server);
        await Drop(driver, File.ReadAllBytes(PageDriver.TinyImage), "dropped.png");
        await driver.WaitForPhaseAsync("ready");
        var state = await driver.StateAsync();
        Assert.Equal(Width, state.GetProperty("image").GetProperty("width").GetInt32());
        StringAssert(await driver.Page.TextContentAsync("#status"), "dropped.png: 300 x 200, encoded in");

        await Drop(driver, "not an image at all"u8.ToArray(), "broken.png");
        await driver.Page.WaitForFunctionAsync("() => document.getElementById('status').classList.contains('error')");
        StringAssert(await driver.Page.TextContentAsync("#status"), "Could not open broken.png");
        await driver.ScreenshotAsync("12-unreadable-image");
        Assert.Equal(state.GetProperty("image").GetProperty("id").GetString(), ImageId(await driver.StateAsync()));   // the last good image stays
    }

    private static void StringAssert(string? text, string expected) => Assert.Contains(expected, text ?? "");

    private static Task Drop(PageDriver driver, byte[] bytes, string name) => driver.Page.EvaluateAsync(
        """
        ([b64, name]) => {
          const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
          const data = new DataTransfer();
          data.items.add(new File([bytes], name, { type: "image/png" }));
          document.getElementById("stage-wrap").dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
        }
        """, new object[] { Convert.ToBase64String(bytes), name });

    /// <summary>
    /// Asks the server for <paramref name="prompt"/> over HTTP: the page must have asked the same (its
    /// answer's masks equal), and its overlay must show the selected mask pixel for pixel.
    /// </summary>
    private static async Task<JsonElement> AssertPageShowsServerAnswer(PageDriver driver, JsonElement state, bool multimask, string? maskInput, string what)
    {
        var prompt = new JsonObject { ["points"] = JsonNode.Parse(state.GetProperty("points").GetRawText()), ["multimask"] = multimask };
        if (state.GetProperty("box").ValueKind == JsonValueKind.Array) prompt["box"] = JsonNode.Parse(state.GetProperty("box").GetRawText());
        if (maskInput is not null) prompt["mask_input"] = maskInput;
        var answer = await driver.PredictOverHttpAsync(ImageId(state), prompt);
        var pageAnswer = state.GetProperty("answer");
        Assert.Equal(Counts(answer), Counts(pageAnswer));
        var selected = pageAnswer.GetProperty("masks")[state.GetProperty("selected").GetInt32()];
        PageDriver.AssertShows(await driver.PaintedAsync("overlay-canvas"), PageDriver.Decode(selected), Width, state, what);
        return pageAnswer;
    }

    private static string[] Counts(JsonElement answer) =>
        answer.GetProperty("masks").EnumerateArray().Select(m => m.GetProperty("counts").GetString()!).ToArray();

    /// <summary>The page's points, within a quarter pixel of where the mouse was (the CSS scaling rounds).</summary>
    private static void AssertPoints(JsonElement state, params double[][] expected)
    {
        var points = state.GetProperty("points");
        Assert.Equal(expected.Length, points.GetArrayLength());
        for (int i = 0; i < expected.Length; i++)
            AssertNear(expected[i], points[i].EnumerateArray().Select(v => v.GetDouble()).ToArray());
    }

    private static void AssertNear(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 0.25, $"expected [{string.Join(", ", expected)}], got [{string.Join(", ", actual)}]");
    }

    private static string ImageId(JsonElement state) => state.GetProperty("image").GetProperty("id").GetString()!;

    private static int Best(JsonElement answer)
    {
        var scores = answer.GetProperty("scores").EnumerateArray().Select(s => s.GetDouble()).ToList();
        return scores.IndexOf(scores.Max());
    }

    private static int[] BoxOf(byte[] mask)
    {
        int x0 = Width, y0 = Height, x1 = -1, y1 = -1;
        for (int i = 0; i < mask.Length; i++)
        {
            if (mask[i] == 0) continue;
            int x = i % Width, y = i / Width;
            x0 = Math.Min(x0, x); x1 = Math.Max(x1, x); y0 = Math.Min(y0, y); y1 = Math.Max(y1, y);
        }
        return [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
    }
}
