using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SamEngine.Amg;
using SamEngine.Imaging;
using SamEngine.Modeling;

namespace SamEngine.Server.Routes;

/// <summary><c>POST /v1/images/{id}/predict</c>: masks for a prompt, from the cached embedding.</summary>
internal static class PredictRoutes
{
    private const long MaxBodyBytes = 1 << 20;

    /// <summary>Points per prompt: the decoder's attention grows with them, and a person clicks a handful.</summary>
    private const int MaxPoints = 64;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/v1/images/{id}/predict", Predict)
            .WithName("Predict")
            .WithTags("masks")
            .WithSummary("Masks for points, a box and/or an earlier result")
            .WithDescription("Coordinates are original image pixels. The answer's result_id can be passed as mask_input to refine the mask. Masks are COCO RLE (column-major, compressed counts as pycocotools).")
            .JsonBody<PredictRequest>(required: true)
            .Produces<PredictResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

    private static async Task<PredictResponse> Predict(string id, HttpRequest request, ImageCache cache, BackendGate gate, ServerMetrics metrics)
    {
        var image = cache.GetOr404(id);
        var body = await Json.ReadBody<PredictRequest>(request, MaxBodyBytes, emptyIsDefault: false);
        var prompt = ToPrompt(body, image);

        SamPrediction prediction;
        long start = Stopwatch.GetTimestamp();
        using (await gate.EnterDecoder(request.HttpContext.RequestAborted))
        using (var lease = image.Rent())
            prediction = lease.Predictor.Predict(prompt, body.Multimask);
        metrics.DecodeSeconds.Record(Stopwatch.GetElapsedTime(start).TotalSeconds);

        string resultId = image.Keep(prediction);
        int hw = prediction.Height * prediction.Width, count = prediction.MaskCount;
        var masks = new RleMask[count];
        var pngs = body.Png ? new string[count] : null;
        for (int m = 0; m < count; m++)
        {
            var mask = prediction.Masks.AsSpan(m * hw, hw);
            masks[m] = new RleMask([prediction.Height, prediction.Width], CocoRle.Encode(RunLengthEncoding.FromMask(mask, prediction.Height, prediction.Width)));
            if (pngs is not null) pngs[m] = Convert.ToBase64String(MaskRenderer.MaskPng(mask, prediction.Height, prediction.Width));
        }
        return new PredictResponse(resultId, prediction.IouPredictions, masks, pngs);
    }

    /// <summary>
    /// The request as the library's prompt; the JSON shapes are checked here (naming the field), the values
    /// against the image by the predictor (<see cref="PromptException"/>, reported as its field).
    /// </summary>
    private static SamPrompt ToPrompt(PredictRequest body, CachedImage image)
    {
        if (body.Points?.Length > MaxPoints) throw ApiProblem.BadField("points", $"{body.Points.Length} points; at most {MaxPoints} are taken");
        var points = new List<(float X, float Y, int Label)>();
        for (int i = 0; i < (body.Points?.Length ?? 0); i++)
        {
            var p = body.Points![i];
            if (p is null || p.Length != 3) throw ApiProblem.BadField($"points[{i}]", "a point is [x, y, label]");
            if (!float.IsFinite(p[0]) || !float.IsFinite(p[1])) throw ApiProblem.BadField($"points[{i}]", "coordinates must be finite numbers");
            if (p[2] is not (0 or 1)) throw ApiProblem.BadField($"points[{i}]", $"label {p[2]} is not 0 (background) or 1 (foreground)");
            points.Add((p[0], p[1], (int)p[2]));
        }
        if (body.Box is { } box && (box.Length != 4 || !box.All(float.IsFinite)))
            throw ApiProblem.BadField("box", "a box is [x0, y0, x1, y1], four finite numbers");
        float[]? maskInput = null;
        if (body.MaskInput is { } reference)
            maskInput = image.MaskInput(reference, out string? problem) ?? throw ApiProblem.BadField("mask_input", problem!);
        if (points.Count == 0 && body.Box is null)
            throw ApiProblem.BadField("points", "give at least one point or a box (mask_input refines them, it is not a prompt alone)");
        return new SamPrompt { Points = points, Box = body.Box, MaskInput = maskInput };
    }
}
