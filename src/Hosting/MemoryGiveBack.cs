using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forkline.Hosting;

/// <summary>
/// Gives back to the system what a burst took, once it is over. Two heaps keep it otherwise:
/// <list type="bullet">
/// <item>The C heap (<see cref="NativeHeap"/>): malloc_trim(0) returns the whole free pages of every arena, every
/// <see cref="TrimEvery"/> while the node works and once when a burst is over.</item>
/// <item>The managed heap. The GC keeps the regions a burst made it commit (150-190 MB for an 11-14 MB live heap after
/// the soak released 20,000 processes at once) and decommits them only a little per later collection, of which a
/// quiet node runs hardly any. At the first quiet look after a burst, if the GC holds more than twice the live heap
/// plus <see cref="SlackBytes"/>, one aggressive collection (compacting, and decommitting what it frees) hands it
/// back: once per burst, never on a node that is busy (it would only commit it again) or was idle all along.</item>
/// </list>
/// A node that allocated less than <see cref="ActivityBytes"/> since the last look (every <see cref="Interval"/>) is quiet.
/// </summary>
public sealed class MemoryGiveBack(ILogger<MemoryGiveBack> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan TrimEvery = TimeSpan.FromSeconds(30);
    private const long ActivityBytes = 4 << 20;
    private const long SlackBytes = 64 << 20;

    private bool _nativeTrim = true;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        var allocatedBefore = GC.GetTotalAllocatedBytes();
        var sinceTrim = Stopwatch.StartNew();
        var burstNotGivenBack = false;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var allocated = GC.GetTotalAllocatedBytes();
            var busy = allocated - allocatedBefore >= ActivityBytes;
            allocatedBefore = allocated;
            if (busy)
            {
                burstNotGivenBack = true;
                if (sinceTrim.Elapsed < TrimEvery) continue;
            }
            else if (burstNotGivenBack)
            {
                burstNotGivenBack = false;
                var heap = GC.GetGCMemoryInfo();
                if (heap.TotalCommittedBytes > 2 * heap.HeapSizeBytes + SlackBytes)
                    GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            }
            else continue;
            TrimNativeHeap();
            sinceTrim.Restart();
        }
    }

    private void TrimNativeHeap()
    {
        if (!_nativeTrim || NativeHeap.Trim()) return;
        _nativeTrim = false;
        logger.LogDebug("no glibc malloc_trim: the C heap's free pages stay with the process");
    }
}
