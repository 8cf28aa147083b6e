using System.Net;
using System.Net.Http.Headers;
using SamEngine.Server;
using SamEngine.Tests.Cli;

namespace SamEngine.Tests.Server;

/// <summary>Loopback by default, bearer auth on /v1 with an API key, CORS only when asked for.</summary>
public class SafetyTests
{
    private const string Key = "0123456789abcdef-test-key";

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("192.168.1.10")]
    [InlineData("::")]
    public void NonLoopbackBindWithoutApiKeyIsRefused(string host)
    {
        var e = Assert.Throws<ArgumentException>(() => new ServerOptions { Host = host }.Validate());
        Assert.Contains("--api-key", e.Message);
        new ServerOptions { Host = host, ApiKey = Key }.Validate();
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    [InlineData("::1")]
    [InlineData("127.0.0.2")]
    public void LoopbackNeedsNoKey(string host) => new ServerOptions { Host = host }.Validate();

    [Theory]
    [InlineData("example.org", "--host")]
    [InlineData("http://x", "--host")]
    public void HostMustBeAnAddress(string host, string named)
    {
        var e = Assert.Throws<ArgumentException>(() => new ServerOptions { Host = host, ApiKey = Key }.Validate());
        Assert.Contains(named, e.Message);
    }

    [Theory]
    [InlineData("*")]
    [InlineData("https://example.org/path")]
    [InlineData("example.org")]
    [InlineData("ftp://example.org")]
    public void CorsOriginMustBeAnOrigin(string origin) =>
        Assert.Contains("--cors", Assert.Throws<ArgumentException>(() => new ServerOptions { CorsOrigin = origin }.Validate()).Message);

    [Fact]
    public void ShortApiKeyIsRefused() =>
        Assert.Contains("16", Assert.Throws<ArgumentException>(() => new ServerOptions { ApiKey = "short" }.Validate()).Message);

    [Fact]
    public void ServeVerbRefusesANonLoopbackBindBeforeLoadingTheModel()
    {
        var (code, stdout, stderr) = CliRunner.Run("serve", "--model", "does-not-exist.safetensors", "--host", "0.0.0.0");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("samengine: error: serve: --host 0.0.0.0 is not a loopback address", stderr);
        Assert.Single(stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public async Task ApiKeyGuardsEveryV1RouteButNotHealth()
    {
        await using var server = await ApiServer.Start(new ServerOptions { ApiKey = Key });
        var image = File.ReadAllBytes(ApiServer.TinyImagePath);
        using (var anonymous = await server.Client.PostAsync("/v1/images", new ByteArrayContent(image)))
        {
            await Problem.Read(anonymous, 401);
            Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        }
        foreach (var wrong in new[] { "Bearer wrong", $"Bearer {Key}x", $"Basic {Key}", Key })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/images") { Content = new ByteArrayContent(image) };
            request.Headers.TryAddWithoutValidation("Authorization", wrong);
            await Problem.Read(await server.Client.SendAsync(request), 401);
        }
        Assert.Equal(0, server.Service<ImageCache>().Count);
        await Problem.Read(await server.Client.DeleteAsync("/v1/images/x"), 401);

        server.Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        var info = await server.UploadTiny();
        using (var predict = await server.PostJson($"/v1/images/{info.Id}/predict", """{"points": [[1, 1, 1]]}"""))
            Assert.Equal(HttpStatusCode.OK, predict.StatusCode);

        server.Client.DefaultRequestHeaders.Authorization = null;
        using var health = await server.Client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task NoCorsHeadersUnlessAsked()
    {
        await using var server = await ApiServer.Start();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        request.Headers.Add("Origin", "https://elsewhere.example");
        using var response = await server.Client.SendAsync(request);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task CorsAllowsOnlyTheGivenOrigin()
    {
        await using var server = await ApiServer.Start(new ServerOptions { CorsOrigin = "https://tool.example" });
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/images/x/predict");
        preflight.Headers.Add("Origin", "https://tool.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type");
        using (var allowed = await server.Client.SendAsync(preflight))
            Assert.Equal("https://tool.example", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var other = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        other.Headers.Add("Origin", "https://evil.example");
        using var refused = await server.Client.SendAsync(other);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
