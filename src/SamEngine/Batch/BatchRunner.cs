using System.Collections.Concurrent;
using System.Diagnostics;
using SamEngine.Imaging;
using SamEngine.Modeling;

namespace SamEngine.Batch;

/// <summary>How a batch ended.</summary>
/// <param name="Total">Images in this shard.</param>
/// <param name="Done">Done, including <paramref name="AlreadyDone"/>.</param>
/// <param name="AlreadyDone">Done by an earlier run and not redone.</param>
/// <param name="Skipped">Images that could not be read.</param>
/// <param name="Failed">Images the model failed on.</param>
/// <param name="NotTried">Images left when <c>--fail-fast</c> stopped the run.</param>
/// <param name="Elapsed">Wall time of this run.</param>
public sealed record BatchSummary(int Total, int Done, int AlreadyDone, int Skipped, int Failed, int NotTried, TimeSpan Elapsed)
{
    /// <summary>Whether every image is done.</summary>
    public bool AllDone => Done == Total;
}

/// <summary>One image finished in this run, for progress displays.</summary>
/// <param name="Entry">Its manifest line.</param>
/// <param name="Finished">Images finished in this run so far (this one included).</param>
/// <param name="ToDo">Images this run has to do (the shard less those done before).</param>
/// <param name="Elapsed">Wall time since the run started.</param>
public readonly record struct BatchProgress(ManifestEntry Entry, int Finished, int ToDo, TimeSpan Elapsed);

/// <summary>
/// Runs a batch as one pipeline of three threads joined by bounded queues: a reader decodes and
/// preprocesses the next images, the caller's thread runs the model (<see cref="IBatchWork"/>) image after
/// image, and a writer writes each output atomically (<see cref="AtomicOutput"/>) and then appends its
/// manifest line (<see cref="Manifest"/>). Images done by an earlier run (manifest line "done" and the
/// output present) are not redone, so a run killed at any instant and started again redoes at most the
/// images that were in flight. Outputs depend only on the image and the model, so they come out the same.
/// </summary>
public sealed class BatchRunner(string outDir, IBatchWork work, SamModel model)
{
    /// <summary>Images decoded ahead of the model: enough to hide decoding, few enough to bound memory.</summary>
    public const int ReadAhead = 2;

    /// <summary>Outputs waiting for the writer.</summary>
    public const int WriteBehind = 4;

    /// <summary>Stop at the first image that is skipped or fails.</summary>
    public bool FailFast { get; init; }

    /// <summary>Called on the writer thread after each image's manifest line is written.</summary>
    public Action<BatchProgress>? Progress { get; init; }

    /// <summary>The largest image accepted, in pixels.</summary>
    public long MaxPixels { get; init; } = ImageLoader.DefaultMaxPixels;

