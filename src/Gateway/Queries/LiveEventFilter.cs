using System.Text.RegularExpressions;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;

namespace Forkline.Gateway.Queries;

/// <summary>An <see cref="EventStreamFilter"/> checked and compiled once per subscription.</summary>
public sealed class LiveEventFilter
{
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(50);

    private readonly EventStreamFilter _filter;
    private readonly Regex? _binary;
    private readonly ExecId? _execId;

    /// <exception cref="ArgumentException">The regex or the exec_id is malformed.</exception>
    public LiveEventFilter(EventStreamFilter filter)
    {
        _filter = filter;
        _binary = CompileBinaryRegex(filter.BinaryRegex);
        if (filter.ExecId is not null) _execId = ParseExecId(filter.ExecId);
    }

    public bool Matches(EnrichedEvent enriched)
    {
        var process = enriched.Process;
        return (_filter.Hosts is null || _filter.Hosts.Contains(enriched.Node))
               && (_filter.Kinds is null || _filter.Kinds.Contains(enriched.Kind))
               && (_filter.Pid is null || _filter.Pid == process.Pid)
               && (_execId is null || _execId == process.ExecId)
               && (_filter.Container is null || process.Container?.MatchesId(_filter.Container) == true)
               && (_filter.PodUid is null || string.Equals(process.Container?.PodUid, _filter.PodUid, StringComparison.OrdinalIgnoreCase))
               && (_filter.Pod is null && _filter.PodNamespace is null || process.Container?.InPod(_filter.Pod, _filter.PodNamespace) == true)
               && (_binary is null || MatchesBinary(process.Binary));
    }

    private bool MatchesBinary(string binary)
    {
        try
        {
            return _binary!.IsMatch(binary);
        }
        catch (RegexMatchTimeoutException)
        {
            // A pathological pattern must not stall the hub that serves every subscriber.
            return false;
        }
    }

    public static Regex? CompileBinaryRegex(string? pattern)
    {
        if (string.IsNullOrEmpty(pattern)) return null;
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, RegexTimeout);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"binary filter '{pattern}' is not a valid regular expression: {e.Message}", nameof(pattern), e);
        }
    }

    public static ExecId ParseExecId(string execId) =>
        ExecId.TryDecode(execId, out var parsed)
            ? parsed
            : throw new ArgumentException($"'{execId}' is not an exec_id (base64 of \"node:startKtime:pid\")", nameof(execId));
}
