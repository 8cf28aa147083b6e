using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using SamEngine.Imaging;
using SamEngine.Modeling;
using SamEngine.Server;

namespace SamEngine.Tests.Server;

/// <summary>
/// <c>samengine serve</c> in process on the tiny fixture model, on a <see cref="TestServer"/> instead of
/// Kestrel: the application is exactly the one the verb builds (<see cref="ServerHost.Create"/>).
/// </summary>
internal sealed class ApiServer : IAsyncDisposable
{
    private ApiServer(WebApplication app, SamModel model)
    {
        (App, Model) = (app, model);
        Client = app.GetTestClient();
    }

    public WebApplication App { get; }

    public SamModel Model { get; }

    public HttpClient Client { get; }

    public static string TinyImagePath => Path.Combine(TestFixtures.Local("tiny"), "image.png");

    public static RgbImage TinyImage => ImageLoader.Load(TinyImagePath);

    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static async Task<ApiServer> Start(ServerOptions? options = null)
    {
        var model = TestFixtures.LoadModel("tiny");
        var app = ServerHost.Create(options ?? new ServerOptions(), model, builder => builder.WebHost.UseTestServer());
        await app.StartAsync();
        return new ApiServer(app, model);
    }

    public T Service<T>() where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>Uploads the tiny fixture image as the raw body; asserts a 201.</summary>
    public async Task<ImageInfo> UploadTiny()
    {
        using var response = await Client.PostAsync("/v1/images", new ByteArrayContent(File.ReadAllBytes(TinyImagePath)));
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<ImageInfo>(Json))!;
    }

    /// <summary>POSTs <paramref name="body"/> as JSON.</summary>
    public Task<HttpResponseMessage> PostJson(string path, string body) =>
        Client.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
        Model.Dispose();
    }
}

/// <summary>A problem details answer, as the tests read it.</summary>
internal sealed record Problem(string? Type, string? Title, int Status, string? Detail, string? Field)
{
    public static async Task<Problem> Read(HttpResponseMessage response, int expectedStatus)
    {
        Assert.Equal(expectedStatus, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = (await response.Content.ReadFromJsonAsync<Problem>(ApiServer.Json))!;
        Assert.Equal(expectedStatus, problem.Status);
        Assert.False(string.IsNullOrWhiteSpace(problem.Detail), "a problem must say what is wrong");
        Assert.DoesNotContain("\n", problem.Detail);
        Assert.DoesNotContain("   at ", problem.Detail); // never a stack trace
        return problem;
    }
}
