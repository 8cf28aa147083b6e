using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using SamEngine.Server;

namespace SamEngine.Tests.Server;

/// <summary><c>POST /v1/images</c> and <c>DELETE /v1/images/{id}</c>: uploads in both forms and every refusal.</summary>
public class ImageRoutesTests
{
    [Fact]
    public async Task RawUploadEncodesTheImage()
    {
        await using var server = await ApiServer.Start();
        // No Content-Type at all: the format is read from the bytes.
        using var response = await server.Client.PostAsync("/v1/images", new ByteArrayContent(File.ReadAllBytes(ApiServer.TinyImagePath)));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var info = (await response.Content.ReadFromJsonAsync<ImageInfo>(ApiServer.Json))!;
        Assert.Equal((200, 300), (info.Height, info.Width));
        Assert.Matches("^[0-9a-f]{32}$", info.Id);
        Assert.True(info.EncodeMs > 0);
        Assert.Equal($"/v1/images/{info.Id}", response.Headers.Location?.OriginalString);
        Assert.Equal(1, server.Service<ImageCache>().Count);
    }

    [Fact]
    public async Task MultipartUploadTakesTheImageField()
    {
        await using var server = await ApiServer.Start();
        using var form = new MultipartFormDataContent
        {
            { new StringContent("ignored"), "note" },
            { new ByteArrayContent(File.ReadAllBytes(ApiServer.TinyImagePath)), "image", "photo.png" },
        };
        using var response = await server.Client.PostAsync("/v1/images", form);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var info = (await response.Content.ReadFromJsonAsync<ImageInfo>(ApiServer.Json))!;
        Assert.Equal((200, 300), (info.Height, info.Width));
    }

    [Fact]
    public async Task MultipartWithoutTheImageFieldIsA400NamingIt()
    {
        await using var server = await ApiServer.Start();
        using var form = new MultipartFormDataContent { { new ByteArrayContent(File.ReadAllBytes(ApiServer.TinyImagePath)), "file", "photo.png" } };
        var problem = await Problem.Read(await server.Client.PostAsync("/v1/images", form), 400);
        Assert.Equal("image", problem.Field);
    }

    [Fact]
    public async Task EmptyUploadIsA400()
    {
        await using var server = await ApiServer.Start();
        var problem = await Problem.Read(await server.Client.PostAsync("/v1/images", new ByteArrayContent([])), 400);
        Assert.Equal("image", problem.Field);
    }

    [Fact]
    public async Task BytesThatAreNoImageAreA415()
    {
        await using var server = await ApiServer.Start();
        var problem = await Problem.Read(await server.Client.PostAsync("/v1/images", new ByteArrayContent("not an image at all"u8.ToArray())), 415);
        Assert.Contains("not in a supported format", problem.Detail);
    }

    [Fact]
    public async Task TruncatedImageIsA415()
    {
        await using var server = await ApiServer.Start();
        var bytes = File.ReadAllBytes(ApiServer.TinyImagePath);
        var problem = await Problem.Read(await server.Client.PostAsync("/v1/images", new ByteArrayContent(bytes[..(bytes.Length / 2)])), 415);
        Assert.Contains("truncated", problem.Detail);
    }

    [Fact]
    public async Task UploadOverTheByteLimitIsA413()
    {
        await using var server = await ApiServer.Start(new ServerOptions { MaxUploadBytes = 1000 });
        var problem = await Problem.Read(await server.Client.PostAsync("/v1/images", new ByteArrayContent(File.ReadAllBytes(ApiServer.TinyImagePath))), 413);
        Assert.Contains("1000", problem.Detail);
    }

    [Fact]
    public async Task UploadOverTheByteLimitWithoutADeclaredLengthIsA413()
    {
        await using var server = await ApiServer.Start(new ServerOptions { MaxUploadBytes = 1000 });
        var content = new StreamContent(new MemoryStream(File.ReadAllBytes(ApiServer.TinyImagePath)));
        content.Headers.ContentLength = null; // chunked: the limit is enforced while reading
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/images") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        await Problem.Read(await server.Client.SendAsync(request), 413);
    }

    [Fact]
    public async Task DecompressionBombIsRefusedFromItsHeader()
    {
        await using var server = await ApiServer.Start();
        // A 54-byte BMP header claiming 60000 x 60000 pixels and no pixel data: decoding it would need
        // 10 GB; the limit is checked from the header, so the answer is "too large", not "unreadable".
        var bomb = BmpHeader(60000, 60000);
        var problem = await Problem.Read(await server.Client.PostAsync("/v1/images", new ByteArrayContent(bomb)), 413);
        Assert.Contains("over the limit", problem.Detail);
        Assert.Equal(0, server.Service<ImageCache>().Count);
    }

    [Fact]
    public async Task DeleteForgetsTheImage()
    {
        await using var server = await ApiServer.Start();
        var info = await server.UploadTiny();
        using (var deleted = await server.Client.DeleteAsync($"/v1/images/{info.Id}"))
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await Problem.Read(await server.PostJson($"/v1/images/{info.Id}/predict", """{"points": [[10, 10, 1]]}"""), 404);
        await Problem.Read(await server.Client.DeleteAsync($"/v1/images/{info.Id}"), 404);
        Assert.Equal(0, server.Service<ImageCache>().Bytes);
    }

    internal static byte[] BmpHeader(int width, int height)
    {
        var b = new byte[54];
        b[0] = (byte)'B';
        b[1] = (byte)'M';
        BitConverter.GetBytes(54).CopyTo(b, 2); // file size (a lie, as a bomb's would be)
        BitConverter.GetBytes(54).CopyTo(b, 10); // pixel data offset
        BitConverter.GetBytes(40).CopyTo(b, 14); // BITMAPINFOHEADER
        BitConverter.GetBytes(width).CopyTo(b, 18);
        BitConverter.GetBytes(height).CopyTo(b, 22);
        BitConverter.GetBytes((short)1).CopyTo(b, 26); // planes
        BitConverter.GetBytes((short)24).CopyTo(b, 28); // bits per pixel
        return b;
    }
}
