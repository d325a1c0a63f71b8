namespace Forkline.Contracts.History;

/// <summary>Why a host was not watched for a while. Stored as these numbers (journal, history table): never renumber.</summary>
public enum HostGapReason : byte
{
    /// <summary>The collector run stopped (it sent its final report) and the next one started later.</summary>
    CollectorStopped = 1,

    /// <summary>The run ended without a final report (killed, crashed, its node went down) and the next one started later.</summary>
    CollectorCrashed = 2,

    /// <summary>The run kept watching, but the kernel could not put records into the full ring buffer.</summary>
    RingLoss = 3,

    /// <summary>
    /// The run kept watching, but its forwarder dropped events: its buffer was full while no gateway acknowledged
    /// (all gateways down or unreachable, or slower than the host).
    /// </summary>
    ForwarderDropped = 4,
}

/// <summary>
/// A stretch of a host's history that Forkline did not see: from the last moment it saw the host watched
/// to the moment watching resumed (the next run's /proc scan); for ring losses, between the two run
/// reports that counted them; for events the forwarder dropped, the times of the first and the last of them.
/// Processes that ended inside a gap end with an exit concluded, not seen.
/// </summary>
/// <param name="RunId">The run whose end opened the gap, or that lost the records; empty when not known.</param>
/// <param name="NextRunId">The run that closed the gap (restart); empty for ring losses.</param>
/// <param name="LostRecords">Ring losses: records the kernel could not put into the ring in the gap; forwarder drops: events dropped.</param>
public sealed record HostGap(string Host, DateTime From, DateTime To, HostGapReason Reason, string RunId, string NextRunId, ulong LostRecords)
{
    public static string NameOf(HostGapReason reason) => reason switch
    {
        HostGapReason.CollectorStopped => "collector_stopped",
        HostGapReason.CollectorCrashed => "collector_crashed",
        HostGapReason.RingLoss => "ring_loss",
        HostGapReason.ForwarderDropped => "forwarder_dropped",
        _ => "unknown",
    };

    /// <summary>The run kept watching and records were lost on their way (no restart closed this gap).</summary>
    public bool WhileWatching => Reason is HostGapReason.RingLoss or HostGapReason.ForwarderDropped;
}
