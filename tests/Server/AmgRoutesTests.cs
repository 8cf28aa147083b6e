using System.Net;
using SamEngine.Amg;
using SamEngine.Server;

namespace SamEngine.Tests.Server;

/// <summary><c>POST /v1/images/{id}/amg</c>: the <c>amg</c> verb's records for the options given in snake case.</summary>
public class AmgRoutesTests
{
    // The tiny model's random weights score low: keep every mask so that there is something to compare.
    private const string KeepAll = """{"points_per_side": 4, "pred_iou_thresh": 0, "stability_score_thresh": 0}""";

    [Fact]
    public async Task RecordsAreTheGeneratorsAsTheAmgVerbWritesThem()
    {
        await using var server = await ApiServer.Start();
        var info = await server.UploadTiny();
        using var response = await server.PostJson($"/v1/images/{info.Id}/amg", KeepAll);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        string actual = await response.Content.ReadAsStringAsync();

        var image = ApiServer.TinyImage;
        using var generator = new AutomaticMaskGenerator(server.Model, new AutomaticMaskGeneratorOptions
        {
            PointsPerSide = 4, PredIouThresh = 0, StabilityScoreThresh = 0, OutputMode = AmgOutputMode.CocoRle,
        });
        var records = generator.Generate(image.Pixels, image.Height, image.Width);
        Assert.NotEmpty(records);
        var expected = new MemoryStream();
        MaskRecordJson.Write(expected, records);
        Assert.Equal(System.Text.Encoding.UTF8.GetString(expected.ToArray()), actual);
        Assert.Contains("\"counts\":\"", actual); // coco_rle by default, as the verb's JSON file
    }

    [Fact]
    public async Task EmptyBodyTakesTheDefaults()
    {
        await using var server = await ApiServer.Start();
        var info = await server.UploadTiny();
        using var response = await server.Client.PostAsync($"/v1/images/{info.Id}/amg", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("[", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task OutputModeUncompressedRle()
    {
        await using var server = await ApiServer.Start();
        var info = await server.UploadTiny();
        using var response = await server.PostJson($"/v1/images/{info.Id}/amg",
            """{"points_per_side": 2, "pred_iou_thresh": 0, "stability_score_thresh": 0, "output_mode": "uncompressed_rle"}""");
        string json = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"counts\":[", json);
    }

    [Theory]
    [InlineData("""{"output_mode": "png"}""", "output_mode")]
    [InlineData("""{"points_per_side": "many"}""", "points_per_side")]
    [InlineData("""{"points_per_sid": 4}""", "points_per_sid")]
    public async Task BadOptionIsA400NamingIt(string body, string field)
    {
        await using var server = await ApiServer.Start();
        var info = await server.UploadTiny();
        var problem = await Problem.Read(await server.PostJson($"/v1/images/{info.Id}/amg", body), 400);
        Assert.Equal(field, problem.Field);
    }

    [Fact]
    public async Task InvalidOptionValueIsA400BeforeQueueing()
    {
        await using var server = await ApiServer.Start();
        var info = await server.UploadTiny();
        var problem = await Problem.Read(await server.PostJson($"/v1/images/{info.Id}/amg", """{"points_per_side": 0}"""), 400);
        Assert.Contains("invalid mask generator options", problem.Detail);
        // SAM 2.1 only: refused for the SAM 1 tiny model.
        await Problem.Read(await server.PostJson($"/v1/images/{info.Id}/amg", """{"use_m2m": true}"""), 400);
    }

    [Fact]
    public async Task UnknownImageIsA404()
    {
        await using var server = await ApiServer.Start();
        await Problem.Read(await server.PostJson("/v1/images/nothing/amg", "{}"), 404);
    }
}
