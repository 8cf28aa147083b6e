using System.Net;
using SamEngine.Server;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace SamEngine.Tests.Server;

/// <summary>The embedding cache: bounded in bytes, least recently used forgotten first, evictions counted.</summary>
public class ImageCacheTests
{
    /// <summary>Bytes the cache counts for one tiny image with one kept result.</summary>
    private static async Task<long> TinyEntryBytes()
    {
        await using var server = await ApiServer.Start(new ServerOptions { ResultsPerImage = 1 });
        await server.UploadTiny();
        return server.Service<ImageCache>().Bytes;
    }

    [Fact]
    public async Task LeastRecentlyUsedImageIsEvictedAndCounted()
    {
        long entry = await TinyEntryBytes();
        var options = new ServerOptions { CacheMb = 1, ResultsPerImage = 1 };
        int fits = (int)(options.CacheBytes / entry);
        Assert.InRange(fits, 2, 50);
        await using var server = await ApiServer.Start(options);
        var ids = new List<string>();
        for (int i = 0; i < fits; i++) ids.Add((await server.UploadTiny()).Id);
        var cache = server.Service<ImageCache>();
        Assert.Equal((fits, fits * entry), (cache.Count, cache.Bytes));

        // Use the oldest: the second oldest is now the least recently used.
        using (var touched = await server.PostJson($"/v1/images/{ids[0]}/predict", """{"points": [[5, 5, 1]]}"""))
            Assert.Equal(HttpStatusCode.OK, touched.StatusCode);
        var newest = await server.UploadTiny();

        Assert.Equal(fits, cache.Count);
        Assert.True(cache.Bytes <= options.CacheBytes);
        await Problem.Read(await server.PostJson($"/v1/images/{ids[1]}/predict", """{"points": [[5, 5, 1]]}"""), 404);
        foreach (var kept in ids.Where((_, i) => i != 1).Append(newest.Id))
        {
            using var response = await server.PostJson($"/v1/images/{kept}/predict", """{"points": [[5, 5, 1]]}""");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        string metrics = await server.Client.GetStringAsync("/metrics");
        Assert.Matches(@"samengine_cache_evictions_total\{[^}]*\} 1\b", metrics);
    }

    [Fact]
    public async Task ImageLargerThanTheWholeCacheIsA413()
    {
        await using var server = await ApiServer.Start(new ServerOptions { CacheMb = 1 });
        using var big = new Image<Rgb24>(800, 600); // 1.4 MB of pixels alone
        var png = new MemoryStream();
        big.SaveAsPng(png);
        var problem = await Problem.Read(await server.Client.PostAsync("/v1/images", new ByteArrayContent(png.ToArray())), 413);
        Assert.Contains("--cache-mb", problem.Detail);
        Assert.Equal(0, server.Service<ImageCache>().Count);
    }

    [Fact]
    public async Task KeptResultsAreBoundedPerImage()
    {
        await using var server = await ApiServer.Start(new ServerOptions { ResultsPerImage = 2 });
        var info = await server.UploadTiny();
        var results = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            using var response = await server.PostJson($"/v1/images/{info.Id}/predict", $$"""{"points": [[{{10 + i}}, 10, 1]]}""");
            results.Add((await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<PredictResponse>(response.Content, ApiServer.Json))!.ResultId);
        }
        var problem = await Problem.Read(await server.PostJson($"/v1/images/{info.Id}/predict", $$"""{"points": [[5, 5, 1]], "mask_input": "{{results[0]}}"}"""), 400);
        Assert.Equal("mask_input", problem.Field);
        using var recent = await server.PostJson($"/v1/images/{info.Id}/predict", $$"""{"points": [[5, 5, 1]], "mask_input": "{{results[2]}}"}""");
        Assert.Equal(HttpStatusCode.OK, recent.StatusCode);
    }
}
