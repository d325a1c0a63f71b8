using System.Runtime.InteropServices;

namespace Forkline.Hosting;

/// <summary>
/// glibc's malloc as a node wants it. SQLite (page caches and statements), libbpf, EventPipe and the runtime itself
/// allocate with it, and it keeps what they free in arenas: one per thread that allocated, up to 8 per core, each
/// returning memory only from its top. In `bench figures Soak`'s driver (20,000 processes held, then a churn) the
/// arenas kept 40 MB of free fragments after the churn, against 28 MB of all anonymous memory with two arenas.
/// Without glibc (musl) neither call exists, and there is nothing to tune: both report false.
/// </summary>
public static partial class NativeHeap
{
    /// <summary>mallopt's M_ARENA_MAX.</summary>
    private const int ArenaMaxOption = -8;

    /// <summary>
    /// Arenas at most: few threads of a node allocate from the C heap at once (SQLite's writers and readers take
    /// turns on its own locks anyway), so two cost no measurable contention and keep the fragments in two places.
    /// </summary>
    public const int Arenas = 2;

    /// <summary>The environment variable glibc reads its arena limit from, once, when the process starts.</summary>
    public const string ArenaMaxVariable = "MALLOC_ARENA_MAX";

    /// <summary>
    /// Starts this process again, in place (execve: same pid, arguments and open standard streams), with
    /// <see cref="ArenaMaxVariable"/>=<see cref="Arenas"/> in its environment, unless it is set already (an operator's
    /// own value stands) or the C library is not glibc. <see cref="LimitArenas"/> comes too late on its own: by the
    /// time Main runs, the runtime's threads (finalizer, tiering, diagnostics) have each made an arena, which mallopt
    /// leaves in place; `bench figures Soak` found six arenas holding 50 MB after the churn (RSS 1.27x of after the
    /// warm-up); with two, 14 MB sat in the one beside the main heap.
    /// Returns only when no restart was needed or it failed (then with the reason, for one line on stderr).
    /// </summary>
    public static string? RestartWithArenaLimit()
    {
        if (Environment.GetEnvironmentVariable(ArenaMaxVariable) is not null || !IsGlibc()) return null;
        // The runtime listens for diagnostics (dotnet-counters, dotnet-trace) on a socket named by pid and start time, both
        // kept across execve: the file stays behind, and the next runtime, finding it, would listen on none.
        try
        {
            foreach (var socket in Directory.EnumerateFiles(Path.GetTempPath(), $"dotnet-diagnostic-{Environment.ProcessId}-*-socket"))
                File.Delete(socket);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"did not start again with {ArenaMaxVariable}={Arenas}: its diagnostics socket could not be removed ({e.Message}); the C heap may keep an arena per thread";
        }
        var arguments = NullSeparated(File.ReadAllBytes("/proc/self/cmdline"));
        var environment = NullSeparated(File.ReadAllBytes("/proc/self/environ"));
        environment.Add(System.Text.Encoding.ASCII.GetBytes($"{ArenaMaxVariable}={Arenas}"));
        var argv = ToNative(arguments);
        var envp = ToNative(environment);
        Execve("/proc/self/exe", argv, envp);
        var error = Marshal.GetLastPInvokeErrorMessage();
        foreach (var pointer in argv) Marshal.FreeHGlobal(pointer);
        foreach (var pointer in envp) Marshal.FreeHGlobal(pointer);
        return $"could not start again with {ArenaMaxVariable}={Arenas} ({error}): the C heap may keep an arena per thread";
    }

    private static List<byte[]> NullSeparated(byte[] block)
    {
        var items = new List<byte[]>();
        var start = 0;
        for (var i = 0; i < block.Length; i++)
        {
            if (block[i] != 0) continue;
            items.Add(block[start..i]);
            start = i + 1;
        }
        if (start < block.Length) items.Add(block[start..]);
        return items;
    }

    /// <summary>NUL-terminated copies, and the NULL that ends the array.</summary>
    private static nint[] ToNative(List<byte[]> items)
    {
        var pointers = new nint[items.Count + 1];
        for (var i = 0; i < items.Count; i++)
        {
            pointers[i] = Marshal.AllocHGlobal(items[i].Length + 1);
            Marshal.Copy(items[i], 0, pointers[i], items[i].Length);
            Marshal.WriteByte(pointers[i], items[i].Length, 0);
        }
        return pointers;
    }

    private static bool IsGlibc()
    {
        try
        {
            return GnuLibcVersion() != 0;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Limits the arenas from now on: the fallback when <see cref="RestartWithArenaLimit"/> could not restart.</summary>
    public static bool LimitArenas()
    {
        try
        {
            return Mallopt(ArenaMaxOption, Arenas) == 1;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Returns the whole free pages of every arena to the system.</summary>
    public static bool Trim()
    {
        try
        {
            MallocTrim(0);
            return true;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "execve", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Execve(string path, nint[] argv, nint[] envp);

    [LibraryImport("libc", EntryPoint = "gnu_get_libc_version")]
    private static partial nint GnuLibcVersion();

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int option, int value);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
