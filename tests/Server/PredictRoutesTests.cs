using System.Net;
using System.Net.Http.Json;
using SamEngine.Amg;
using SamEngine.Modeling;
using SamEngine.Server;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace SamEngine.Tests.Server;

/// <summary><c>POST /v1/images/{id}/predict</c>: the masks are the library's, and every bad prompt is a 400 naming its field.</summary>
public class PredictRoutesTests
{
    /// <summary>The library's answer for the tiny image, as the server should give it.</summary>
    private static SamPrediction Expected(SamModel model, SamPrompt prompt, bool multimask)
    {
        var image = ApiServer.TinyImage;
        using var predictor = new SamPredictor(model);
        predictor.SetImage(image.Pixels, image.Height, image.Width);
        return predictor.Predict(prompt, multimask);
    }

    private static void AssertSameMasks(SamPrediction expected, PredictResponse actual)
    {
        Assert.Equal(expected.MaskCount, actual.Masks.Length);
        Assert.Equal(expected.IouPredictions, actual.Scores);
        int hw = expected.Height * expected.Width;
        for (int m = 0; m < expected.MaskCount; m++)
        {
            Assert.Equal([expected.Height, expected.Width], actual.Masks[m].Size);
            var mask = CocoRle.Decode(expected.Height, expected.Width, actual.Masks[m].Counts).ToMask();
            Assert.Equal(expected.Masks.AsSpan(m * hw, hw).ToArray(), mask);
        }
    }

    [Fact]
    public async Task MultimaskPointGivesTheLibrarysThreeMasksAsCocoRle()
    {
        await using var server = await ApiServer.Start();
        var info = await server.UploadTiny();
        using var response = await server.PostJson($"/v1/images/{info.Id}/predict", """{"points": [[81, 76, 1]], "multimask": true}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<PredictResponse>(ApiServer.Json))!;
        Assert.Null(body.Png);
        Assert.Matches("^[0-9a-f]{32}$", body.ResultId);
        var expected = Expected(server.Model, new SamPrompt { Points = [(81f, 76f, 1)] }, multimask: true);
        Assert.Equal(3, expected.MaskCount);
        AssertSameMasks(expected, body);
    }

    [Fact]
    public async Task BoxAndBackgroundPointWithPngs()
    {
        await using var server = await ApiServer.Start();
        var info = await server.UploadTiny();
        using var response = await server.PostJson($"/v1/images/{info.Id}/predict",
            """{"points": [[174, 160, 1], [100, 150, 0]], "box": [75, 110, 270, 198], "png": true}""");
        var body = (await response.Content.ReadFromJsonAsync<PredictResponse>(ApiServer.Json))!;
        var expected = Expected(server.Model, new SamPrompt { Points = [(174f, 160f, 1), (100f, 150f, 0)], Box = [75, 110, 270, 198] }, multimask: false);
        AssertSameMasks(expected, body);
        Assert.Single(body.Png!);
        using var png = Image.Load<L8>(Convert.FromBase64String(body.Png![0]));
        Assert.Equal((300, 200), (png.Width, png.Height));
        var decoded = CocoRle.Decode(200, 300, body.Masks[0].Counts).ToMask();
        for (int y = 0; y < 200; y += 7)
            for (int x = 0; x < 300; x += 7)
                Assert.Equal(decoded[y * 300 + x] == 1, png[x, y].PackedValue > 127);
    }

    [Fact]
    public async Task MaskInputRefinesWithTheChosenResultsLogits()
    {
        await using var server = await ApiServer.Start();
        var info = await server.UploadTiny();
        using var first = await server.PostJson($"/v1/images/{info.Id}/predict", """{"points": [[81, 76, 1]], "multimask": true}""");
        var firstBody = (await first.Content.ReadFromJsonAsync<PredictResponse>(ApiServer.Json))!;

        var image = ApiServer.TinyImage;
        using var predictor = new SamPredictor(server.Model);
        predictor.SetImage(image.Pixels, image.Height, image.Width);
        var initial = predictor.Predict(new SamPrompt { Points = [(81f, 76f, 1)] }, multimask: true);
        int plane = initial.LowResSize * initial.LowResSize;
        foreach (var (reference, mask) in new[] { (firstBody.ResultId, Array.IndexOf(initial.IouPredictions, initial.IouPredictions.Max())), (firstBody.ResultId + ":1", 1) })
        {
            using var refined = await server.PostJson($"/v1/images/{info.Id}/predict", $$"""{"points": [[81, 76, 1], [200, 60, 1]], "mask_input": "{{reference}}"}""");
            Assert.Equal(HttpStatusCode.OK, refined.StatusCode);
            var expected = predictor.Predict(new SamPrompt
            {
                Points = [(81f, 76f, 1), (200f, 60f, 1)], MaskInput = initial.LowResLogits.AsSpan(mask * plane, plane).ToArray(),
            }, multimask: false);
            AssertSameMasks(expected, (await refined.Content.ReadFromJsonAsync<PredictResponse>(ApiServer.Json))!);
        }
    }

    [Theory]
    [InlineData("""{"points": [[81, 76, 7]]}""", "points[0]")]
    [InlineData("""{"points": [[81, 76]]}""", "points[0]")]
    [InlineData("""{"points": [[1, 1, 1], [81, "x", 1]]}""", "points[1][1]")]
    [InlineData("""{"points": [[5000, 76, 1]]}""", "points")]
    [InlineData("""{"box": [10, 10, 20]}""", "box")]
    [InlineData("""{"box": [100, 100, 10, 10]}""", "box")]
    [InlineData("""{"box": [0, 0, 400, 100]}""", "box")]
    [InlineData("""{"points": [[81, 76, 1]], "mask_input": "0123"}""", "mask_input")]
    [InlineData("""{"points": [[81, 76, 1]], "multimask": "yes"}""", "multimask")]
    [InlineData("""{"points": [[81, 76, 1]], "multi_mask": true}""", "multi_mask")]
    [InlineData("""{}""", "points")]
    [InlineData("""{"points": [[1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1]]}""", "points")]
    public async Task BadPromptIsA400NamingTheField(string body, string field)
    {
        await using var server = await ApiServer.Start();
        var info = await server.UploadTiny();
        var problem = await Problem.Read(await server.PostJson($"/v1/images/{info.Id}/predict", body), 400);
        Assert.Equal(field, problem.Field);
    }

    [Theory]
    [InlineData("{\"points\": [[81, 76, 1]")]
    [InlineData("")]
    [InlineData("null")]
    public async Task BodyThatIsNoJsonObjectIsA400(string body)
    {
        await using var server = await ApiServer.Start();
        var info = await server.UploadTiny();
        await Problem.Read(await server.PostJson($"/v1/images/{info.Id}/predict", body), 400);
    }

    [Fact]
    public async Task FormBodyIsA415()
    {
        await using var server = await ApiServer.Start();
        var info = await server.UploadTiny();
        using var form = new FormUrlEncodedContent([new("points", "1,1,1")]);
        await Problem.Read(await server.Client.PostAsync($"/v1/images/{info.Id}/predict", form), 415);
    }

    [Fact]
    public async Task UnknownImageIsA404()
    {
        await using var server = await ApiServer.Start();
        var problem = await Problem.Read(await server.PostJson("/v1/images/0123456789abcdef0123456789abcdef/predict", """{"points": [[1, 1, 1]]}"""), 404);
        Assert.Contains("0123456789abcdef0123456789abcdef", problem.Detail);
    }
}
