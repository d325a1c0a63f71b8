using System.Buffers.Binary;
using Forkline.Collector.Decoding;

namespace Forkline.Collector.Sources;

public enum CaptureReadResult
{
    Record,
    EndOfCapture,
    /// <summary>The file ends inside a record (the recorder was killed or the disk filled): the rest is lost.</summary>
    TruncatedTail,
    /// <summary>A length prefix no record can have: the framing is lost, so reading stops.</summary>
    CorruptLength,
    /// <summary>A record (or its length) differs from what was written: the file changed on disk, so reading stops.</summary>
    ChecksumMismatch,
}

/// <summary>Reads the records of a capture file one by one into a reused buffer.</summary>
public sealed class CaptureReader : IDisposable
{
    private readonly Stream _input;
    private readonly string _source;
    private readonly bool _checksummed;
    private byte[] _buffer = new byte[RecordEncoder.MaxRecordSize];

    private CaptureReader(Stream input, string source)
    {
        _input = input;
        _source = source;
        Header = CaptureHeader.ReadFrom(input, source);
        _checksummed = Header.Format != CaptureHeader.UncheckedFormatVersion;
    }

    public static CaptureReader Open(string path) =>
        Open(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16), path);

    /// <summary>Reads the header now; the reader owns <paramref name="input"/>.</summary>
    public static CaptureReader Open(Stream input, string source)
    {
        try
        {
            return new CaptureReader(input, source);
        }
        catch
        {
            input.Dispose();
            throw;
        }
    }

    public CaptureHeader Header { get; }

    public long RecordsRead { get; private set; }

    /// <summary>Where the record last returned starts in the file (its length prefix); -1 when the input cannot tell.</summary>
    public long LastRecordOffset { get; private set; } = -1;

    /// <summary>Describes the last non-record result (offset, sizes), for the report line.</summary>
    public string LastProblem { get; private set; } = "";

    /// <summary>The next record; <paramref name="record"/> is valid until the next call.</summary>
    public CaptureReadResult TryRead(out ReadOnlySpan<byte> record)
    {
        record = default;
        var offset = _input.CanSeek ? _input.Position : -1;
        Span<byte> prefix = stackalloc byte[CaptureHeader.RecordPrefixBytes];
        if (!_checksummed) prefix = prefix[..sizeof(uint)];
        var prefixRead = _input.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false);
        if (prefixRead == 0) return CaptureReadResult.EndOfCapture;
        if (prefixRead < prefix.Length)
            return Problem(CaptureReadResult.TruncatedTail, $"{_source} ends inside the prefix (length, checksum) of record {RecordsRead + 1} at offset {offset}");

        var length = BinaryPrimitives.ReadUInt32LittleEndian(prefix);
        if (length > CaptureHeader.MaxRecordLength)
            return Problem(CaptureReadResult.CorruptLength, $"{_source}: record {RecordsRead + 1} at offset {offset} declares {length} bytes (limit {CaptureHeader.MaxRecordLength}); the file is corrupt from here on");
        if (length > _buffer.Length) _buffer = new byte[length];

        var read = _input.ReadAtLeast(_buffer.AsSpan(0, (int)length), (int)length, throwOnEndOfStream: false);
        if (read < length)
            return Problem(CaptureReadResult.TruncatedTail, $"{_source} ends inside record {RecordsRead + 1} at offset {offset}: {read} of its {length} bytes are present");
        if (_checksummed
            && BinaryPrimitives.ReadUInt32LittleEndian(prefix[sizeof(uint)..]) != Crc32C.Of(prefix[..sizeof(uint)], _buffer.AsSpan(0, (int)length)))
            return Problem(CaptureReadResult.ChecksumMismatch, $"{_source}: record {RecordsRead + 1} at offset {offset} ({length} bytes) does not match its checksum: the file changed after it was written and is not read further");
        RecordsRead++;
        LastRecordOffset = offset;
        record = _buffer.AsSpan(0, (int)length);
        return CaptureReadResult.Record;
    }

    public void Dispose() => _input.Dispose();

    private CaptureReadResult Problem(CaptureReadResult result, string description)
    {
        LastProblem = description;
        return result;
    }
}
