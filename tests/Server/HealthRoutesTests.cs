using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SamEngine.Server;

namespace SamEngine.Tests.Server;

/// <summary>Health, readiness, the OpenAPI document, Prometheus metrics and the embedded page.</summary>
public class HealthRoutesTests
{
    [Fact]
    public async Task HealthNamesTheModelAndBackend()
    {
        await using var server = await ApiServer.Start();
        var health = (await server.Client.GetFromJsonAsync<Health>("/healthz", ApiServer.Json))!;
        Assert.Equal("ok", health.Status);
        Assert.Equal("cpu", health.Backend);
        Assert.EndsWith("model.safetensors", health.Model);
    }

    [Fact]
    public async Task ReadinessReportsQueueAndCache()
    {
        await using var server = await ApiServer.Start(new ServerOptions { CacheMb = 3 });
        await server.UploadTiny();
        using var response = await server.Client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var ready = (await response.Content.ReadFromJsonAsync<Readiness>(ApiServer.Json))!;
        Assert.Equal(("ready", 0, 1, 3L << 20), (ready.Status, ready.QueueDepth, ready.CachedImages, ready.CacheCapacityBytes));
        Assert.Equal(server.Service<ImageCache>().Bytes, ready.CacheBytes);
    }

    [Fact]
    public async Task OpenApiDocumentDescribesEveryRoute()
    {
        await using var server = await ApiServer.Start();
        using var doc = JsonDocument.Parse(await server.Client.GetStringAsync("/openapi/v1.json"));
        var paths = doc.RootElement.GetProperty("paths");
        string[] routes = ["/v1/images", "/v1/images/{id}", "/v1/images/{id}/predict", "/v1/images/{id}/amg", "/v1/images/{id}/embedding", "/healthz", "/readyz"];
        Assert.Equal(routes.Order(), paths.EnumerateObject().Select(p => p.Name).Order());
        var predict = paths.GetProperty("/v1/images/{id}/predict").GetProperty("post");
        Assert.True(predict.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _));
        foreach (var status in new[] { "200", "400", "404", "415" }) Assert.True(predict.GetProperty("responses").TryGetProperty(status, out _), status);
        var upload = paths.GetProperty("/v1/images").GetProperty("post").GetProperty("requestBody").GetProperty("content");
        Assert.True(upload.TryGetProperty("multipart/form-data", out _));
        Assert.True(upload.TryGetProperty("image/jpeg", out _));
        var request = BodySchema(doc, "/v1/images/{id}/predict").GetProperty("properties");
        Assert.Equal(["box", "mask_input", "multimask", "png", "points"], request.EnumerateObject().Select(p => p.Name).Order());
        var amg = BodySchema(doc, "/v1/images/{id}/amg").GetProperty("properties");
        // Every option of the amg verb, in snake case (AmgParameters declares them).
        var verbOptions = new SamEngine.Cli.Commands.AmgParameters().Options.Select(o => o.Option.Name.TrimStart('-').Replace('-', '_'));
        Assert.Equal(verbOptions.Order(), amg.EnumerateObject().Select(p => p.Name).Order());
    }

    /// <summary>The JSON request body's schema of a POST route, inline or by reference.</summary>
    private static JsonElement BodySchema(JsonDocument doc, string path)
    {
        var schema = doc.RootElement.GetProperty("paths").GetProperty(path).GetProperty("post").GetProperty("requestBody")
            .GetProperty("content").GetProperty("application/json").GetProperty("schema");
        if (!schema.TryGetProperty("$ref", out var reference)) return schema;
        return doc.RootElement.GetProperty("components").GetProperty("schemas").GetProperty(reference.GetString()!.Split('/')[^1]);
    }

    [Fact]
    public async Task MetricsArePrometheusTextWithTheServersInstruments()
    {
        await using var server = await ApiServer.Start();
        var info = await server.UploadTiny();
        (await server.PostJson($"/v1/images/{info.Id}/predict", """{"points": [[1, 1, 1]]}""")).Dispose();
        using var response = await server.Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        string text = await response.Content.ReadAsStringAsync();
        foreach (var name in new[]
                 {
                     "samengine_encode_duration_seconds_bucket", "samengine_decode_duration_seconds_count", "samengine_cache_bytes",
                     "samengine_cache_images", "samengine_encoder_queue_depth", "http_server_request_duration_seconds_bucket",
                 })
            Assert.Contains(name, text);
        Assert.Contains("http_route=\"/v1/images/{id}/predict\"", text);
    }

    [Fact]
    public async Task PageIsServedFromTheAssembly()
    {
        await using var server = await ApiServer.Start();
        using var page = await server.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<html", await page.Content.ReadAsStringAsync());
        // Revalidation by ETag.
        using var again = new HttpRequestMessage(HttpMethod.Get, "/index.html");
        again.Headers.IfNoneMatch.Add(page.Headers.ETag!);
        using var notModified = await server.Client.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        using var missing = await server.Client.GetAsync("/no-such-file.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var traversal = await server.Client.GetAsync("/..%2Fappsettings.json");
        Assert.Equal(HttpStatusCode.NotFound, traversal.StatusCode);
    }
}

/// <summary>Every file embedded from wwwroot/ is served at its path with the content type of its extension.</summary>
public class StaticPageTests
{
    [Fact]
    public async Task EveryEmbeddedFileIsServedWithItsContentType()
    {
        await using var server = await ApiServer.Start();
        Assert.Contains("/index.html", SamEngine.Server.StaticPage.Files.Keys);
        var expected = new Dictionary<string, string>
        {
            [".html"] = "text/html", [".js"] = "text/javascript", [".mjs"] = "text/javascript", [".css"] = "text/css",
            [".png"] = "image/png", [".svg"] = "image/svg+xml", [".json"] = "application/json", [".ico"] = "image/x-icon",
        };
        foreach (var (path, file) in SamEngine.Server.StaticPage.Files)
        {
            using var response = await server.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(file.Bytes, await response.Content.ReadAsByteArrayAsync());
            if (expected.TryGetValue(Path.GetExtension(path), out var type)) Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }
    }
}
