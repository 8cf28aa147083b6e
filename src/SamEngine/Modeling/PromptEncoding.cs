using SamEngine.Config;
using SamEngine.Processing;

namespace SamEngine.Modeling;

/// <summary>
/// Thrown for a prompt that cannot be answered: out of the image, malformed, or empty. <see cref="Field"/>
/// names the <see cref="SamPrompt"/> property at fault (<c>Points</c>, <c>Box</c>, <c>MaskInput</c>), null
/// when the fault is the prompt as a whole, so that a caller (the HTTP API) can name its own field.
/// </summary>
public sealed class PromptException(string message, string? field = null) : ArgumentException(message)
{
    /// <summary>The <see cref="SamPrompt"/> property at fault, or null.</summary>
    public string? Field { get; } = field;
}

/// <summary>
/// Validates a batch of prompts against the image and maps them to model input coordinates: SAM 1's
/// <c>ResizeLongestSide.apply_coords</c>, or SAM 2.1's <c>SAM2Transforms.transform_coords</c> (x / w · S,
/// y / h · S) with the box as two points labelled 2 and 3 placed before the clicks, as
/// <c>SAM2ImagePredictor._predict</c> passes it (no box then: the prompt encoder appends its padding point).
/// </summary>
internal sealed record PromptEncoding(float[]? Points, int[]? Labels, int PointsPerPrompt, float[]? Boxes, float[]? MaskInputs)
{
    public static PromptEncoding Encode(IReadOnlyList<SamPrompt> prompts, ImageEmbedding emb, SamArchitecture arch)
    {
        if (prompts.Count == 0) throw new PromptException("no prompts given");
        var first = prompts[0];
        int np = first.Points.Count;
        bool box = first.Box is not null, mask = first.MaskInput is not null;
        if (prompts.Any(p => p.Points.Count != np || (p.Box is not null) != box || (p.MaskInput is not null) != mask))
            throw new PromptException("prompts in one batch must have the same number of points and all or none a box and a mask input");
        if (np == 0 && !box) throw new PromptException("empty prompt: give at least one point or a box");
        int h = emb.OriginalHeight, w = emb.OriginalWidth, lr = arch.LowResSize;
        bool sam2 = arch.Family == ModelFamily.Sam2;
        var points = np > 0 ? new float[prompts.Count * np * 2] : null;
        var labels = np > 0 ? new int[prompts.Count * np] : null;
        var boxes = box ? new float[prompts.Count * 4] : null;
        float[] ToModel(float[] xy) => sam2 ? Sam2Coords(xy, h, w, arch.ImgSize) : ResizeLongestSide.ApplyCoords(xy, h, w, arch.ImgSize);
        var masks = mask ? new float[prompts.Count * lr * lr] : null;
        for (int b = 0; b < prompts.Count; b++)
        {
            var p = prompts[b];
            for (int i = 0; i < np; i++)
            {
                var (x, y, label) = p.Points[i];
                if (!(x >= 0 && x <= w && y >= 0 && y <= h)) throw new PromptException($"point ({x}, {y}) is outside the {w} x {h} image", nameof(SamPrompt.Points));
                if (label is not (0 or 1)) throw new PromptException($"point label {label} is not 0 (background) or 1 (foreground)", nameof(SamPrompt.Points));
                var c = ToModel([x, y]);
                points![(b * np + i) * 2] = c[0];
                points[(b * np + i) * 2 + 1] = c[1];
                labels![b * np + i] = label;
            }
            if (p.Box is { } bx)
            {
                if (bx.Length != 4) throw new PromptException($"a box has 4 numbers (x0, y0, x1, y1), got {bx.Length}", nameof(SamPrompt.Box));
                if (!(bx[0] >= 0 && bx[2] <= w && bx[1] >= 0 && bx[3] <= h)) throw new PromptException($"box ({string.Join(", ", bx)}) is outside the {w} x {h} image", nameof(SamPrompt.Box));
                if (bx[2] < bx[0] || bx[3] < bx[1]) throw new PromptException($"box ({string.Join(", ", bx)}) has x1 < x0 or y1 < y0", nameof(SamPrompt.Box));
                ToModel(bx).CopyTo(boxes!, b * 4);
            }
            if (p.MaskInput is { } mi)
            {
                if (mi.Length != lr * lr) throw new PromptException($"mask input has {mi.Length} values; this model needs {lr} x {lr} low-res logits", nameof(SamPrompt.MaskInput));
                mi.CopyTo(masks!, b * lr * lr);
            }
        }
        return sam2 && boxes is not null ? BoxAsPoints(prompts.Count, points, labels, np, boxes, masks) : new PromptEncoding(points, labels, np, boxes, masks);
    }

    /// <summary><c>SAM2Transforms.transform_coords</c> with normalize: each x / w · S and y / h · S, in float32.</summary>
    private static float[] Sam2Coords(float[] xy, int h, int w, int size)
    {
        var c = new float[xy.Length];
        for (int i = 0; i < xy.Length; i += 2)
        {
            c[i] = xy[i] / w * size;
            c[i + 1] = xy[i + 1] / h * size;
        }
        return c;
    }

    /// <summary>SAM 2.1's prompt: the box corners as points labelled 2, 3 before the clicks, no box.</summary>
    private static PromptEncoding BoxAsPoints(int batch, float[]? points, int[]? labels, int np, float[] boxes, float[]? masks)
    {
        int n = np + 2;
        var allPoints = new float[batch * n * 2];
        var allLabels = new int[batch * n];
        for (int b = 0; b < batch; b++)
        {
            boxes.AsSpan(b * 4, 4).CopyTo(allPoints.AsSpan(b * n * 2));
            allLabels[b * n] = 2;
            allLabels[b * n + 1] = 3;
            if (np == 0) continue;
            points.AsSpan(b * np * 2, np * 2).CopyTo(allPoints.AsSpan(b * n * 2 + 4));
            labels.AsSpan(b * np, np).CopyTo(allLabels.AsSpan(b * n + 2));
        }
        return new PromptEncoding(allPoints, allLabels, n, null, masks);
    }
}
