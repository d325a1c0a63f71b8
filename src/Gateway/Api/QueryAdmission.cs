using System.Diagnostics;
using System.Threading.RateLimiting;
using Akka.Actor;
using Forkline.Gateway.Queries;

namespace Forkline.Gateway.Api;

/// <summary>
/// How much a query may cost. <see cref="Bulk"/> queries ask for replies of up to 10,000 processes
/// (a large page, many generations of descendants); they have a lane of their own, so that many of
/// them queue behind each other and not in front of the small queries.
/// </summary>
public enum QueryWeight
{
    Small,
    Bulk,
}

/// <summary>How much query work the API takes on at once, and for how long: the Api:Limits section (deploy/config/README.md).</summary>
public sealed record QueryLimits
{
    /// <summary>Small queries running at once; each can hold a host's live tree and a history result in memory.</summary>
    public int Concurrent { get; init; } = 8;

    /// <summary>
    /// Small queries waiting for a slot, newest first; when they are this many, a new query takes the place of the
    /// one that waited longest, which is refused with 429 / RESOURCE_EXHAUSTED (<see cref="QueryAdmission"/>).
    /// </summary>
    public int Queued { get; init; } = 64;

    /// <summary>Bulk queries (<see cref="QueryWeight.Bulk"/>) running at once, besides the small ones.</summary>
    public int BulkConcurrent { get; init; } = 2;

    /// <summary>Bulk queries waiting for a slot, as <see cref="Queued"/>.</summary>
    public int BulkQueued { get; init; } = 16;

