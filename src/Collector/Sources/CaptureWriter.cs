using System.Buffers.Binary;

namespace Forkline.Collector.Sources;

/// <summary>
/// Records raw ring-buffer records (procfs bootstrap records included) to a capture file that
/// <see cref="ReplayFileSource"/> plays back. Written from the reader thread: no allocation per record.
/// </summary>
public sealed class CaptureWriter : IDisposable
{
    private const int FileBufferSize = 1 << 16;

    private readonly Stream _output;
    private readonly bool _leaveOpen;

    public CaptureWriter(Stream output, CaptureHeader header, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(header);
        _output = output;
        _leaveOpen = leaveOpen;
        header.WriteTo(output);
    }

    /// <summary>Creates (or replaces) the file at <paramref name="path"/>.</summary>
    public static CaptureWriter Create(string path, CaptureHeader header) =>
        new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, FileBufferSize), header);

    public long RecordsWritten { get; private set; }

    /// <summary>
    /// Why the file could not be written (its disk full, an I/O error), or null. Set before the exception
    /// leaves <see cref="Write"/> or <see cref="Flush"/>, so the caller can tell it from other I/O failures.
    /// </summary>
    public IOException? Failure { get; private set; }

    public void Write(ReadOnlySpan<byte> record)
    {
        if (record.Length > CaptureHeader.MaxRecordLength)
            throw new ArgumentException(
                $"A record of {record.Length} bytes exceeds the capture limit of {CaptureHeader.MaxRecordLength}; ring-buffer records are never that large, so the caller framed it wrongly",
                nameof(record));
        Span<byte> prefix = stackalloc byte[CaptureHeader.RecordPrefixBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(prefix, (uint)record.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(prefix[sizeof(uint)..], Crc32C.Of(prefix[..sizeof(uint)], record));
        try
        {
            _output.Write(prefix);
            _output.Write(record);
        }
        catch (IOException e)
        {
            Failure = e;
            throw;
        }
        RecordsWritten++;
    }

    public void Flush()
    {
        try
        {
            _output.Flush();
        }
        catch (IOException e)
        {
            Failure = e;
            throw;
        }
    }

    public void Dispose()
    {
        if (Failure is null) Flush();
        if (_leaveOpen) return;
        try
        {
            _output.Dispose();
        }
        catch (IOException) when (Failure is not null)
        {
            // The stream retries its buffered tail on dispose and meets the same full disk; the failure was
            // already reported from Write or Flush; the file keeps what reached the disk, a replay reports a cut last record.
        }
    }
}
