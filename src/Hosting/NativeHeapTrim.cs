using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forkline.Hosting;

/// <summary>
/// Gives the C heap's free pages back to the system after a burst. SQLite (page caches and statements: 16 MB at
/// the height of a 20,000-process soak, 3 MB in use after it), EventPipe sessions and the runtime itself allocate
/// with glibc's malloc, which keeps what they free in its arenas (one per thread that allocated, up to 8 per
/// core) and returns it only from the top of each. In `bench figures Soak` the arenas grew by 47 MB over the
/// churn and kept it, while the managed heap gave its own memory back. Every <see cref="Interval"/>, if the node
/// did work since the last time (it allocated <see cref="ActivityBytes"/> or more), malloc_trim(0) returns the
/// whole free pages of every arena; an idle node skips it. Without glibc (musl) there is nothing to call: it stops.
/// </summary>
public sealed partial class NativeHeapTrim(ILogger<NativeHeapTrim> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    private const long ActivityBytes = 4 << 20;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        var allocatedAtLastTrim = GC.GetTotalAllocatedBytes();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var allocated = GC.GetTotalAllocatedBytes();
                if (allocated - allocatedAtLastTrim < ActivityBytes) continue;
                allocatedAtLastTrim = allocated;
                MallocTrim(0);
            }
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            logger.LogDebug("no glibc malloc_trim ({Reason}): the C heap's free pages stay with the process", e.Message);
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