    /// <summary>
    /// Runs over <paramref name="images"/> (this shard's). Throws <see cref="IOException"/> naming the
    /// output folder when it cannot be written (no permission, a full disk): the run stops there, and what
    /// it had not finished writing is removed.
    /// </summary>
    public BatchSummary Run(IReadOnlyList<BatchImage> images, Shard shard)
    {
        var watch = Stopwatch.StartNew();
        string root = Path.GetFullPath(outDir);
        var manifest = Writing(() =>
        {
            Directory.CreateDirectory(root);
            AtomicOutput.RemoveLeftovers(root);
            var opened = Manifest.Open(Path.Combine(root, Manifest.FileName));
            try { ShardFile.Write(root, work.Format, shard, images); }
            catch { opened.Dispose(); throw; }
            return opened;
        });
        using var _ = manifest;

        bool IsDone(BatchImage i) => manifest.Latest.TryGetValue(i.Key, out var e) && e.Status == ImageStatus.Done
                                     && e.Output is { } o && Path.Exists(Path.Combine(root, o));
        var toDo = images.Where(i => !IsDone(i)).ToList();
        int alreadyDone = images.Count - toDo.Count;

        using var stop = new CancellationTokenSource();
        using var decoded = new BlockingCollection<Decoded>(ReadAhead);
        using var results = new BlockingCollection<Finished>(WriteBehind);
        using var preprocessor = new SamPredictor(model); // Preprocess reads only the architecture: safe beside the model's thread
        var reader = Task.Run(() => Read(toDo, preprocessor, decoded, stop.Token));
        int finished = 0, skipped = 0, failed = 0, done = 0;
        var writer = Task.Run(() =>
        {
            try
            {
                foreach (var (image, output, notDone, seconds) in results.GetConsumingEnumerable())
                {
                    var line = notDone;
                    if (output is not null)
                    {
                        var write = Stopwatch.StartNew();
                        string name = work.Format.OutputName(image.Key), path = Path.Combine(root, name);
                        if (work.Format.IsFolder()) AtomicOutput.WriteFolder(path, output.Write);
                        else AtomicOutput.WriteFile(path, output.Write);
                        line = new ManifestEntry(image.Key, ImageStatus.Done, name, output.Masks, seconds + write.Elapsed.TotalSeconds, null);
                    }
                    manifest.Append(line!);
                    Progress?.Invoke(new BatchProgress(line!, ++finished, toDo.Count, watch.Elapsed));
                }
            }
            catch
            {
                stop.Cancel(); // the model's thread stops taking images
                throw;
            }
        });

        try
        {
            foreach (var item in decoded.GetConsumingEnumerable(stop.Token))
            {
                var clock = Stopwatch.StartNew();
                if (item.Error is not null)
                {
                    skipped++;
                    results.Add(new Finished(item.Image, null, new ManifestEntry(item.Image.Key, ImageStatus.Skipped, null, null, item.Seconds, item.Error), 0), stop.Token);
                }
                else
                {
                    BatchOutput? output = null;
                    string? error = null;
                    try { output = work.Run(item.Image, item.Rgb!, item.Input!); }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                    {
                        error = $"the model failed on image '{item.Image.Key}': {e.Message.ReplaceLineEndings(" ")}";
                    }
                    double seconds = item.Seconds + clock.Elapsed.TotalSeconds;
                    if (output is null) failed++;
                    else done++;
                    results.Add(new Finished(item.Image, output, output is null ? new ManifestEntry(item.Image.Key, ImageStatus.Failed, null, null, seconds, error) : null, seconds), stop.Token);
                }
                if (FailFast && (skipped + failed) > 0) break;
            }
        }
        catch (OperationCanceledException) when (writer.IsFaulted || stop.IsCancellationRequested) { }
        finally
        {
            stop.Cancel(); // the reader stops decoding (it has finished unless --fail-fast or a write failure stopped the run)
            results.CompleteAdding();
        }
        Writing(() => Await(writer));
        Await(reader);

        int tried = done + skipped + failed;
        if (work.Format == BatchFormat.Coco && tried == toDo.Count)
            WriteCoco(root, images.Select(i => manifest.Latest.GetValueOrDefault(i.Key)).OfType<ManifestEntry>());
        return new BatchSummary(images.Count, alreadyDone + done, alreadyDone, skipped, failed, toDo.Count - tried, watch.Elapsed);
    }

    /// <summary>Writes <c>coco.json</c> over the done entries' SA-1B files, in the given order.</summary>
    public static void WriteCoco(string root, IEnumerable<ManifestEntry> entries)
    {
        var files = entries.Where(e => e.Status == ImageStatus.Done && e.Output is not null).Select(e => Path.Combine(root, e.Output!)).ToList();
        AtomicOutput.WriteFile(Path.Combine(root, CocoDataset.FileName), temp =>
        {
            using var stream = File.Create(temp);
            CocoDataset.Write(stream, files);
        });
    }

    private void Read(List<BatchImage> images, SamPredictor preprocessor, BlockingCollection<Decoded> decoded, CancellationToken stop)
    {
        try
        {
            foreach (var image in images)
            {
                var watch = Stopwatch.StartNew();
                Decoded item;
                try
                {
                    var rgb = ImageLoader.Load(image.FullPath, MaxPixels);
                    item = new Decoded(image, rgb, preprocessor.Preprocess(rgb.Pixels, rgb.Height, rgb.Width), null, 0);
                }
                catch (Exception e) when (e is ImageLoadException or ArgumentException)
                {
                    item = new Decoded(image, null, null, e.Message.ReplaceLineEndings(" "), 0);
                }
                decoded.Add(item with { Seconds = watch.Elapsed.TotalSeconds }, stop);
            }
        }
        catch (OperationCanceledException) { }
        finally { decoded.CompleteAdding(); }
    }

    /// <summary>Waits for <paramref name="task"/> and throws what it threw, as it threw it.</summary>
    private static int Await(Task task)
    {
        try { task.Wait(); }
        catch (AggregateException e) { System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException!); }
        return 0;
    }

    /// <summary>Runs <paramref name="write"/>; a failure to write becomes one error naming the output folder.</summary>
    private T Writing<T>(Func<T> write)
    {
        try { return write(); }
        catch (IOException e) { throw new IOException($"cannot write to output folder '{outDir}': {e.Message}", e); }
        catch (UnauthorizedAccessException e) { throw new IOException($"cannot write to output folder '{outDir}': {e.Message}", e); }
    }

    /// <summary>An image from the reader: decoded and preprocessed, or the error that kept it from being read.</summary>
    private sealed record Decoded(BatchImage Image, RgbImage? Rgb, PreprocessedImage? Input, string? Error, double Seconds);

    /// <summary>An image from the model's thread: its output to write, or the manifest line of an image not done.</summary>
    private sealed record Finished(BatchImage Image, BatchOutput? Output, ManifestEntry? NotDone, double Seconds);
}
