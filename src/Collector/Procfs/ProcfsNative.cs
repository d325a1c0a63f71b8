using System.Runtime.InteropServices;

namespace Forkline.Collector.Procfs;

/// <summary>libc calls the procfs reader needs to get raw bytes and errno values that .NET's file APIs hide.</summary>
internal static unsafe partial class ProcfsNative
{
    private const string Library = "libc";
    private const int ScClkTck = 2;
    public const int ENOENT = 2;
    public const int ESRCH = 3;

    /// <summary>USER_HZ: the unit of /proc/pid/stat times.</summary>
    public static long ClockTicksPerSecond()
    {
        var ticks = Sysconf(ScClkTck);
        return ticks > 0
            ? ticks
            : throw new InvalidOperationException($"sysconf(_SC_CLK_TCK) returned {ticks}: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>readlink(2) into <paramref name="target"/>; the byte count, or -errno.</summary>
    public static int ReadLink(string path, Span<byte> target)
    {
        fixed (byte* buffer = target)
        {
            var length = ReadLinkRaw(path, buffer, (nint)target.Length);
            return length >= 0 ? (int)length : -Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>The inode number of a path (stat(2) st_ino), or -errno.</summary>
    public static long InodeOf(string path)
    {
        // struct stat is 144 bytes on x86_64 and 128 on aarch64; st_ino follows the 8-byte st_dev on both.
        const int StatBufferSize = 256;
        const int InodeOffset = 8;
        var buffer = stackalloc byte[StatBufferSize];
        if (Stat(path, buffer) != 0) return -Marshal.GetLastPInvokeError();
        return (long)*(ulong*)(buffer + InodeOffset);
    }

    [LibraryImport(Library, EntryPoint = "sysconf", SetLastError = true)]
    private static partial long Sysconf(int name);

    [LibraryImport(Library, EntryPoint = "readlink", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint ReadLinkRaw(string path, byte* buffer, nint bufferSize);

    [LibraryImport(Library, EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Stat(string path, byte* statBuffer);
}
