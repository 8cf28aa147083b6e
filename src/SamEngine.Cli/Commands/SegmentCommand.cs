using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SamEngine.Config;
using SamEngine.Imaging;
using SamEngine.IO;
using SamEngine.Modeling;

namespace SamEngine.Cli.Commands;

/// <summary><c>samengine segment</c>: masks for points and a box, as PNGs, an overlay and a JSON record.</summary>
public static class SegmentCommand
{
    /// <summary>The <c>segment</c> verb.</summary>
    public static Verb Create()
    {
        var verb = new Verb("segment", "masks for points and a box: PNGs, an overlay and a JSON record", """
            samengine segment --model M (--image IMG | --embedding EMB) [--point X,Y[,LABEL]]...
                                     [--box X0,Y0,X1,Y1] [--mask-input FILE[@NAME]] [--multimask]
                                     [--arch A] --out DIR [--json]
            """, """
            Predicts masks for one prompt (points and/or a box, in pixels of the original image) and writes
            to DIR: mask_<i>.png (white = object), overlay.png (the image with the masks in colour and the
            prompts marked; a grey background with --embedding), logits.safetensors (each mask's low-res
            logits, tensors mask_<i>, usable as --mask-input) and result.json (scores and file names).
            """);
        var model = new ModelOptions(verb);
        var image = CliOptions.Text("--image", "IMG", "JPEG, PNG, BMP, GIF, WebP or TIFF photo");
        var embedding = CliOptions.Text("--embedding", "EMB", "an embedding written by 'samengine embed' with the same model");
        var points = CliOptions.Repeated("--point", "X,Y[,L]", "a point; L = 1 foreground (default) or 0 background; repeatable", ParsePoint);
        var box = CliOptions.Optional("--box", "X0,Y0,X1,Y1", "a box", b => ParseNumbers(b, 4, "--box", "X0,Y0,X1,Y1"));
        var maskInput = CliOptions.Text("--mask-input", "F",
            "low-res logits from an earlier run: F's only tensor, or F@NAME (e.g. logits.safetensors@mask_0)");
        var multimask = CliOptions.Flag("--multimask", "three masks instead of one (best for a single ambiguous point)");
        var outDir = CliOptions.Required("--out", "DIR", "output folder (created if needed)");
        var json = CliOptions.Flag("--json", "also print the result record on stdout");
        foreach (var option in new Option[] { image, embedding, points, box, maskInput, multimask, outDir, json }) verb.Add(option);
        verb.SetAction(parsed => Run(parsed, model, parsed.GetValue(image), parsed.GetValue(embedding),
            new SamPrompt { Points = [.. parsed.GetValue(points) ?? []], Box = parsed.GetResult(box) is null ? null : parsed.GetValue(box) }, parsed.GetValue(maskInput),
            parsed.GetValue(multimask), parsed.GetRequiredValue(outDir), parsed.GetValue(json),
            parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error));
        return verb;
    }

    private static int Run(ParseResult parsed, ModelOptions modelOptions, string? imagePath, string? embeddingPath, SamPrompt prompt,
        string? maskInputArg, bool multimask, string outDir, bool json, TextWriter stdout, TextWriter stderr)
    {
        // Checked here, not by a System.CommandLine validator: those run before the options' own
        // checks and would hide a more precise error (a missing value, a malformed point).
        if ((imagePath is null) == (embeddingPath is null)) throw new UsageException("segment: give exactly one of --image and --embedding");
        if (prompt.Points.Count == 0 && prompt.Box is null) throw new UsageException("segment: give at least one --point or a --box");
        var image = imagePath is null ? null : ImageLoader.Load(imagePath);
        using var model = modelOptions.Load(parsed, stderr);
        if (maskInputArg is not null) prompt = prompt with { MaskInput = ReadMaskInput(maskInputArg, model.Architecture.LowResSize) };
        using var predictor = new SamPredictor(model);
        if (image is not null)
        {
            // Check the prompt against the image before the slow encoder: a decoder pass over a blank
            // embedding of the image's size (with SAM 2.1's two high-resolution levels) applies exactly the
            // library's prompt validation.
            var a = model.Architecture;
            int d = a.PromptEmbedDim, g = a.GridSize;
            bool sam2 = a.Family == ModelFamily.Sam2;
            predictor.SetEmbedding(new float[d * g * g], image.Height, image.Width,
                highResFeats0: sam2 ? new float[d / 8 * 4 * g * 4 * g] : null, highResFeats1: sam2 ? new float[d / 4 * 2 * g * 2 * g] : null);
            predictor.Predict(prompt, multimask);
            TerminalProgress.Show(stderr, "encoding image: block", progress => { predictor.SetImage(image, progress); return 0; });
        }
        else EmbeddingFile.Load(embeddingPath!, model, predictor);

        var prediction = predictor.Predict(prompt, multimask);

        var outputs = new StagedOutputs();
        var record = Record(model, imagePath, embeddingPath, maskInputArg, prompt, multimask, prediction, outputs, outDir);
        var background = image ?? Grey(prediction.Height, prediction.Width);
        outputs.Add(Path.Combine(outDir, "overlay.png"),
            MaskRenderer.OverlayPng(background, prediction.Masks, prediction.MaskCount, prompt.Points, prompt.Box));
        string recordJson = record.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        outputs.Add(Path.Combine(outDir, "result.json"), System.Text.Encoding.UTF8.GetBytes(recordJson + "\n"));
        outputs.Commit();
        if (json) stdout.WriteLine(recordJson);
        else stdout.WriteLine($"segment: {prediction.MaskCount} mask(s), scores {string.Join(", ", prediction.IouPredictions.Select(s => s.ToString("F3", CultureInfo.InvariantCulture)))} -> {outDir}");
        return 0;
    }

