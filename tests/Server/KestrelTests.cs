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

/// <summary>The <c>serve</c> verb's own failures: one line, non-zero exit.</summary>
public class ServeCommandTests
{
    [Fact]
    public void PortInUseIsOneLineAndExit1()
    {
        var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            int port = ((IPEndPoint)taken.LocalEndpoint).Port;
            string dir = TestFixtures.Local("tiny");
            var (code, stdout, stderr) = SamEngine.Tests.Cli.CliRunner.Run("serve", "--model", Path.Combine(dir, "model.safetensors"),
                "--arch", Path.Combine(dir, "cases.json"), "--backend", "cpu", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(1, code);
            Assert.Equal("", stdout);
            Assert.StartsWith($"samengine: error: serve: cannot listen on 127.0.0.1:{port}:", stderr);
            Assert.Single(stderr.TrimEnd().Split('\n'));
        }
        finally { taken.Stop(); }
    }

    [Fact]
    public void BadCorsOriginIsAUsageError()
    {
        var (code, _, stderr) = SamEngine.Tests.Cli.CliRunner.Run("serve", "--model", "x.safetensors", "--cors", "*");
        Assert.Equal(2, code);
        Assert.StartsWith("samengine: error: serve: --cors '*' is not an origin", stderr);
    }
}
