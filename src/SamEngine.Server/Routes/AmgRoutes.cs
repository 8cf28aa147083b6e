using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SamEngine.Amg;
using SamEngine.Modeling;

namespace SamEngine.Server.Routes;

/// <summary><c>POST /v1/images/{id}/amg</c>: every mask of the image, as the <c>amg</c> verb writes them.</summary>
internal static class AmgRoutes
{
    private const long MaxBodyBytes = 64 * 1024;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/v1/images/{id}/amg", Generate)
            .WithName("GenerateMasks")
            .WithTags("masks")
            .WithSummary("Segment everything (automatic mask generation)")
            .WithDescription("The body holds the amg verb's options in snake case (all optional; an empty body takes the defaults). The answer is the JSON array of the amg verb: one record per mask (segmentation, area, bbox, predicted_iou, point_coords, stability_score, crop_box). Runs on the encoder queue (the image's cached embedding serves the whole image; crops of crop_n_layers > 0 are encoded), so it can answer 503.")
            .JsonBody<AmgRequest>(required: false)
            .Produces<MaskRecordSchema[]>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

    private static async Task<IResult> Generate(string id, HttpRequest request, SamModel model, ImageCache cache, EncoderQueue queue, ServerMetrics metrics)
    {
        var image = cache.GetOr404(id);
        var body = await Json.ReadBody<AmgRequest>(request, MaxBodyBytes, emptyIsDefault: true);
        var options = ToOptions(body).ForFamily(model.Architecture.Family);
        options.Validate(); // a bad option is a 400 now, not after waiting in the queue
        var pixels = image.Pixels ?? throw new ApiProblem(StatusCodes.Status409Conflict, "no pixels",
            $"image '{id}' is known by its embedding only (PUT .../embedding); mask generation needs the image itself: POST it to /v1/images");
        var (records, seconds) = await queue.Run("mask generation", () =>
        {
            long start = Stopwatch.GetTimestamp();
            using var generator = new AutomaticMaskGenerator(model, options);
            // The cached embedding stands in for the encoder on the whole image (crop layer 0).
            var masks = generator.Generate(pixels.Pixels, pixels.Height, pixels.Width, image.Embedding);
            return (masks, Stopwatch.GetElapsedTime(start).TotalSeconds);
        });
        metrics.AmgSeconds.Record(seconds);
        var json = new MemoryStream();
        MaskRecordJson.Write(json, records);
        return Results.Bytes(json.ToArray(), "application/json");
    }

    /// <summary>The request's options over the <c>amg</c> verb's defaults (<c>coco_rle</c> output, the family's IoU threshold).</summary>
    private static AutomaticMaskGeneratorOptions ToOptions(AmgRequest r)
    {
        var d = new AutomaticMaskGeneratorOptions { OutputMode = AmgOutputMode.CocoRle };
        return d with
        {
            PointsPerSide = r.PointsPerSide ?? d.PointsPerSide,
            PointsPerBatch = r.PointsPerBatch ?? d.PointsPerBatch,
            PredIouThresh = r.PredIouThresh ?? d.PredIouThresh,
            StabilityScoreThresh = r.StabilityScoreThresh ?? d.StabilityScoreThresh,
            StabilityScoreOffset = r.StabilityScoreOffset ?? d.StabilityScoreOffset,
            BoxNmsThresh = r.BoxNmsThresh ?? d.BoxNmsThresh,
            CropNLayers = r.CropNLayers ?? d.CropNLayers,
            CropNmsThresh = r.CropNmsThresh ?? d.CropNmsThresh,
            CropOverlapRatio = r.CropOverlapRatio ?? d.CropOverlapRatio,
            CropNPointsDownscaleFactor = r.CropNPointsDownscaleFactor ?? d.CropNPointsDownscaleFactor,
            MinMaskRegionArea = r.MinMaskRegionArea ?? d.MinMaskRegionArea,
            UseM2m = r.UseM2m ?? d.UseM2m,
            MultimaskOutput = r.MultimaskOutput ?? d.MultimaskOutput,
            OutputMode = r.OutputMode is null ? AmgOutputMode.CocoRle
                : AmgOutputModes.TryParse(r.OutputMode, out var mode) ? mode
                : throw ApiProblem.BadField("output_mode", $"'{r.OutputMode}' is not coco_rle, uncompressed_rle or binary_mask"),
        };
    }

    /// <summary>The OpenAPI shape of one record (written by <see cref="MaskRecordJson"/>).</summary>
    internal sealed record MaskRecordSchema(RleMask Segmentation, int Area, int[] Bbox, double PredictedIou, double[][] PointCoords, double? StabilityScore, int[] CropBox);
}
