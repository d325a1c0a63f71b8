namespace Forkline.Collector.RingBuffer;

/// <summary>
/// Figures of one ring-buffer reader. Written only by the reader thread (plain arithmetic
/// published with Volatile.Write), read from any thread.
/// </summary>
public sealed class RingBufferMetrics
{
    private long _records;
    private long _bytes;
    private long _discarded;
    private long _drains;
    private long _lastLag;
    private long _maxLag;
    private readonly long[] _lostByKind = new long[(int)Decoding.FlKind.Max];
    private readonly long[] _producedByKind = new long[(int)Decoding.FlKind.Max];

    public long Records => Volatile.Read(ref _records);

    /// <summary>Bytes of record data consumed, headers and padding included.</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>Records the BPF side reserved and then discarded.</summary>
    public long Discarded => Volatile.Read(ref _discarded);

    public long Drains => Volatile.Read(ref _drains);

    /// <summary>Bytes waiting in the ring (producer - consumer position) when the last drain started.</summary>
    public long LastLagBytes => Volatile.Read(ref _lastLag);

    public long MaxLagBytes => Volatile.Read(ref _maxLag);

    /// <summary>Failed ring reservations in BPF (the fl_lost map), per record kind, as last read.</summary>
    public long LostOfKind(int kind) => (uint)kind < (uint)_lostByKind.Length ? Volatile.Read(ref _lostByKind[kind]) : 0;

    public long Lost => Sum(_lostByKind);

    /// <summary>Ring reservations the BPF programs tried (the fl_produced map), per record kind, as last read.</summary>
    public long ProducedOfKind(int kind) => (uint)kind < (uint)_producedByKind.Length ? Volatile.Read(ref _producedByKind[kind]) : 0;

    public long Produced => Sum(_producedByKind);

    internal void RecordDrain(long lagBytes, long records, long bytes, long discarded)
    {
        Volatile.Write(ref _drains, _drains + 1);
        Volatile.Write(ref _lastLag, lagBytes);
        if (lagBytes > _maxLag) Volatile.Write(ref _maxLag, lagBytes);
        if (records != 0) Volatile.Write(ref _records, _records + records);
        if (bytes != 0) Volatile.Write(ref _bytes, _bytes + bytes);
        if (discarded != 0) Volatile.Write(ref _discarded, _discarded + discarded);
    }

    /// <summary>Copies the kernel's counters; produced is read after lost so produced >= lost + records always holds.</summary>
    internal void SetKernelCounts(ReadOnlySpan<ulong> lostByKind, ReadOnlySpan<ulong> producedByKind)
    {
        Copy(lostByKind, _lostByKind);
        Copy(producedByKind, _producedByKind);
    }

    private static void Copy(ReadOnlySpan<ulong> from, long[] to)
    {
        for (var kind = 0; kind < from.Length && kind < to.Length; kind++)
            Volatile.Write(ref to[kind], (long)from[kind]);
    }

    private static long Sum(long[] byKind)
    {
        long total = 0;
        for (var kind = 0; kind < byKind.Length; kind++) total += Volatile.Read(ref byKind[kind]);
        return total;
    }
}