    /// <summary>
    /// How long a query waits for a slot; a query still waiting then is refused with 429 /
    /// RESOURCE_EXHAUSTED (the gateway is busy with others' queries, which is no fault of this one).
    /// </summary>
    public TimeSpan QueueWait { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a small query waits for a slot while the gateway is overloaded: when the small queries' queue has not
    /// been empty for this long, a query that waited longer when a slot frees, or that waits this long, is refused with
    /// 429 / RESOURCE_EXHAUSTED (<see cref="QueryAdmission"/>). <see cref="QueueWait"/> or more: no shorter wait under overload.
    /// </summary>
    public TimeSpan OverloadQueueWait { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>A query's own time once it runs; beyond it 503 / UNAVAILABLE.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>What Retry-After (HTTP) and grpc-retry-pushback-ms (gRPC) tell a refused caller.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Events a live stream may fall behind its subscriber's reading; beyond them events are dropped for that
    /// subscriber only, counted, and its stream says how many it missed.
    /// </summary>
    public int StreamBacklog { get; init; } = SubscriberQueue.DefaultCapacity;

    /// <summary>
    /// Bytes of events (their encoded size) a live stream may fall behind, as <see cref="StreamBacklog"/>: what bounds the
    /// memory a stalled stream holds when events are large (long argument lists).
    /// </summary>
    public long StreamBacklogBytes { get; init; } = SubscriberQueue.DefaultMaxBytes;

    public void Validate()
    {
        if (Concurrent < 1) throw new SettingOutOfRangeException(nameof(Concurrent), Concurrent, "1 or more queries");
        if (Queued < 0) throw new SettingOutOfRangeException(nameof(Queued), Queued, "0 or more queries (0 = refuse when all slots are busy)");
        if (BulkConcurrent < 1) throw new SettingOutOfRangeException(nameof(BulkConcurrent), BulkConcurrent, "1 or more queries");
        if (BulkQueued < 0) throw new SettingOutOfRangeException(nameof(BulkQueued), BulkQueued, "0 or more queries (0 = refuse when all slots are busy)");
        if (QueueWait < TimeSpan.Zero) throw new SettingOutOfRangeException(nameof(QueueWait), QueueWait, "00:00:00 or more (00:00:00 = refuse unless a slot is free)");
        if (OverloadQueueWait < TimeSpan.Zero)
            throw new SettingOutOfRangeException(nameof(OverloadQueueWait), OverloadQueueWait, "00:00:00 or more (QueueWait or more = no shorter wait under overload)");
        if (Deadline <= TimeSpan.Zero) throw new SettingOutOfRangeException(nameof(Deadline), Deadline, "a duration above 00:00:00");
        if (RetryAfter < TimeSpan.FromSeconds(1))
            throw new SettingOutOfRangeException(nameof(RetryAfter), RetryAfter, "00:00:01 or more (HTTP's Retry-After counts whole seconds)");
        if (StreamBacklog < 1) throw new SettingOutOfRangeException(nameof(StreamBacklog), StreamBacklog, "1 or more events");
        if (StreamBacklogBytes < 1) throw new SettingOutOfRangeException(nameof(StreamBacklogBytes), StreamBacklogBytes, "1 or more bytes");
    }
}

/// <summary>
/// Admits the API's unary queries under <see cref="QueryLimits"/>: per weight, a bounded number run and
/// a bounded number wait for a bounded time; a running query has a deadline. Refusals and
/// timeouts are the caller's answer (429 / RESOURCE_EXHAUSTED when the gateway is too busy to start the
/// query, 503 / UNAVAILABLE when the query itself did not finish, both with a retry hint), never an
/// internal error.
/// </summary>
/// <remarks>
/// <para>
/// A freed slot goes to the query that waited least (newest first), and a full queue gives way at its oldest
/// end. Served oldest first, a lane kept full by more clients than it holds makes every query it admits wait
/// for all those queued ahead of it: with 64 queued behind 8 running, up to the whole queue wait (a second)
/// before it even starts (the light lineage's p99 under the API benchmark's 200 clients was 2.1 s, that
/// second plus the query).
/// </para>
/// <para>
/// Newest first alone leaves a long tail: with the queue full, a query is pushed down by each newer arrival and
/// moves up with each freed slot, and a few wander for most of the second before a slot or the queue wait ends
/// their wait (p50 35 ms, p99 656 ms in the same benchmark). So the small lane also bounds the wait by how
/// loaded it is, as CoDel does for packets and "adaptive LIFO" in Facebook's "Fail at Scale" (ACM Queue, 2015):
/// once its queue has not been empty for <see cref="QueryLimits.OverloadQueueWait"/>, that is how long a query may
/// wait; one that waited longer is refused when a slot frees instead of started. A short burst (the queue empties
/// again) still waits up to <see cref="QueryLimits.QueueWait"/>. Bulk queries run for seconds each, so their lane
/// keeps the one queue wait.
/// </para>
/// </remarks>
public sealed class QueryAdmission(QueryLimits limits) : IDisposable
{
    private readonly AdmissionLane _small = new(limits.Concurrent, limits.Queued, limits.OverloadQueueWait < limits.QueueWait ? limits.OverloadQueueWait : limits.QueueWait);
    private readonly AdmissionLane _bulk = new(limits.BulkConcurrent, limits.BulkQueued, limits.QueueWait);

    public QueryLimits Limits => limits;

    /// <summary>Queries waiting for a slot now, in both lanes.</summary>
    public long Waiting => _small.Waiting + _bulk.Waiting;

    public async Task<T> RunAsync<T>(string operation, QueryWeight weight, Func<CancellationToken, Task<T>> query, CancellationToken ct)
    {
        using var slot = await AcquireAsync(operation, weight, ct);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(limits.Deadline);
        try
        {
            return await query(deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw Unavailable($"{operation} did not finish within its deadline of {limits.Deadline.TotalSeconds:0.#} s (the gateway is busy or a host entity is slow to answer)");
        }
        catch (Exception e) when (e is TimeoutException or AskTimeoutException)
        {
            throw Unavailable($"{operation} could not be answered: {e.Message}");
        }
    }

    private async Task<RateLimitLease> AcquireAsync(string operation, QueryWeight weight, CancellationToken ct)
    {
        var (lane, running, queued) = weight == QueryWeight.Bulk
            ? (_bulk, limits.BulkConcurrent, limits.BulkQueued)
            : (_small, limits.Concurrent, limits.Queued);
        var kind = weight == QueryWeight.Bulk ? "bulk " : "";
        var arrived = Stopwatch.GetTimestamp();
        var patience = lane.Overloaded(arrived) ? lane.OverloadWait : limits.QueueWait;
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(patience);
        RateLimitLease slot;
        try
        {
            slot = await lane.AcquireAsync(wait.Token);
        }
        catch (OperationCanceledException) when (wait.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw Busy($"{operation} refused: it waited {patience.TotalSeconds:0.###} s behind {running} running {kind}queries without getting a slot");
        }
        if (!slot.IsAcquired)
        {
            slot.Dispose();
            throw Busy($"{operation} refused: the gateway is already running {running} {kind}queries with {queued} waiting, newer ones first");
        }
        var waited = Stopwatch.GetElapsedTime(arrived);
        if (waited <= lane.OverloadWait || !lane.Overloaded(Stopwatch.GetTimestamp())) return slot;
        // Handed on: the slot goes to the next newest query waiting.
        slot.Dispose();
        throw Busy($"{operation} refused: it waited {waited.TotalSeconds:0.###} s for a slot while the gateway was overloaded " +
                   $"(its queue not empty for {lane.OverloadWait.TotalSeconds:0.###} s), longer than an answer is worth then");
    }

    private ApiRequestException Busy(string message) =>
        new(ApiErrorCode.ResourceExhausted, $"{message}; retry in {limits.RetryAfter.TotalSeconds:0.#} s");

    private ApiRequestException Unavailable(string message) =>
        new(ApiErrorCode.Unavailable, $"{message}; retry in {limits.RetryAfter.TotalSeconds:0.#} s");

    public void Dispose()
    {
        _small.Dispose();
        _bulk.Dispose();
    }
}

/// <summary>
/// One lane of <see cref="QueryAdmission"/>: its limiter (newest first), and since when its queue has not been
/// empty, which tells whether it is overloaded (<see cref="QueryLimits.OverloadQueueWait"/>).
/// </summary>
internal sealed class AdmissionLane(int running, int queued, TimeSpan overloadWait) : IDisposable
{
    private readonly ConcurrencyLimiter _limiter = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = running,
        QueueLimit = queued,
        QueueProcessingOrder = QueueProcessingOrder.NewestFirst,
    });

    private long _lastEmpty = Stopwatch.GetTimestamp();

    public TimeSpan OverloadWait => overloadWait;

    public long Waiting => _limiter.GetStatistics()?.CurrentQueuedCount ?? 0;

    /// <summary>Whether the queue has not been empty for <see cref="OverloadWait"/> (looked at as queries arrive and get slots).</summary>
    public bool Overloaded(long now)
    {
        if (Waiting == 0) Volatile.Write(ref _lastEmpty, now);
        return Stopwatch.GetElapsedTime(Volatile.Read(ref _lastEmpty), now) >= overloadWait;
    }

    public async Task<RateLimitLease> AcquireAsync(CancellationToken ct)
    {
        var slot = await _limiter.AcquireAsync(1, ct);
        if (Waiting == 0) Volatile.Write(ref _lastEmpty, Stopwatch.GetTimestamp());
        return slot;
    }

    public void Dispose() => _limiter.Dispose();
}
