using System.Net;
using System.Net.Http.Json;
using SamEngine.Modeling;
using SamEngine.Server;
using SamEngine.Tests.Checkpoints;

namespace SamEngine.Tests.Server;

/// <summary><c>GET</c> / <c>PUT /v1/images/{id}/embedding</c>: the <c>embed</c> verb's file, out and back in.</summary>
public class EmbeddingRoutesTests
{
    [Fact]
    public async Task DownloadIsTheEmbedFileAndUploadAnswersTheSamePrompts()
    {
        await using var server = await ApiServer.Start();
        var info = await server.UploadTiny();
        using var download = await server.Client.GetAsync($"/v1/images/{info.Id}/embedding");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("application/octet-stream", download.Content.Headers.ContentType?.MediaType);
        byte[] file = await download.Content.ReadAsByteArrayAsync();

        // The file is what `samengine embed` writes for this image.
        string path = Path.Combine(TestFiles.TempDir(), "embedding.safetensors");
        File.WriteAllBytes(path, file);
        using (var predictor = new SamPredictor(server.Model))
        {
            var loaded = EmbeddingFile.Load(path, server.Model, predictor);
            Assert.Equal((200, 300), (loaded.OriginalHeight, loaded.OriginalWidth));
            var image = ApiServer.TinyImage;
            using var encoder = new SamPredictor(server.Model);
            encoder.SetImage(image.Pixels, image.Height, image.Width);
            Assert.Equal(encoder.Embedding!.ImageEmbeddings, loaded.ImageEmbeddings);
        }

        using var put = await server.Client.PutAsync("/v1/images/my-copy_1/embedding", new ByteArrayContent(file));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var copy = (await put.Content.ReadFromJsonAsync<ImageInfo>(ApiServer.Json))!;
        Assert.Equal(("my-copy_1", 200, 300), (copy.Id, copy.Height, copy.Width));

        const string prompt = """{"points": [[81, 76, 1]], "box": [40, 30, 260, 170]}""";
        using var original = await server.PostJson($"/v1/images/{info.Id}/predict", prompt);
        using var fromFile = await server.PostJson("/v1/images/my-copy_1/predict", prompt);
        var a = (await original.Content.ReadFromJsonAsync<PredictResponse>(ApiServer.Json))!;
        var b = (await fromFile.Content.ReadFromJsonAsync<PredictResponse>(ApiServer.Json))!;
        Assert.Equal(a.Scores, b.Scores);
        Assert.Equal(a.Masks.Select(m => m.Counts), b.Masks.Select(m => m.Counts));

        // Known by its embedding only: no pixels for mask generation.
        await Problem.Read(await server.PostJson("/v1/images/my-copy_1/amg", "{}"), 409);
    }

    [Fact]
    public async Task UploadThatIsNoEmbeddingIsA400WithoutTheServersPath()
    {
        await using var server = await ApiServer.Start();
        var problem = await Problem.Read(await server.Client.PutAsync("/v1/images/x/embedding", new ByteArrayContent(File.ReadAllBytes(ApiServer.TinyImagePath))), 400);
        Assert.Contains("'upload'", problem.Detail);
        Assert.DoesNotContain(Path.GetTempPath(), problem.Detail);
        Assert.Empty(Directory.GetFiles(Path.GetTempPath(), "samengine-embedding-*"));
    }

    [Fact]
    public async Task EmbeddingOfAnotherModelIsA400()
    {
        await using var server = await ApiServer.Start();
        // Same architecture, other weights: the fingerprint differs.
        using var other = SamModel.Create(server.Model.Architecture, new SamEngine.Weights.GeneratedWeightSource(7));
        using var predictor = new SamPredictor(other);
        var image = ApiServer.TinyImage;
        predictor.SetImage(image.Pixels, image.Height, image.Width);
        var file = new MemoryStream();
        EmbeddingFile.Save(file, other, predictor.Embedding!);
        var problem = await Problem.Read(await server.Client.PutAsync("/v1/images/x/embedding", new ByteArrayContent(file.ToArray())), 400);
        Assert.Contains("another model", problem.Detail);
    }

    [Fact]
    public async Task IdThatIsNotPlainIsA400()
    {
        await using var server = await ApiServer.Start();
        var problem = await Problem.Read(await server.Client.PutAsync("/v1/images/a.b/embedding", new ByteArrayContent([1, 2, 3])), 400);
        Assert.Equal("id", problem.Field);
    }

    [Fact]
    public async Task UnknownImageIsA404()
    {
        await using var server = await ApiServer.Start();
        await Problem.Read(await server.Client.GetAsync("/v1/images/nothing/embedding"), 404);
    }

    [Fact]
    public async Task UploadOverTheLimitIsA413()
    {
        await using var server = await ApiServer.Start(new ServerOptions { MaxUploadBytes = 100 });
        await Problem.Read(await server.Client.PutAsync("/v1/images/x/embedding", new ByteArrayContent(new byte[101])), 413);
    }
}
