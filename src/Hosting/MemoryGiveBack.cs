using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forkline.Hosting;

/// <summary>
/// Gives back to the system what a burst took, once it is over. Two heaps keep it otherwise:
/// <list type="bullet">
/// <item>The C heap (<see cref="NativeHeap"/>): malloc_trim(0) returns the whole free pages of every arena, every
/// <see cref="TrimEvery"/> while the node works (allocated <see cref="ActivityBytes"/> since the last look), and with
/// each give-back of the managed heap.</item>
/// <item>The managed heap. The GC keeps the regions a burst made it commit (150-190 MB for an 11-14 MB live heap after
/// the soak released 20,000 processes at once) and decommits them only a little per later collection, of which a
/// quiet node runs hardly any. When the GC holds more than the heap plus <see cref="SlackBytes"/>, and no
/// burst is under way (it allocated less than <see cref="BurstBytes"/> since the last look, every <see cref="Interval"/>:
/// a burst would only commit it again), one aggressive collection (compacting, and decommitting what it frees) hands
/// it back: at most every <see cref="GiveBackEvery"/>, some milliseconds of one thread for a heap of tens of MB.</item>
/// </list>
/// </summary>
public sealed class MemoryGiveBack(ILogger<MemoryGiveBack> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan TrimEvery = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan GiveBackEvery = TimeSpan.FromMinutes(1);
    private const long ActivityBytes = 4 << 20;
    private const long BurstBytes = 64 << 20;
    /// <summary>
    /// Below what the GC may keep committed beside a small heap after a churn (one soak run: a 23 MB region mapping for a
    /// 10 MB heap, RSS 1.20x of after the warm-up). At twice the heap plus 64 MB that never counted; at this line the soak
    /// holding 20,000 processes kept 321 MB of RSS instead of 437-464 MB. A node working at a steady trickle may cross it
    /// too: one aggressive collection a minute at most, milliseconds for its heap.
    /// </summary>
    private const long SlackBytes = 16 << 20;

    private bool _nativeTrim = true;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        var allocatedBefore = GC.GetTotalAllocatedBytes();
        var sinceTrim = Stopwatch.StartNew();
        var nextGiveBackAllowed = 0L;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var allocated = GC.GetTotalAllocatedBytes();
            var sinceLastLook = allocated - allocatedBefore;
            allocatedBefore = allocated;
            // As of the last collection: right after a give-back the GC holds little more than the heap, so it does not repeat.
            var heap = GC.GetGCMemoryInfo();
            if (sinceLastLook < BurstBytes && Environment.TickCount64 >= nextGiveBackAllowed && heap.TotalCommittedBytes > heap.HeapSizeBytes + SlackBytes)
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                nextGiveBackAllowed = Environment.TickCount64 + (long)GiveBackEvery.TotalMilliseconds;
            }
            else if (sinceLastLook < ActivityBytes || sinceTrim.Elapsed < TrimEvery) continue;
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
