namespace Forkline.Contracts.Accounting;

/// <summary>
/// One collector run's loss accounting for one host, as its forwarder reported it at
/// <see cref="ReportedUtc"/>. <see cref="RunId"/> is the forwarder's producer id, which also names the
/// run's event batches; a later <see cref="Seq"/> of the same run replaces an earlier report.
/// </summary>
/// <param name="Final">The run has stopped: the counts will not change any more.</param>
public sealed record RunReport(
    string Host, string RunId, string SourceName, DateTime StartedUtc, DateTime ReportedUtc, ulong Seq, bool Final,
    SourceCounts Source, PipelineCounts Pipeline, ForwardCounts Forward);
