using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Config;
using SamEngine.Modeling;

namespace SamEngine.Cli.Commands;

/// <summary><c>samengine bench</c>: whole-model timings as engine-contracts.md specifies them.</summary>
public static class BenchCommand
{
    /// <summary>The <c>bench</c> verb.</summary>
    public static Verb Create()
    {
        var verb = new Verb("bench", "time loading, the encoder and the decoder; measure the FP32 peak",
            "samengine bench --model M [--arch A] [--backend NAME] [--precision P] [--runs N] [--json | --encoder-only] [--profile]", """
            Times, after a warm-up, model loading, the image encoder (1024 x 1024), and the decoder for one
            point, one box and a batch of 64 points with the image-side work already done (masks at the
            original size). Times are medians over the runs. Also measures this machine's peak FP32 FMA
            throughput in the same run and reports the encoder's matmul and conv GFLOP/s against it.
            Memory: the peak resident set right after the encoder (weights plus the encoder's working
            set) goes to stderr and the text report; peak_rss_mb is the peak over the whole run.
            """);
        var model = new ModelOptions(verb);
        var runs = CliOptions.Int("--runs", "N", "timed runs per measurement", 3, minimum: 1);
        var json = CliOptions.Flag("--json", "print one JSON object on stdout and nothing else there");
        var encoderOnly = CliOptions.Flag("--encoder-only", "stop after the encoder: load time, encoder time and memory only");
        var profile = CliOptions.Flag("--profile", "also print, on stderr, the time of every op (by name and output shape)\nin each measurement's timed runs");
        verb.Add(runs);
        verb.Add(json);
        verb.Add(encoderOnly);
        verb.Add(profile);
        verb.SetAction(parsed => Run(parsed.GetRequiredValue(model.Model), ModelOptions.Architecture(parsed.GetValue(model.Arch), "bench"),
            parsed.GetRequiredValue(model.Backend), parsed.GetValue(model.Precision), parsed.GetValue(runs), parsed.GetValue(json), parsed.GetValue(encoderOnly), parsed.GetValue(profile),
            parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error));
        return verb;
    }

