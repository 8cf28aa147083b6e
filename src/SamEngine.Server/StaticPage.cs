using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.StaticFiles;

namespace SamEngine.Server;

/// <summary>
/// The page: every file under <c>wwwroot/</c> is embedded in this assembly at build time (resource name
/// <c>wwwroot/PATH</c>) and served at <c>/PATH</c> with its content type and an ETag; <c>/</c> is
/// <c>index.html</c>. Nothing is read from disk, so the binary is the whole server.
/// </summary>
internal static class StaticPage
{
    private const string Prefix = "wwwroot/";

    /// <summary>The embedded files by URL path (<c>/index.html</c>): bytes, content type, ETag.</summary>
    public static readonly IReadOnlyDictionary<string, (byte[] Bytes, string ContentType, string ETag)> Files = Load();

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext http) => Serve(http, "/index.html")).ExcludeFromDescription();
        // Only the embedded names match; anything else falls through to a 404.
        foreach (var path in Files.Keys)
            app.MapGet(path, (HttpContext http) => Serve(http, path)).ExcludeFromDescription();
    }

    private static IResult Serve(HttpContext http, string path)
    {
        if (!Files.TryGetValue(path, out var file)) return Results.NotFound();
        http.Response.Headers.ETag = file.ETag;
        http.Response.Headers.CacheControl = "no-cache"; // revalidate: a new build serves a new page
        http.Response.Headers.XContentTypeOptions = "nosniff";
        if (http.Request.Headers.IfNoneMatch == file.ETag) return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(file.Bytes, file.ContentType);
    }

    private static Dictionary<string, (byte[], string, string)> Load()
    {
        var assembly = typeof(StaticPage).Assembly;
        var types = new FileExtensionContentTypeProvider();
        types.Mappings[".js"] = "text/javascript; charset=utf-8";
        types.Mappings[".mjs"] = "text/javascript; charset=utf-8";
        types.Mappings[".css"] = "text/css; charset=utf-8";
        types.Mappings[".html"] = "text/html; charset=utf-8";
        types.Mappings[".json"] = "application/json; charset=utf-8";
        types.Mappings[".svg"] = "image/svg+xml";
        var files = new Dictionary<string, (byte[], string, string)>(StringComparer.Ordinal);
        foreach (string name in assembly.GetManifestResourceNames())
        {
            string normalized = name.Replace('\\', '/');
            if (!normalized.StartsWith(Prefix, StringComparison.Ordinal)) continue;
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            byte[] bytes = copy.ToArray();
            string path = "/" + normalized[Prefix.Length..];
            string type = types.TryGetContentType(path, out var t) ? t : "application/octet-stream";
            files[path] = (bytes, type, $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}\"");
        }
        return files;
    }
}
