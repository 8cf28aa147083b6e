namespace SamEngine.Modeling;

/// <summary>
/// Arrays handed back by disposed predictions, taken again by the next ones of the same length: an
/// interactive session asks for the same output sizes on every click, and a fresh multi-megabyte array
/// per click costs more in first-touch page faults than the decoder's arithmetic (about a thousand
/// faults for one point's masks at 1024 x 1024). Holds <paramref name="capacity"/> arrays at most, the
/// oldest dropped first, so the sizes of a new image replace the old ones.
/// </summary>
internal sealed class RecycledArrays<T>(int capacity = 8)
{
    private readonly List<T[]> _free = []; // oldest first
    private readonly Lock _gate = new();

    /// <summary>An array of exactly <paramref name="length"/> elements, contents undefined.</summary>
    public T[] Take(int length)
    {
        lock (_gate)
        {
            for (int i = _free.Count - 1; i >= 0; i--)
            {
                if (_free[i].Length != length) continue;
                var array = _free[i];
                _free.RemoveAt(i);
                return array;
            }
        }
        return GC.AllocateUninitializedArray<T>(length);
    }

    /// <summary>Hands an array back; the caller must hold its last reference.</summary>
    public void Give(T[] array)
    {
        lock (_gate)
        {
            if (_free.Count == capacity) _free.RemoveAt(0);
            _free.Add(array);
        }
    }
}
