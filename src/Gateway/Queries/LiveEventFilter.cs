using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Export;

namespace Forkline.Gateway.Queries;

/// <summary>An <see cref="EventStreamFilter"/> checked and compiled once per subscription.</summary>
public sealed class LiveEventFilter
{
    private readonly EventStreamFilter _filter;
    private readonly BinaryPattern? _binary;
    private readonly ExecId? _execId;

    /// <exception cref="ArgumentException">The regex or the exec_id is malformed.</exception>
    public LiveEventFilter(EventStreamFilter filter)
    {
        _filter = filter;
        _binary = BinaryPattern.Parse(filter.BinaryRegex);
        if (filter.ExecId is not null) _execId = ParseExecId(filter.ExecId);
    }

    /// <summary>Every criterion but the binary pattern: cheap field comparisons the hub makes for each subscriber.</summary>
    public bool MatchesFields(EnrichedEvent enriched)
    {
        var process = enriched.Process;
        return (_filter.Hosts is null || _filter.Hosts.Contains(enriched.Node))
               && (_filter.Kinds is null || _filter.Kinds.Contains(enriched.Kind))
               && (_filter.Pid is null || _filter.Pid == process.Pid)
               && (_execId is null || _execId == process.ExecId)
               && (_filter.Container is null || process.Container?.MatchesId(_filter.Container) == true)
               && (_filter.PodUid is null || string.Equals(process.Container?.PodUid, _filter.PodUid, StringComparison.OrdinalIgnoreCase))
               && (_filter.Pod is null && _filter.PodNamespace is null || process.Container?.InPod(_filter.Pod, _filter.PodNamespace) == true);
    }

    /// <summary>The binary pattern, checked by the subscriber's own reader so its cost falls on that stream alone.</summary>
    public bool MatchesBinary(EnrichedEvent enriched) => _binary is null || _binary.Matches(enriched.Process.Binary);

    public bool Matches(EnrichedEvent enriched) => MatchesFields(enriched) && MatchesBinary(enriched);

    public static ExecId ParseExecId(string execId) =>
        ExecId.TryDecode(execId, out var parsed)
            ? parsed
            : throw new ArgumentException($"'{execId}' is not an exec_id (base64 of \"node:startKtime:pid\")", nameof(execId));
}
