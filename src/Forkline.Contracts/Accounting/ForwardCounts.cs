namespace Forkline.Contracts.Accounting;

/// <summary>
/// What a forwarder did with one host's enriched events, since it started. At rest
/// <c>Received == DroppedFull + DroppedShutdown + AcknowledgedLifecycle + AcknowledgedHooks</c>; while it
/// runs <see cref="Buffered"/> holds the rest.
/// </summary>
/// <param name="DroppedFull">Dropped on arrival: the buffer was full (no gateway acknowledging fast enough).</param>
/// <param name="DroppedShutdown">Still unacknowledged when the forwarder stopped.</param>
/// <param name="AcknowledgedLifecycle">exec / exit / clone events a gateway acknowledged (it persisted them first).</param>
/// <param name="AcknowledgedHooks">Hook events a gateway acknowledged (delivered live; persisted only when configured).</param>
/// <param name="FirstDropped">The earliest event time of the events dropped (full or at shutdown); null while none was.</param>
/// <param name="LastDropped">The latest event time of the events dropped; null while none was.</param>
public readonly record struct ForwardCounts(
    long Received, long DroppedFull, long DroppedShutdown, long Buffered, long AcknowledgedLifecycle, long AcknowledgedHooks,
    DateTime? FirstDropped = null, DateTime? LastDropped = null)
{
    public long Dropped => DroppedFull + DroppedShutdown;
}
