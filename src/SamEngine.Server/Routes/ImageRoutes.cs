using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using SamEngine.Imaging;
using SamEngine.Modeling;

namespace SamEngine.Server.Routes;

/// <summary><c>POST /v1/images</c> (upload and encode) and <c>DELETE /v1/images/{id}</c>.</summary>
internal static class ImageRoutes
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/images", Upload)
            .WithName("UploadImage")
            .WithTags("images")
            .WithSummary("Upload an image and encode it")
            .WithDescription("The body is the image file itself (JPEG, PNG, BMP, GIF, WebP or TIFF) or multipart/form-data with the file in the field 'image'. The image is encoded once; later predicts on its id answer from the cached embedding.")
            .FileBody("the image file (its format is read from its bytes, whatever the declared type)", "image",
                "application/octet-stream", "image/jpeg", "image/png", "image/webp", "image/bmp", "image/gif", "image/tiff")
            .Produces<ImageInfo>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .DisableAntiforgery();
        app.MapDelete("/v1/images/{id}", Delete)
            .WithName("DeleteImage")
            .WithTags("images")
            .WithSummary("Forget an image (its embedding, pixels and results)")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> Upload(HttpRequest request, ServerOptions options, SamModel model, EncoderQueue queue, ImageCache cache, ServerMetrics metrics)
    {
        // Refuse before reading megabytes that could not be queued anyway.
        queue.ThrowIfFull("the upload");
        byte[] bytes = await Server.Upload.ReadImage(request, options.MaxUploadBytes);
        if (bytes.Length == 0) throw ApiProblem.BadField("image", "the upload is empty");
        // The size is read from the header and checked against the pixel limit before anything is decoded.
        var image = ImageLoader.Load(new MemoryStream(bytes, writable: false), "upload", options.MaxPixels);
        var (predictor, seconds) = await queue.Run("the upload", () =>
        {
            long start = Stopwatch.GetTimestamp();
            var p = new SamPredictor(model);
            try { p.SetImage(image.Pixels, image.Height, image.Width); }
            catch
            {
                p.Dispose();
                throw;
            }
            return (p, Stopwatch.GetElapsedTime(start).TotalSeconds);
        });
        metrics.EncodeSeconds.Record(seconds);
        var entry = new CachedImage(ServerIds.New(), model, predictor, image, options.ResultsPerImage);
        cache.Add(entry);
        return Results.Created($"/v1/images/{entry.Id}", new ImageInfo(entry.Id, entry.Height, entry.Width, Math.Round(seconds * 1000, 1)));
    }

    private static IResult Delete(string id, ImageCache cache) =>
        cache.Remove(id) ? Results.NoContent() : throw ApiProblem.UnknownImage(id);
}
