using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SamEngine.Modeling;

namespace SamEngine.Server.Routes;

/// <summary>
/// <c>GET</c> / <c>PUT /v1/images/{id}/embedding</c>: the embedding file of <c>samengine embed</c>
/// (safetensors), so that a client can keep an encoded image and bring it back without the encoder.
/// </summary>
internal static class EmbeddingRoutes
{
    private const string SafeTensors = "application/octet-stream";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/images/{id}/embedding", Download)
            .WithName("DownloadEmbedding")
            .WithTags("embeddings")
            .WithSummary("The image's embedding file (as 'samengine embed' writes it)")
            .Produces<byte[]>(StatusCodes.Status200OK, SafeTensors)
            .ProducesProblem(StatusCodes.Status404NotFound);
        app.MapPut("/v1/images/{id}/embedding", Upload)
            .WithName("UploadEmbedding")
            .WithTags("embeddings")
            .WithSummary("Give an image (new or existing id) an embedding file made by this model")
            .WithDescription("The body is an embedding file of 'samengine embed' or GET .../embedding. It must come from the model being served (its fingerprint is checked). The id is the client's choice: 1 to 64 of A-Z a-z 0-9 _ -. An image known only by its embedding can be prompted but not given to mask generation.")
            .FileBody("an embedding file (safetensors) made by the model being served", null, SafeTensors)
            .Produces<ImageInfo>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);
    }

    private static IResult Download(string id, SamModel model, ImageCache cache)
    {
        var image = cache.GetOr404(id);
        var file = new MemoryStream();
        EmbeddingFile.Save(file, model, image.Embedding);
        return Results.File(file.ToArray(), SafeTensors, $"{id}.safetensors");
    }

    private static async Task<ImageInfo> Upload(string id, HttpRequest request, ServerOptions options, SamModel model, ImageCache cache, BackendGate gate)
    {
        if (!ServerIds.IsValid(id)) throw ApiProblem.BadField("id", $"'{id}' is not 1 to 64 of A-Z a-z 0-9 _ -");
        byte[] bytes = await Server.Upload.ReadAll(request.Body, request.ContentLength, options.MaxUploadBytes, "embedding");
        // The reader maps files; the upload goes to a file of the server's own naming, removed at once.
        string temp = Path.Combine(Path.GetTempPath(), $"samengine-embedding-{ServerIds.New()}.safetensors");
        var predictor = new SamPredictor(model);
        try
        {
            await File.WriteAllBytesAsync(temp, bytes);
            using (await gate.EnterDecoder(request.HttpContext.RequestAborted))
                EmbeddingFile.Load(temp, "upload", model, predictor);
        }
        catch
        {
            predictor.Dispose();
            throw;
        }
        finally { File.Delete(temp); }
        var entry = new CachedImage(id, model, predictor, pixels: null, options.ResultsPerImage);
        cache.Add(entry);
        return new ImageInfo(id, entry.Height, entry.Width, 0);
    }
}
