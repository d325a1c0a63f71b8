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

    /// <summary>
    /// The environment variable glibc reads its arena limit from, once, when the process starts: a node sets it by starting
    /// itself again (<see cref="NodeRestart"/>). <see cref="LimitArenas"/> comes too late on its own: by the time Main runs,
    /// the runtime's threads (the finalizer, the diagnostics server and others) have each made an arena, which mallopt
    /// leaves in place; `bench figures Soak` found six arenas holding 50 MB after the churn (RSS 1.27x of after the
    /// warm-up); with two, 14 MB sat in the one beside the main heap.
    /// </summary>
    public const string ArenaMaxVariable = "MALLOC_ARENA_MAX";

    /// <summary>True when the C library is glibc: the arena limit and the trim exist only there.</summary>
    public static bool IsGlibc()
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

    /// <summary>Limits the arenas from now on: the fallback when the node could not start again with <see cref="ArenaMaxVariable"/>.</summary>
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

    [LibraryImport("libc", EntryPoint = "gnu_get_libc_version")]
    private static partial nint GnuLibcVersion();

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int option, int value);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
