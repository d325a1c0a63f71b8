namespace Forkline.Gateway.Accounting;

/// <summary>What the gateway did with one collector run's exec / exit / clone events.</summary>
/// <param name="Stored">Written to the journal (each once).</param>
/// <param name="AlreadyStored">Already held when they arrived: stored by another run (a restarted collector's procfs bootstrap).</param>
/// <param name="Rejected">Could not be taken: malformed, or for another host.</param>
/// <param name="ResentReceipts">Events of batches received again after they were taken (informational: not an end of an event).</param>
public readonly record struct GatewayCounts(long Stored, long AlreadyStored, long Rejected, long ResentReceipts)
{
    public static GatewayCounts operator +(GatewayCounts a, GatewayCounts b) =>
        new(a.Stored + b.Stored, a.AlreadyStored + b.AlreadyStored, a.Rejected + b.Rejected, a.ResentReceipts + b.ResentReceipts);
}