    /// <summary>Builds the JSON record and stages the mask PNGs and logits it names.</summary>
    private static JsonObject Record(SamModel model, string? image, string? embedding, string? maskInput, SamPrompt prompt,
        bool multimask, SamPrediction p, StagedOutputs outputs, string outDir)
    {
        int hw = p.Height * p.Width, lr = p.LowResSize;
        var masks = new JsonArray();
        var logits = new SafeTensorsWriter();
        for (int m = 0; m < p.MaskCount; m++)
        {
            var mask = p.Masks.AsSpan(m * hw, hw);
            string file = $"mask_{m}.png";
            outputs.Add(Path.Combine(outDir, file), MaskRenderer.MaskPng(mask, p.Height, p.Width));
            logits.AddFloat32($"mask_{m}", [lr, lr], p.LowResLogits.AsSpan(m * lr * lr, lr * lr).ToArray());
            masks.Add(new JsonObject
            {
                ["index"] = m, ["file"] = file, ["score"] = p.IouPredictions[m], ["area"] = mask.Count((byte)1),
            });
        }
        outputs.Add(Path.Combine(outDir, "logits.safetensors"), temp => logits.Write(temp));
        int best = Array.IndexOf(p.IouPredictions, p.IouPredictions.Max());
        return new JsonObject
        {
            ["model"] = model.Description,
            ["image"] = image,
            ["embedding"] = embedding,
            ["height"] = p.Height,
            ["width"] = p.Width,
            ["points"] = new JsonArray(prompt.Points.Select(q => (JsonNode)new JsonArray(q.X, q.Y, q.Label)).ToArray()),
            ["box"] = prompt.Box is null ? null : new JsonArray(prompt.Box.Select(v => (JsonNode)v).ToArray()),
            ["mask_input"] = maskInput,
            ["multimask"] = multimask,
            ["masks"] = masks,
            ["best"] = best,
            ["overlay"] = "overlay.png",
            ["logits"] = "logits.safetensors",
        };
    }

    private static (float X, float Y, int Label) ParsePoint(string s)
    {
        var parts = s.Split(',');
        if (parts.Length is not (2 or 3)) throw new FormatException($"--point '{s}' is not X,Y or X,Y,LABEL");
        var xy = ParseNumbers($"{parts[0]},{parts[1]}", 2, "--point", "X,Y[,LABEL]");
        int label = 1;
        if (parts.Length == 3 && !int.TryParse(parts[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out label))
            throw new FormatException($"--point '{s}': label '{parts[2]}' is not 0 (background) or 1 (foreground)");
        return (xy[0], xy[1], label);
    }

    private static float[] ParseNumbers(string s, int count, string option, string form)
    {
        var parts = s.Split(',');
        var v = new float[parts.Length];
        if (parts.Length != count || parts.Where((p, i) => !float.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out v[i]) || !float.IsFinite(v[i])).Any())
            throw new FormatException($"{option} '{s}' is not {form} (numbers separated by commas)");
        return v;
    }

    /// <summary>Reads one S/4 x S/4 logits tensor from <c>FILE</c> or <c>FILE@NAME</c>.</summary>
    private static float[] ReadMaskInput(string arg, int lowRes)
    {
        string path = arg, name = "";
        int at = arg.LastIndexOf('@');
        if (!File.Exists(arg) && at > 0) (path, name) = (arg[..at], arg[(at + 1)..]);
        if (!File.Exists(path)) throw new FileNotFoundException($"mask input '{path}' does not exist");
        using var file = SafeTensorsFile.Open(path);
        if (name.Length == 0)
        {
            if (file.Tensors.Count != 1)
                throw new ArgumentException($"mask input '{path}' holds {file.Tensors.Count} tensors; name one as {path}@NAME ({string.Join(", ", file.Tensors.Keys.Take(5))})");
            name = file.Tensors.Keys.First();
        }
        if (!file.Contains(name)) throw new ArgumentException($"mask input '{path}' has no tensor '{name}'");
        var info = file.Info(name);
        if (info.Shape.Length < 2 || info.Shape[^1] != lowRes || info.Shape[^2] != lowRes || info.ElementCount != (long)lowRes * lowRes)
            throw new ArgumentException($"mask input '{name}' has shape {Weights.ShapeUtil.Format(info.Shape)}; this model needs one {lowRes} x {lowRes} low-res mask");
        return file.ReadFloat32(name);
    }

    private static RgbImage Grey(int h, int w)
    {
        var px = new byte[h * w * 3];
        Array.Fill(px, (byte)96);
        return new RgbImage(px, h, w);
    }
}
