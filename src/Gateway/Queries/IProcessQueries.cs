using Forkline.Contracts.Accounting;
using Forkline.Contracts.History;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Accounting;

namespace Forkline.Gateway.Queries;

/// <summary>
/// One process image. Times are UTC. <see cref="Live"/>: the host entity holds it running (the
/// entity holds every live process, so a record from the history table alone is never live).
/// <see cref="End"/> says how it ended; ExitStatus and ExitSignal are set for an exit the kernel reported only.
/// </summary>
/// <param name="Container">The container the process ran in; null outside containers.</param>
/// <param name="EndedAfter">With a concluded end: the image ended unseen after this moment and before ExitTime.</param>
/// <param name="MaybeExecProbe">
/// Tetragon's <c>pod.container.maybe_exec_probe</c>: the process may have been started by an exec probe of
/// its container (<see cref="KubernetesContainer.MaybeExecProbe"/>, decided on its binary and argv).
/// </param>
/// <param name="NamespacePid">Its pid in its own pid namespace (Tetragon's <c>pod.container.pid</c>); 0 when not known (a fork that has not exec'd).</param>
/// <param name="Uid">Its real uid; null when never seen (a process that never became known, seen only at its exit).</param>
public sealed record ProcessRecord(string ExecId, string Host, int Pid, string? ParentExecId, string Binary, string Arguments, string Cwd, uint? Uid, DateTime StartTime, DateTime? ExitTime, int? ExitStatus, int? ExitSignal, bool Live,
    ContainerIdentity? Container = null, ProcessEndKind End = ProcessEndKind.None, DateTime? EndedAfter = null, bool MaybeExecProbe = false, int NamespacePid = 0);

/// <summary>How a process image ended. Stored as these numbers in the history table: never renumber.</summary>
public enum ProcessEndKind
{
    /// <summary>Running, or an end that was never recorded.</summary>
    None = 0,

    /// <summary>The kernel reported its exit.</summary>
    Exited = 1,

    /// <summary>A later exec or clone of the same pid took over without an exit of this image.</summary>
    Replaced = 2,

    /// <summary>Found gone at a collector's start: it ended while nobody watched the host.</summary>
    ConcludedAtRestart = 3,

    /// <summary>Found gone by the liveness check: its exit record was lost.</summary>
    ConcludedLost = 4,
}

public sealed record LineageResult(ProcessRecord Process, IReadOnlyList<ProcessRecord> Ancestors /* parent first, up to init */, IReadOnlyList<ProcessRecord> Descendants /* breadth-first, to depth */)
{
    /// <summary>Descendants were cut to <see cref="ProcessQueries.MaxDescendants"/>.</summary>
    public bool DescendantsTruncated { get; init; }
}

/// <param name="Container">A container id or a prefix of it.</param>
/// <param name="Pod">A Kubernetes pod's name; <paramref name="PodNamespace"/> its namespace.</param>
public sealed record ProcessListQuery(string Host, string? BinaryRegex = null, int? Pid = null, bool? Live = null, DateTime? StartedAfter = null, DateTime? StartedBefore = null, int Limit = 1000,
    string? Container = null, string? PodUid = null, string? Pod = null, string? PodNamespace = null)
{
    public bool MatchesContainer(ContainerIdentity? container) =>
        (Container is null || container?.MatchesId(Container) == true)
        && (PodUid is null || string.Equals(container?.PodUid, PodUid, StringComparison.OrdinalIgnoreCase))
        && (Pod is null && PodNamespace is null || container?.InPod(Pod, PodNamespace) == true);
}

/// <summary>A snapshot taken at journal <paramref name="SequenceNr"/> (0: nothing persisted for the host yet) holding <paramref name="Processes"/> live processes.</summary>
public sealed record HostSnapshotResult(string Host, long SequenceNr, int Processes);

/// <summary>
/// One collector run of a host as the gateway knows it: its latest report (null before the first
/// arrives), what the gateway did with its events, and the accounting identity evaluated (null without a report).
/// </summary>
/// <param name="Crash">Set when a later run found this one ended without a final report.</param>
public sealed record HostRunStats(string RunId, RunReport? Report, GatewayCounts Gateway, RunBalance? Balance, RunCrash? Crash = null);

/// <param name="Container">A container id or a prefix of it.</param>
public sealed record EventStreamFilter(
    IReadOnlySet<string>? Hosts = null, string? BinaryRegex = null, int? Pid = null, string? ExecId = null, IReadOnlySet<EnrichedKind>? Kinds = null,
    string? Container = null, string? PodUid = null, string? Pod = null, string? PodNamespace = null);

/// <summary>
/// The gateway's query surface. Errors: a malformed request (exec_id that does not decode, bad regex,
/// negative depth, limit out of range, from &gt; to, empty host) throws <see cref="ArgumentException"/>
/// (map to 400 / INVALID_ARGUMENT); an unknown exec_id gives null (404 / NOT_FOUND); an unknown host
/// gives an empty list or replay; a host entity that does not answer in time throws
/// <see cref="TimeoutException"/> and a database that cannot be reached <see cref="InvalidOperationException"/>
/// (503 / UNAVAILABLE).
/// </summary>
public interface IProcessQueries
{
    /// <summary>Live entity first, else the history table.</summary>
    Task<ProcessRecord?> GetProcessAsync(string execId, CancellationToken ct);

    /// <summary>Ancestors up to init and descendants to <paramref name="descendantDepth"/> (0..1024), at most <see cref="ProcessQueries.MaxDescendants"/> of them.</summary>
    Task<LineageResult?> GetLineageAsync(string execId, int descendantDepth, CancellationToken ct);

    /// <summary>The live tree of the host entity, plus ended processes from history when Live != true; ordered by start time.</summary>
    Task<IReadOnlyList<ProcessRecord>> ListProcessesAsync(ProcessListQuery query, CancellationToken ct);

    /// <summary>
    /// Live events accepted from now on, from every gateway node, filtered; when the caller falls behind,
    /// a <see cref="StreamItem"/> without an event says how many it missed: it may fall <paramref name="backlog"/>
    /// behind (events, and bytes of them) before events are dropped for it.
    /// </summary>
    IAsyncEnumerable<StreamItem> StreamEventsAsync(EventStreamFilter filter, StreamBacklog backlog, CancellationToken ct);

    /// <summary>The persisted exec / exit / clone events of the host whose time is in [from, to], in journal order.</summary>
    IAsyncEnumerable<EnrichedEvent> ReplayAsync(string host, DateTime from, DateTime to, CancellationToken ct);

    /// <summary>
    /// The host's gaps (times it was not watched) that meet [from, to], the latest <paramref name="limit"/>
    /// of them, oldest first; as far as the history table holds them.
    /// </summary>
    Task<IReadOnlyList<HostGap>> GapsAsync(string host, DateTime from, DateTime to, int limit, CancellationToken ct);

    /// <summary>The loss accounting of the host's recent collector runs, most recently active first (empty for an unknown host).</summary>
    Task<IReadOnlyList<HostRunStats>> GetHostStatsAsync(string host, CancellationToken ct);

    /// <summary>Admin: the host entity saves a snapshot of its tree now.</summary>
    Task<HostSnapshotResult> SnapshotHostAsync(string host, CancellationToken ct);
}
