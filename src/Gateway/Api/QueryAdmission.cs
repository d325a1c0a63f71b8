using System.Threading.RateLimiting;
using Akka.Actor;

namespace Forkline.Gateway.Api;

/// <summary>How much query work the API takes on at once, and for how long.</summary>
public sealed record QueryLimits
{
    /// <summary>Queries running at once; each can hold a host's live tree and a history result in memory.</summary>
    public int Concurrent { get; init; } = 8;

    /// <summary>Queries waiting for a slot; beyond them a query is refused at once with 429 / RESOURCE_EXHAUSTED.</summary>
    public int Queued { get; init; } = 64;

    /// <summary>A query's whole time, waiting included; beyond it 503 / UNAVAILABLE.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>What Retry-After (HTTP) and grpc-retry-pushback-ms (gRPC) tell a refused caller.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Admits the API's unary queries under <see cref="QueryLimits"/>: a bounded number run, a bounded
/// number wait (oldest first), every one has a deadline. Refusals and timeouts are the caller's answer
/// (429 / RESOURCE_EXHAUSTED, 503 / UNAVAILABLE, both with a retry hint), never an internal error.
/// </summary>
public sealed class QueryAdmission(QueryLimits limits) : IDisposable
{
    private readonly ConcurrencyLimiter _slots = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = limits.Concurrent,
        QueueLimit = limits.Queued,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    public QueryLimits Limits => limits;

    public async Task<T> RunAsync<T>(string operation, Func<CancellationToken, Task<T>> query, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(limits.Deadline);
        try
        {
            using var slot = await _slots.AcquireAsync(1, deadline.Token);
            if (!slot.IsAcquired)
                throw new ApiRequestException(ApiErrorCode.ResourceExhausted,
                    $"{operation} refused: the gateway is already running {limits.Concurrent} queries with {limits.Queued} waiting; retry in {limits.RetryAfter.TotalSeconds:0.#} s");
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

    private ApiRequestException Unavailable(string message) =>
        new(ApiErrorCode.Unavailable, $"{message}; retry in {limits.RetryAfter.TotalSeconds:0.#} s");

    public void Dispose() => _slots.Dispose();
}
