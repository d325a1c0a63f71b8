namespace Forkline.Contracts.Accounting;

/// <summary>The counts of one collector run before its forwarder: what the forwarder reports with its own.</summary>
/// <param name="Host">The host the run's events are about (the collector's node name).</param>
/// <param name="SourceName">The source, e.g. "bpf" or "replay:/path".</param>
/// <param name="StartedUtc">When the run started.</param>
public sealed record UpstreamCounts(string Host, string SourceName, DateTime StartedUtc, SourceCounts Source, PipelineCounts Pipeline);
