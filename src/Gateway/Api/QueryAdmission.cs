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

    /// <summary>A query's own time once it runs; beyond it 503 / UNAVAILABLE.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>What Retry-After (HTTP) and grpc-retry-pushback-ms (gRPC) tell a refused caller.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Events a live stream may fall behind its subscriber's reading; beyond them events are dropped for that
    /// subscriber only, counted, and its stream says how many it missed.
    /// </summary>
    public int StreamBacklog { get; init; } = SubscriberQueue.DefaultCapacity;

    public void Validate()
    {
        if (Concurrent < 1) throw new SettingOutOfRangeException(nameof(Concurrent), Concurrent, "1 or more queries");
        if (Queued < 0) throw new SettingOutOfRangeException(nameof(Queued), Queued, "0 or more queries (0 = refuse when all slots are busy)");
        if (BulkConcurrent < 1) throw new SettingOutOfRangeException(nameof(BulkConcurrent), BulkConcurrent, "1 or more queries");
        if (BulkQueued < 0) throw new SettingOutOfRangeException(nameof(BulkQueued), BulkQueued, "0 or more queries (0 = refuse when all slots are busy)");
        if (QueueWait < TimeSpan.Zero) throw new SettingOutOfRangeException(nameof(QueueWait), QueueWait, "00:00:00 or more (00:00:00 = refuse unless a slot is free)");
        if (Deadline <= TimeSpan.Zero) throw new SettingOutOfRangeException(nameof(Deadline), Deadline, "a duration above 00:00:00");
        if (RetryAfter < TimeSpan.FromSeconds(1))
            throw new SettingOutOfRangeException(nameof(RetryAfter), RetryAfter, "00:00:01 or more (HTTP's Retry-After counts whole seconds)");
        if (StreamBacklog < 1) throw new SettingOutOfRangeException(nameof(StreamBacklog), StreamBacklog, "1 or more events");
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
/// A freed slot goes to the query that waited least (newest first), and a full queue gives way at its oldest
/// end. Served oldest first, a lane kept full by more clients than it holds makes every query it admits wait
/// for all those queued ahead of it: with 64 queued behind 8 running, up to the whole queue wait (a second)
/// before it even starts (the light lineage's p99 under the API benchmark's 200 clients was 2.1 s, that
/// second plus the query). Newest first, the queries that run waited about one query's time or less, and
/// those that waited long get their 429 and Retry-After instead of an answer that comes too late to matter.
/// </remarks>
public sealed class QueryAdmission(QueryLimits limits) : IDisposable
{
    private readonly ConcurrencyLimiter _small = Lane(limits.Concurrent, limits.Queued);
    private readonly ConcurrencyLimiter _bulk = Lane(limits.BulkConcurrent, limits.BulkQueued);

    public QueryLimits Limits => limits;

    /// <summary>Queries waiting for a slot now, in both lanes.</summary>
    public long Waiting => (_small.GetStatistics()?.CurrentQueuedCount ?? 0) + (_bulk.GetStatistics()?.CurrentQueuedCount ?? 0);

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
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(limits.QueueWait);
        RateLimitLease slot;
        try
        {
            slot = await lane.AcquireAsync(1, wait.Token);
        }
        catch (OperationCanceledException) when (wait.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw Busy($"{operation} refused: it waited {limits.QueueWait.TotalSeconds:0.#} s behind {running} running {kind}queries without getting a slot");
        }
        if (slot.IsAcquired) return slot;
        slot.Dispose();
        throw Busy($"{operation} refused: the gateway is already running {running} {kind}queries with {queued} waiting, newer ones first");
    }

    private ApiRequestException Busy(string message) =>
        new(ApiErrorCode.ResourceExhausted, $"{message}; retry in {limits.RetryAfter.TotalSeconds:0.#} s");

    private ApiRequestException Unavailable(string message) =>
        new(ApiErrorCode.Unavailable, $"{message}; retry in {limits.RetryAfter.TotalSeconds:0.#} s");

    private static ConcurrencyLimiter Lane(int running, int queued) => new(new ConcurrencyLimiterOptions
    {
        PermitLimit = running,
        QueueLimit = queued,
        QueueProcessingOrder = QueueProcessingOrder.NewestFirst,
    });

    public void Dispose()
    {
        _small.Dispose();
        _bulk.Dispose();
    }
}
