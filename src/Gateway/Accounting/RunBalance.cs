using Forkline.Contracts.Accounting;

namespace Forkline.Gateway.Accounting;

/// <summary>
/// The loss-accounting identity of one run: every event the run produced (the kernel's, /proc's, and the
/// exits the process actors concluded) reaches exactly one end (lost
/// in the ring, malformed, discarded or withheld by the process actors, failed in the forwarding sink,
/// dropped by the forwarder, acknowledged by a gateway) or is still on its way.
/// </summary>
public readonly record struct RunBalance(long Produced, long Ended, long InFlight, long AcknowledgedNotStored, bool Final)
{
    /// <summary>The run has stopped, nothing is on its way and every acknowledged exec / exit / clone is stored.</summary>
    public bool Balanced => Final && InFlight == 0 && AcknowledgedNotStored == 0;

    public static RunBalance Of(RunReport report, GatewayCounts gateway)
    {
        var (source, pipeline, forward) = (report.Source, report.Pipeline, report.Forward);
        var produced = source.Produced + source.Bootstrapped + pipeline.Concluded;
        var ended = source.Lost + source.Discarded + source.Malformed
                    + pipeline.Discarded + pipeline.Withheld + pipeline.SinkFailures
                    + forward.DroppedFull + forward.DroppedShutdown
                    + forward.AcknowledgedLifecycle + forward.AcknowledgedHooks;
        return new RunBalance(produced, ended, produced - ended,
            forward.AcknowledgedLifecycle - gateway.Stored - gateway.AlreadyStored - gateway.Rejected, report.Final);
    }
}
