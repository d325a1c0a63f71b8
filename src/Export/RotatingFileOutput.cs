namespace Forkline.Export;

/// <summary>
/// Lines appended to a file that is rotated by size: when the next line would take the file past
/// <c>maxBytes</c>, file is renamed file.1, file.1 becomes file.2 and so on; the oldest beyond
/// <c>keepFiles</c> is deleted. Lines are never split, so a file exceeds maxBytes only when a
/// single line is longer than maxBytes. An existing file is appended to and counts toward the size.
/// </summary>
public sealed class RotatingFileOutput : IExportOutput
{
    private const int BufferBytes = 64 * 1024;

    private readonly string _path;
    private readonly long _maxBytes;
    private readonly int _keepFiles;
    private FileStream _file;
    private long _size;

    /// <param name="path">The active file.</param>
    /// <param name="maxBytes">Size at which the file is rotated; at least 1.</param>
    /// <param name="keepFiles">Rotated files to keep (file.1 .. file.N); 0 keeps none.</param>
    /// <exception cref="IOException">The file cannot be opened; the message names it and the fix.</exception>
    public RotatingFileOutput(string path, long maxBytes, int keepFiles)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (maxBytes < 1)
            throw new ArgumentOutOfRangeException(nameof(maxBytes), maxBytes, $"export file {path}: the rotation size must be at least 1 byte");
        if (keepFiles < 0)
            throw new ArgumentOutOfRangeException(nameof(keepFiles), keepFiles, $"export file {path}: the number of rotated files to keep cannot be negative");
        _path = Path.GetFullPath(path);
        _maxBytes = maxBytes;
        _keepFiles = keepFiles;
        _file = Open(FileMode.Append);
        _size = _file.Length;
    }

    public string FilePath => _path;

    public void WriteLine(ReadOnlySpan<byte> line)
    {
        if (_size > 0 && _size + line.Length > _maxBytes) Rotate();
        _file.Write(line);
        _size += line.Length;
    }

    public void Flush() => _file.Flush();

    public void Dispose() => _file.Dispose();

    // The file is reopened even when shifting fails, so once the obstacle is gone writing goes on.
    private void Rotate()
    {
        _file.Dispose();
        try
        {
            ShiftRotatedFiles();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException(
                $"cannot rotate export file {_path} into {_path}.1 .. .{_keepFiles}: {e.Message} — make sure those paths are files the forkline user may rename and delete",
                e);
        }
        finally
        {
            _file = Open(FileMode.Append);
            _size = _file.Length;
        }
    }

    private void ShiftRotatedFiles()
    {
        if (_keepFiles == 0)
        {
            File.Delete(_path);
            return;
        }
        File.Delete(Rotated(_keepFiles));
        for (var index = _keepFiles - 1; index >= 1; index--)
        {
            if (File.Exists(Rotated(index))) File.Move(Rotated(index), Rotated(index + 1));
        }
        File.Move(_path, Rotated(1));
    }

    private string Rotated(int index) => $"{_path}.{index}";

    private FileStream Open(FileMode mode)
    {
        try
        {
            var directory = Path.GetDirectoryName(_path);
            if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
            return new FileStream(_path, mode, FileAccess.Write, FileShare.Read, BufferBytes);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"cannot open export file {_path}: {e.Message} — choose a path the forkline user may write", e);
        }
        catch (IOException e)
        {
            throw new IOException($"cannot open export file {_path}: {e.Message} — check the path and free disk space", e);
        }
    }
}
