using System.Globalization;
using System.Text;

namespace Forkline.Hosting;

/// <summary>
/// Holds a node's data directory for itself: an exclusive lock on <c>forkline.lock</c> in it (flock,
/// through FileShare.None), released when disposed or when the process dies, even by kill -9. Two nodes
/// on one SQLite database would both write the same journal. The holder's pid goes to <c>forkline.pid</c>
/// beside it (.NET locks every file it opens, so the locked file itself cannot be read by another node).
/// </summary>
public sealed class DataDirectoryLock : IDisposable
{
    public const string FileName = "forkline.lock";
    public const string PidFileName = "forkline.pid";

    private readonly FileStream _file;

    private DataDirectoryLock(FileStream file) => _file = file;

    public string Path => _file.Name;

    /// <summary>Creates the directory when missing and takes its lock; one-line <see cref="InvalidOperationException"/> naming the fix otherwise.</summary>
    public static DataDirectoryLock Acquire(string directory)
    {
        var folder = System.IO.Path.GetFullPath(directory);
        var path = System.IO.Path.Combine(folder, FileName);
        FileStream file;
        try
        {
            Directory.CreateDirectory(folder);
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (File.Exists(path) && !IsReadOnlyFileSystem(e))
        {
            throw new InvalidOperationException(
                $"the data directory {folder} is in use by another forkline node{Holder(folder)} (lock {path}); stop that one, or give this one another data directory (--data)", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"the data directory {folder} cannot be written ({e.Message}); give a writable folder (--data) or fix its permissions", e);
        }
        try
        {
            File.WriteAllText(System.IO.Path.Combine(folder, PidFileName), Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n", Encoding.ASCII);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            file.Dispose();
            throw new InvalidOperationException($"the data directory {folder} cannot be written ({e.Message}); free space in it or give another folder (--data)", e);
        }
        return new DataDirectoryLock(file);
    }

    public void Dispose() => _file.Dispose();

    // EROFS: the open fails the same way whether or not another node holds the file.
    private static bool IsReadOnlyFileSystem(IOException e) => e.Message.Contains("Read-only file system", StringComparison.Ordinal);

    /// <summary>The pid the holder wrote after it took the lock.</summary>
    private static string Holder(string folder)
    {
        try
        {
            var text = File.ReadAllText(System.IO.Path.Combine(folder, PidFileName)).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? $" (pid {pid})" : "";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
