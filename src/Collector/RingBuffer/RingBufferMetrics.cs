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

    public long Lost
    {
        get
        {
            long total = 0;
            for (var kind = 0; kind < _lostByKind.Length; kind++) total += Volatile.Read(ref _lostByKind[kind]);
            return total;
        }
    }

    internal void RecordDrain(long lagBytes, long records, long bytes, long discarded)
    {
        Volatile.Write(ref _drains, _drains + 1);
        Volatile.Write(ref _lastLag, lagBytes);
        if (lagBytes > _maxLag) Volatile.Write(ref _maxLag, lagBytes);
        if (records != 0) Volatile.Write(ref _records, _records + records);
        if (bytes != 0) Volatile.Write(ref _bytes, _bytes + bytes);
        if (discarded != 0) Volatile.Write(ref _discarded, _discarded + discarded);
    }

    internal void SetLost(ReadOnlySpan<ulong> lostByKind)
    {
        for (var kind = 0; kind < lostByKind.Length && kind < _lostByKind.Length; kind++)
            Volatile.Write(ref _lostByKind[kind], (long)lostByKind[kind]);
    }
}
