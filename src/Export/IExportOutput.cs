namespace Forkline.Export;

/// <summary>Where exported lines go. Called by the sink's one writer task only.</summary>
public interface IExportOutput : IDisposable
{
    /// <summary>Writes one complete line ('\n' included); may buffer.</summary>
    void WriteLine(ReadOnlySpan<byte> line);

    /// <summary>Pushes buffered lines out; the sink calls it whenever its queue runs empty.</summary>
    void Flush();
}

/// <summary>Lines to a stream, buffered (stdout: <c>new StreamExportOutput(Console.OpenStandardOutput())</c>).</summary>
public sealed class StreamExportOutput(Stream stream, bool leaveOpen = false) : IExportOutput
{
    private const int BufferBytes = 64 * 1024;

    private readonly BufferedStream _buffered = new(stream, BufferBytes);

    public void WriteLine(ReadOnlySpan<byte> line) => _buffered.Write(line);

    public void Flush() => _buffered.Flush();

    public void Dispose()
    {
        _buffered.Flush();
        if (!leaveOpen) stream.Dispose();
    }
}
