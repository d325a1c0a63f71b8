namespace Forkline.Gateway.Cluster;

/// <summary>How a collector node batches, bounds and retries what it forwards to the gateways.</summary>
/// <param name="BatchSize">Events per batch at most; a full batch goes out at once.</param>
/// <param name="FlushInterval">
/// A partial batch that found the in-flight window full waits at most this long (a burst otherwise goes
/// out at once); also how often, while anything is held, overdue acks are looked for. An idle forwarder has no tick.
/// </param>
/// <param name="MaxBufferedEvents">Events held (waiting or unacknowledged) before new ones are dropped and counted.</param>
/// <param name="MaxInFlightBatches">Unacknowledged batches per host at a time.</param>
/// <param name="AckTimeout">A batch without an ack after this long is sent again.</param>
/// <param name="MaxRetryInterval">Resends back off (doubling from AckTimeout) up to this interval while no gateway answers.</param>
/// <param name="ReportInterval">How often the run's loss accounting goes to the host's entity (once reporting is started).</param>
/// <param name="MaxBatchBytes">
/// Serialized bytes per batch at most (an event larger than this goes alone); a batch this full goes
/// out at once. The default keeps a batch, and every copy Akka.Remote and the journal make of it, under
/// the runtime's large-object threshold (85,000 bytes): larger byte arrays are allocated on the large
/// object heap, whose allocations trigger full (gen 2) collections.
/// </param>
public sealed record ForwarderSettings(
    int BatchSize = 512,
    TimeSpan? FlushInterval = null,
    int MaxBufferedEvents = 200_000,
    int MaxInFlightBatches = 4,
    TimeSpan? AckTimeout = null,
    TimeSpan? MaxRetryInterval = null,
    TimeSpan? ReportInterval = null,
    int MaxBatchBytes = ForwarderSettings.DefaultMaxBatchBytes)
{
    /// <summary>64 KiB: room below 85,000 bytes for the remoting envelope (actor paths, manifest, sequence numbers).</summary>
    public const int DefaultMaxBatchBytes = 64 * 1024;

    public TimeSpan ReportEvery => ReportInterval ?? TimeSpan.FromSeconds(5);

    public TimeSpan FlushEvery => FlushInterval ?? TimeSpan.FromMilliseconds(50);

    public TimeSpan AckWait => AckTimeout ?? TimeSpan.FromSeconds(5);

    public TimeSpan MaxRetryWait => MaxRetryInterval ?? TimeSpan.FromSeconds(30);

    public void Validate()
    {
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "a batch holds at least one event");
        if (MaxBatchBytes < 1) throw new ArgumentOutOfRangeException(nameof(MaxBatchBytes), MaxBatchBytes, "a batch holds at least one byte");
        if (MaxBufferedEvents < BatchSize)
            throw new ArgumentOutOfRangeException(nameof(MaxBufferedEvents), MaxBufferedEvents, $"the buffer must hold at least one batch ({BatchSize} events)");
        if (MaxInFlightBatches < 1) throw new ArgumentOutOfRangeException(nameof(MaxInFlightBatches), MaxInFlightBatches, "at least one batch must be allowed in flight");
        if (FlushEvery <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(FlushInterval), FlushEvery, "the flush interval must be positive");
        if (AckWait <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(AckTimeout), AckWait, "the ack timeout must be positive");
        if (ReportEvery <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(ReportInterval), ReportEvery, "the report interval must be positive");
    }
}
