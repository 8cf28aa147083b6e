using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using SamEngine.Server;

namespace SamEngine.Tests.Server;

/// <summary>The application as <c>samengine serve</c> runs it: Kestrel on a loopback port, real sockets.</summary>
public class KestrelTests
{
    [Fact]
    public async Task ServesOnAFreeLoopbackPort()
    {
        using var model = TestFixtures.LoadModel("tiny");
        await using var app = ServerHost.Create(new ServerOptions { Port = 0, MaxUploadBytes = 1_000_000 }, model);
        await app.StartAsync();
        string url = Assert.Single(ServerHost.Urls(app));
        Assert.Matches(@"^http://127\.0\.0\.1:\d+$", url);
        Assert.DoesNotMatch(":0$", url);
        using var client = new HttpClient { BaseAddress = new Uri(url) };

        var health = (await client.GetFromJsonAsync<Health>("/healthz", ApiServer.Json))!;
        Assert.Equal("ok", health.Status);
        using (var upload = await client.PostAsync("/v1/images", new ByteArrayContent(File.ReadAllBytes(ApiServer.TinyImagePath))))
            Assert.Equal(HttpStatusCode.Created, upload.StatusCode);

        // Past Kestrel's own body limit (the upload limit plus multipart slack), streamed without a length.
        var content = new StreamContent(new MemoryStream(new byte[2_000_000]));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/images") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        await Problem.Read(await client.SendAsync(request), 413);
        await app.StopAsync();
    }
}
