namespace Forkline.ProcessActors.Process;

/// <summary>
/// Lets one caller through per interval and counts the rest. Shared by every actor of a pipeline, so it
/// uses compare-and-swap instead of a lock.
/// </summary>
internal sealed class RateLimiter(TimeSpan interval)
{
    private readonly long _intervalMs = (long)interval.TotalMilliseconds;
    private long _nextAllowedMs = long.MinValue;
    private long _suppressed;

    /// <summary>True when the caller may act now; then suppressed says how many were refused since the last one.</summary>
    public bool TryAcquire(out long suppressed)
    {
        var now = Environment.TickCount64;
        var nextAllowed = Volatile.Read(ref _nextAllowedMs);
        if (now < nextAllowed || Interlocked.CompareExchange(ref _nextAllowedMs, now + _intervalMs, nextAllowed) != nextAllowed)
        {
            Interlocked.Increment(ref _suppressed);
            suppressed = 0;
            return false;
        }
        suppressed = Interlocked.Exchange(ref _suppressed, 0);
        return true;
    }
}