    private static int Run(string modelSpec, SamArchitecture? arch, string backendName, SamEngine.Parity.Precision precision, int runs, bool json, bool encoderOnly, bool profile,
        TextWriter stdout, TextWriter stderr)
    {
        if (json && encoderOnly) throw new UsageException("bench: --json reports the decoder too; drop --encoder-only");
        var backend = BackendFactory.Create(backendName, precision, stderr);
        if (profile) backend = new ProfilingBackend(backend);
        void Progress(string s) => stderr.WriteLine($"bench: {s}");
        var timer = new BenchTimer(backend, TimeProvider.System, Progress);

        var cpuBeforeLoad = CpuTime();
        var loadWatch = Stopwatch.StartNew();
        using var model = SamModel.Load(modelSpec, arch, backend, disposeBackend: true);
        ModelOptions.RequireVitForInt8(precision, model.Architecture, "bench");
        backend.Synchronize();
        double loadMs = loadWatch.Elapsed.TotalMilliseconds;
        Progress($"loaded {model.Description} in {loadMs:F0} ms wall, {(CpuTime() - cpuBeforeLoad).TotalMilliseconds:F0} ms CPU ({model.ParameterCount * 2 / MiB:F0} MB of fp16 weights), {Memory()}");

        arch = model.Architecture;
        int s = arch.ImgSize;
        var input = SyntheticInput(s);
        double encoderMs = timer.Median(runs, () =>
        {
            using var x = backend.FromHost(input, 1, s, s, 3);
            if (arch.Family == ModelFamily.Sam2)
                foreach (var level in model.HieraEncoder.Forward(backend, x)) level.Dispose();
            else if (arch.TinyVit is not null)
                model.TinyVitEncoder.Forward(backend, x).Dispose();
            else
                model.ImageEncoder.Forward(backend, x).Dispose();
        }, "encoder");

        double encoderRssMb = PeakRssMb();
        Progress($"peak RSS after the encoder: {encoderRssMb:F0} MB, {Memory()}");
        var ci = CultureInfo.InvariantCulture;
        if (encoderOnly)
        {
            stdout.WriteLine(string.Format(ci, "model {0}, backend {1} ({2})", model.Description, backend.Name, backend.Device));
            stdout.WriteLine(string.Format(ci, "load                {0,10:F1} ms", loadMs));
            double encoderOnlyGflops = EncoderFlops(arch) / (encoderMs * 1e6), measuredPeak = PeakFlops.Measure();
            stdout.WriteLine(string.Format(ci, "encoder             {0,10:F1} ms  {1:F1} GFLOP/s = {2:P1} of peak {3:F1} GFLOP/s",
                encoderMs, encoderOnlyGflops, encoderOnlyGflops / measuredPeak, measuredPeak));
            stdout.WriteLine(string.Format(ci, "peak RSS (encoder)  {0,10:F1} MB", encoderRssMb));
            return 0;
        }
        using var predictor = new SamPredictor(model);
        predictor.SetImage(SyntheticImage(s, s), s, s);
        var point = new SamPrompt { Points = [(s * 0.5f, s * 0.4f, 1)] };
        var box = new SamPrompt { Box = [s * 0.2f, s * 0.25f, s * 0.7f, s * 0.8f] };
        var grid = Enumerable.Range(0, 64).Select(i => new SamPrompt { Points = [((i % 8 + 0.5f) * s / 8, (i / 8 + 0.5f) * s / 8, 1)] }).ToArray();
        // Each prediction is disposed as an interactive caller does, handing its arrays to the next one.
        double pointMs = timer.Median(runs, () => predictor.Predict(point, multimask: true).Dispose(), "decoder point");
        double boxMs = timer.Median(runs, () => predictor.Predict(box, multimask: false).Dispose(), "decoder box");
        double batchMs = timer.Median(runs, () => predictor.PredictBatch(grid, multimask: true).Dispose(), "decoder batch 64");

        double peak = PeakFlops.Measure();
        double encoderGflops = EncoderFlops(arch) / (encoderMs * 1e6);
        double rssMb = PeakRssMb();
        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(new
            {
                model = model.Description, backend = backend.Name, device = backend.Device,
                load_ms = Round(loadMs), encoder_ms = Round(encoderMs), decoder_point_ms = Round(pointMs),
                decoder_box_ms = Round(boxMs), decoder_batch64_ms = Round(batchMs),
                encoder_gflops = Round(encoderGflops), peak_gflops = Round(peak), peak_rss_mb = Round(rssMb),
            }));
            return 0;
        }
        stdout.WriteLine(string.Format(ci, "model {0}, backend {1} ({2})", model.Description, backend.Name, backend.Device));
        stdout.WriteLine(string.Format(ci, "load                {0,10:F1} ms", loadMs));
        stdout.WriteLine(string.Format(ci, "encoder             {0,10:F1} ms  {1:F1} GFLOP/s = {2:P1} of peak {3:F1} GFLOP/s", encoderMs, encoderGflops, encoderGflops / peak, peak));
        stdout.WriteLine(string.Format(ci, "peak RSS (encoder)  {0,10:F1} MB", encoderRssMb));
        // One point prompt is the point and a padding point; a box is its two corners: 2 sparse tokens each.
        double decoderGflop = DecoderFlops(arch, sparseTokens: 2) / 1e9;
        string Decoder(double ms, int prompts) =>
            string.Format(ci, "{0,10:F1} ms  {1:F1} GFLOP/s = {2:P1} of peak", ms, prompts * decoderGflop / (ms / 1e3), prompts * decoderGflop / (ms / 1e3) / peak);
        stdout.WriteLine("decoder 1 point     " + Decoder(pointMs, 1));
        stdout.WriteLine("decoder 1 box       " + Decoder(boxMs, 1));
        stdout.WriteLine("decoder 64 points   " + Decoder(batchMs, 64));
        stdout.WriteLine(string.Format(ci, "(decoder: {0:F2} GFLOP per prompt as upstream computes it, masks at the original size included in the time)", decoderGflop));
        stdout.WriteLine(string.Format(ci, "peak RSS (all)      {0,10:F1} MB", rssMb));
        return 0;
    }

    private static double Round(double x) => Math.Round(x, 3);

    private const double MiB = 1024.0 * 1024.0;

    private static TimeSpan CpuTime()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>The process's peak resident set so far, in MiB.</summary>
    private static double PeakRssMb()
    {
        using var self = Process.GetCurrentProcess();
        return self.PeakWorkingSet64 / MiB;
    }

    /// <summary>Where the memory is now: resident set and the managed heap (weights and pooled buffers live there).</summary>
    private static string Memory()
    {
        using var self = Process.GetCurrentProcess();
        var gc = GC.GetGCMemoryInfo();
        return string.Format(CultureInfo.InvariantCulture, "RSS now {0:F0} MB, managed heap {1:F0} MB ({2:F0} MB committed)",
            self.WorkingSet64 / MiB, gc.HeapSizeBytes / MiB, gc.TotalCommittedBytes / MiB);
    }

    /// <summary>
    /// The encoder's matmul and conv FLOPs (2 x MAC) as upstream computes them: patch embedding; per
    /// block qkv and projection (in windowed blocks over the zero-padded grid, which upstream partitions
    /// before projecting), the MLP, the two attention products and the decomposed rel-pos products
    /// (q against the H and W tables); the neck's two convs. This is the count (vit_b 0.97,
    /// vit_l 2.99, vit_h 5.96 TFLOP); the engine projects only the real tokens (a padded token's q, k, v
    /// is the bias), about 3 % less arithmetic, as its decoder folds away work the count includes too.
    /// SAM 2.x's Hiera encoder is counted by <see cref="ImageEncoderHiera.Flops"/>, MobileSAM's TinyViT by
    /// <see cref="ImageEncoderTinyVit.Flops"/>.
    /// </summary>
    public static double EncoderFlops(SamArchitecture a)
    {
        if (a.Family == ModelFamily.Sam2) return SamEngine.Modeling.ImageEncoderHiera.Flops(a);
        if (a.TinyVit is not null) return SamEngine.Modeling.ImageEncoderTinyVit.Flops(a);
        double c = a.EmbedDim, g = a.GridSize, t = g * g, d = a.PromptEmbedDim;
        double windows = Math.Pow(Math.Ceiling(g / a.WindowSize), 2), tw = (double)a.WindowSize * a.WindowSize, tPad = windows * tw;
        double macs = t * 3 * a.PatchSize * a.PatchSize * c;
        for (int i = 0; i < a.Depth; i++)
        {
            bool global = a.GlobalAttnIndexes.Contains(i);
            double attended = global ? t : tPad, side = global ? g : a.WindowSize;
            macs += attended * c * (3 * c + c) + t * c * (4 * c + 4 * c);
            macs += global ? 2 * t * t * c : windows * 2 * tw * tw * c;
            macs += attended * 2 * side * c; // q · Rhᵀ and q · Rwᵀ: each query against the side's offsets, all heads
        }
        macs += t * c * d + t * 9 * d * d;
        return 2 * macs;
    }

    /// <summary>
    /// The mask decoder's matmul and conv FLOPs (2 x MAC) for one prompt with <paramref name="sparseTokens"/>
    /// prompt tokens, counted as upstream computes them (every projection of the 4096 image positions,
    /// the transposed convs, the hypernetwork product): the work a fused or folded implementation
    /// avoids still counts, so the figure compares with other implementations of the same model.
    /// </summary>
    public static double DecoderFlops(SamArchitecture a, int sparseTokens)
    {
        double d = a.PromptEmbedDim, ci = d / 2, n = (double)a.GridSize * a.GridSize, m = a.NumMaskTokens;
        // SAM 2.1 adds its object-score token; its high-resolution skips are a few adds.
        double t = 1 + m + sparseTokens + (a.Family == ModelFamily.Sam2 ? 1 : 0);
        double tokenToImage = t * d * ci + 2 * n * d * ci + 2 * t * n * ci + t * ci * d;
        double imageToToken = n * d * ci + 2 * t * d * ci + 2 * n * t * ci + n * ci * d;
        double selfAttn = 4 * t * d * d + 2 * t * t * d;
        double macs = a.DecoderDepth * (selfAttn + tokenToImage + 2 * t * d * a.DecoderMlpDim + imageToToken) + tokenToImage;
        double up1 = 4 * n * (d / 4) * d, up2 = 16 * n * (d / 8) * (d / 4);
        macs += up1 + up2 + m * 16 * n * (d / 8);
        macs += m * (2 * d * d + d * d / 8) + 2 * d * a.IouHeadHiddenDim + a.IouHeadHiddenDim * a.IouHeadHiddenDim + a.IouHeadHiddenDim * m;
        return 2 * macs;
    }

    // A fixed, smooth test image: the encoder's cost does not depend on the pixels.
    private static byte[] SyntheticImage(int h, int w)
    {
        var rgb = new byte[h * w * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int ch = 0; ch < 3; ch++) rgb[(y * w + x) * 3 + ch] = (byte)((x * (ch + 1) + y * (3 - ch)) & 0xFF);
        return rgb;
    }

    private static float[] SyntheticInput(int s)
    {
        var x = new float[s * s * 3];
        for (int i = 0; i < x.Length; i++) x[i] = MathF.Sin(i * 0.001f);
        return x;
    }
}
