namespace Forkline.Contracts.Accounting;

/// <summary>
/// What the process actors did with the events they received, since they started. At rest
/// <c>Received + Concluded == Discarded + Withheld + Published</c>, and <c>Published == SinkFailures + what the forwarding sink took</c>.
/// </summary>
/// <param name="Received">Kernel events handed to the process actors.</param>
/// <param name="Discarded">Events superseded by a newer truth: a duplicate, or an image older than the pid's current one.</param>
/// <param name="Withheld">Events of forks that never exec'd, not emitted because clones are off.</param>
/// <param name="GaveUpWaiting">Events the out-of-order cache stopped holding: emitted flagged incomplete, not lost (part of Published).</param>
/// <param name="Waiting">Events in the out-of-order cache now.</param>
/// <param name="Published">Enriched events handed to the sinks.</param>
/// <param name="SinkFailures">Enriched events the forwarding sink threw on (lost to the gateway).</param>
/// <param name="Concluded">Exits the actors concluded (a process found gone, its exit record lost): made here, not received.</param>
public readonly record struct PipelineCounts(
    long Received, long Discarded, long Withheld, long GaveUpWaiting, long Waiting, long Published, long SinkFailures, long Concluded = 0);
