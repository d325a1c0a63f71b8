namespace Forkline.Collector.Decoding;

/// <summary>Why a record was rejected.</summary>
public enum DecodeError
{
    None = 0,
    /// <summary>Fewer bytes than the record needs: shorter than the header, than its declared size, or than its kind's layout.</summary>
    Truncated,
    UnknownKind,
    UnsupportedVersion,
    /// <summary>The header's size disagrees with the bytes delivered (more bytes than declared, or a size no record can have).</summary>
    SizeMismatch,
    /// <summary>A hook record names a hook id the loaded policy does not have.</summary>
    UnknownHook,
    /// <summary>An exec record declares a filename, args or cwd length beyond its buffer.</summary>
    StringLengthOutOfRange,
    UnknownHookPhase,
    /// <summary>A capture's record does not match the checksum written with it (a replay only).</summary>
    ChecksumMismatch,
}

/// <summary>
/// Counts of decoded and rejected records. Written only by the single reader thread that owns the
/// decoder (plain increments published with Volatile.Write), read by metrics from any thread.
/// </summary>
public sealed class DecodeCounters
{
    private static readonly int ErrorCount = Enum.GetValues<DecodeError>().Length;

    private readonly long[] _rejected = new long[ErrorCount];
    private long _decoded;

    public long Decoded => Volatile.Read(ref _decoded);

    public long Get(DecodeError error) =>
        (uint)error < (uint)_rejected.Length ? Volatile.Read(ref _rejected[(int)error]) : 0;

    public long TotalRejected
    {
        get
        {
            long total = 0;
            for (var i = 0; i < _rejected.Length; i++)
                total += Volatile.Read(ref _rejected[i]);
            return total;
        }
    }

    internal void CountDecoded() => Volatile.Write(ref _decoded, _decoded + 1);

    internal void CountRejected(DecodeError error) =>
        Volatile.Write(ref _rejected[(int)error], _rejected[(int)error] + 1);
}
