using System.Diagnostics;

namespace Forkline.Gateway.Tests.Support;

/// <summary>
/// A real tmpfs of a fixed size (mount -t tmpfs -o size=...), for a data directory that fills up;
/// unmounted when disposed. Needs root (see <see cref="RootFactAttribute"/>).
/// </summary>
public sealed class Tmpfs : IDisposable
{
    private const string FillerName = "filler";

    private Tmpfs(string path) => Path = path;

    public string Path { get; }

    public static Tmpfs Mount(long sizeBytes)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "forkline-tmpfs-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        // huge=never: a file's huge page would leave it room to grow on a file system already full.
        Run("mount", "-t", "tmpfs", "-o", $"size={sizeBytes},huge=never", "tmpfs", path);
        return new Tmpfs(path);
    }

    /// <summary>Writes a file until the file system has no byte left.</summary>
    public void Fill()
    {
        var chunk = new byte[4096];
        using var filler = new FileStream(System.IO.Path.Combine(Path, FillerName), FileMode.Append, FileAccess.Write, FileShare.None, 1, FileOptions.WriteThrough);
        try
        {
            while (true) filler.Write(chunk);
        }
        catch (IOException e) when (e.Message.Contains("No space left", StringComparison.Ordinal))
        {
        }
    }

    /// <summary>The space <see cref="Fill"/> took is free again.</summary>
    public void Free() => File.Delete(System.IO.Path.Combine(Path, FillerName));

    public void Dispose()
    {
        // Lazy: a pooled SQLite connection of the node may still hold a file open for a moment.
        Run("umount", "--lazy", Path);
        Directory.Delete(Path);
    }

    private static void Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {error.Trim()}");
    }
}

/// <summary>A fact that mounts file systems: skipped, with the reason, unless the tests run as root.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (Environment.UserName != "root") Skip = "needs root: mounts a tmpfs";
    }
}
