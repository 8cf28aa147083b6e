namespace SamEngine.Server;

/// <summary>
/// The images the server remembers, least recently used forgotten first once their bytes
/// (<see cref="CachedImage.Bytes"/>) would pass the budget. Thread-safe.
/// </summary>
public sealed class ImageCache(long capacityBytes, ServerMetrics metrics)
{
    private readonly object _lock = new();
    private readonly LinkedList<CachedImage> _recency = new(); // most recent first
    private readonly Dictionary<string, LinkedListNode<CachedImage>> _byId = new(StringComparer.Ordinal);
    private long _bytes;

    /// <summary>The budget in bytes.</summary>
    public long CapacityBytes => capacityBytes;

    /// <summary>Bytes held now.</summary>
    public long Bytes { get { lock (_lock) return _bytes; } }

    /// <summary>Images held now.</summary>
    public int Count { get { lock (_lock) return _byId.Count; } }

    /// <summary>The image with this id, now the most recently used; null when unknown.</summary>
    public CachedImage? Get(string id)
    {
        lock (_lock)
        {
            if (!_byId.TryGetValue(id, out var node)) return null;
            _recency.Remove(node);
            _recency.AddFirst(node);
            return node.Value;
        }
    }

    /// <summary>The image with this id, or a 404 problem.</summary>
    public CachedImage GetOr404(string id) => Get(id) ?? throw ApiProblem.UnknownImage(id);

    /// <summary>
    /// Adds (or replaces) an image, forgetting the least recently used ones as needed; an image larger
    /// than the whole budget is refused with a 413.
    /// </summary>
    public void Add(CachedImage image)
    {
        if (image.Bytes > capacityBytes)
        {
            image.Evict();
            throw ApiProblem.TooLarge($"the image needs {Mib(image.Bytes)} of embedding cache, more than the whole --cache-mb budget ({Mib(capacityBytes)})");
        }
        var forgotten = new List<CachedImage>();
        lock (_lock)
        {
            if (_byId.Remove(image.Id, out var old))
            {
                Unlink(old);
                forgotten.Add(old.Value);
            }
            while (_bytes + image.Bytes > capacityBytes && _recency.Last is { } lru)
            {
                _byId.Remove(lru.Value.Id);
                Unlink(lru);
                forgotten.Add(lru.Value);
                metrics.CacheEvictions.Add(1);
            }
            _byId[image.Id] = _recency.AddFirst(image);
            _bytes += image.Bytes;
        }
        foreach (var f in forgotten) f.Evict();
    }

    /// <summary>Forgets an image; false when it was not held.</summary>
    public bool Remove(string id)
    {
        LinkedListNode<CachedImage>? node;
        lock (_lock)
        {
            if (!_byId.Remove(id, out node)) return false;
            Unlink(node);
        }
        node.Value.Evict();
        return true;
    }

    private void Unlink(LinkedListNode<CachedImage> node)
    {
        _recency.Remove(node);
        _bytes -= node.Value.Bytes;
    }

    private static string Mib(long bytes) => $"{bytes / (1024.0 * 1024):F1} MiB";
}
