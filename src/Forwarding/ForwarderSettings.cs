using Forkline.Gateway;

namespace Forkline.Forwarding;

/// <summary>How a collector node batches, bounds and retries what it forwards to the gateways.</summary>
public sealed record ForwarderSettings
{
    /// <summary>64 KiB: room below 85,000 bytes for the remoting envelope (actor paths, manifest, sequence numbers).</summary>
    public const int DefaultMaxBatchBytes = 64 * 1024;

    /// <summary>Events per batch at most; a full batch goes out at once.</summary>
    public int BatchSize { get; init; } = 512;

    /// <summary>
    /// A partial batch that found the in-flight window full waits at most this long (a burst otherwise goes
    /// out at once); also how often, while anything is held, overdue acks are looked for. An idle forwarder has no tick.
    /// </summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How long the first event of a partial batch waits for others before the batch may go (a full batch goes at
    /// once). Each batch costs the gateway a journal transaction, an ack and a history read whatever its size, so a
    /// host at a trickle sends a few batches a second instead of one per burst; it adds at most this much to the
    /// delay from the kernel to the journal and to a gateway's live streams, nothing to a node's own stdout.
    /// </summary>
    public TimeSpan Linger { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Events held (waiting or unacknowledged) before new ones are dropped and counted.</summary>
    public int MaxBufferedEvents { get; init; } = 200_000;

    /// <summary>Unacknowledged batches per host at a time.</summary>
    public int MaxInFlightBatches { get; init; } = 4;

    /// <summary>A batch without an ack after this long is sent again.</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Resends back off (doubling from <see cref="AckTimeout"/>) up to this interval while no gateway answers.</summary>
    public TimeSpan MaxRetryInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the run's loss accounting is looked at, and goes to the host's entity when it changed (once reporting is started).</summary>
    public TimeSpan ReportInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often the accounting goes to the host's entity while it does not change (an idle host): each report
    /// costs the gateways a message through the shard region, most of them over Akka.Remote, which a thousand
    /// idle hosts every 5 s turned into most of the gateways' idle CPU.
    /// </summary>
    public TimeSpan UnchangedReportInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Serialized bytes per batch at most (an event larger than this goes alone); a batch this full goes
    /// out at once. The default keeps a batch, and every copy Akka.Remote and the journal make of it, under
    /// the runtime's large-object threshold (85,000 bytes): larger byte arrays are allocated on the large
    /// object heap, whose allocations trigger full (gen 2) collections.
    /// </summary>
    public int MaxBatchBytes { get; init; } = DefaultMaxBatchBytes;

    public void Validate()
    {
        if (BatchSize < 1) throw new SettingOutOfRangeException(nameof(BatchSize), BatchSize, "1 or more events");
        if (MaxBatchBytes < 1) throw new SettingOutOfRangeException(nameof(MaxBatchBytes), MaxBatchBytes, "1 or more bytes");
        if (MaxBufferedEvents < BatchSize)
            throw new SettingOutOfRangeException(nameof(MaxBufferedEvents), MaxBufferedEvents, $"at least one batch (BatchSize, {BatchSize} events)");
        if (MaxInFlightBatches < 1) throw new SettingOutOfRangeException(nameof(MaxInFlightBatches), MaxInFlightBatches, "1 or more batches");
        if (Linger < TimeSpan.Zero) throw new SettingOutOfRangeException(nameof(Linger), Linger, "00:00:00 (no wait) or longer");
        if (FlushInterval <= TimeSpan.Zero) throw new SettingOutOfRangeException(nameof(FlushInterval), FlushInterval, "a duration above 00:00:00");
        if (AckTimeout <= TimeSpan.Zero) throw new SettingOutOfRangeException(nameof(AckTimeout), AckTimeout, "a duration above 00:00:00");
        if (ReportInterval <= TimeSpan.Zero) throw new SettingOutOfRangeException(nameof(ReportInterval), ReportInterval, "a duration above 00:00:00");
        if (UnchangedReportInterval < ReportInterval)
            throw new SettingOutOfRangeException(nameof(UnchangedReportInterval), UnchangedReportInterval, $"ReportInterval ({ReportInterval:c}) or longer");
    }
}
