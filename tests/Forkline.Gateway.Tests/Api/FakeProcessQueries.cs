using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Forkline.Contracts.Events;
using Forkline.Contracts.History;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Queries;

namespace Forkline.Gateway.Tests.Api;

/// <summary>
/// In-memory queries behind the API under test: the API's job is transport and validation, the
/// persistence behind the real queries is tested on its own. Records what the API asked for.
/// </summary>
internal sealed class FakeProcessQueries : IProcessQueries
{
    private readonly Channel<StreamItem> _live = Channel.CreateUnbounded<StreamItem>();

    public List<ProcessRecord> Processes { get; } = [];
    public List<EnrichedEvent> History { get; } = [];

    /// <summary>When set, every query throws it: a fault the API did not anticipate.</summary>
    public Exception? Fault { get; set; }

    public ProcessListQuery? LastListQuery { get; private set; }
    public EventStreamFilter? LastStreamFilter { get; private set; }
    public StreamBacklog LastStreamBacklog { get; private set; }
    public (string Host, DateTime From, DateTime To)? LastReplay { get; private set; }
    public int LastDescendantDepth { get; private set; } = -1;
    public TaskCompletionSource StreamOpened { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public TaskCompletionSource StreamEnded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Publish(EnrichedEvent enriched) => _live.Writer.TryWrite(StreamItem.Of(enriched));

    public void PublishMissed(long count) => _live.Writer.TryWrite(StreamItem.MissedEvents(count));

    /// <summary>While set, GetProcess waits for it (or for its cancellation): a slow query holding its slot.</summary>
    public TaskCompletionSource? Hold { get; set; }

    /// <summary>GetProcess calls that have started (and taken a slot).</summary>
    public int GetProcessCalls => Volatile.Read(ref _getProcessCalls);

    private int _getProcessCalls;

    public async Task<ProcessRecord?> GetProcessAsync(string execId, CancellationToken ct)
    {
        ThrowFault();
        Interlocked.Increment(ref _getProcessCalls);
        if (Hold is { } hold) await hold.Task.WaitAsync(ct);
        return Find(execId);
    }

    public Task<LineageResult?> GetLineageAsync(string execId, int descendantDepth, CancellationToken ct)
    {
        ThrowFault();
        LastDescendantDepth = descendantDepth;
        if (Find(execId) is not { } process) return Task.FromResult<LineageResult?>(null);
        var ancestors = new List<ProcessRecord>();
        for (var parent = Find(process.ParentExecId); parent is not null; parent = Find(parent.ParentExecId))
            ancestors.Add(parent);
        var descendants = new List<ProcessRecord>();
        var generation = new List<ProcessRecord> { process };
        for (var depth = 0; depth < descendantDepth && generation.Count > 0; depth++)
        {
            generation = Processes.Where(child => generation.Any(p => p.ExecId == child.ParentExecId)).ToList();
            descendants.AddRange(generation);
        }
        return Task.FromResult<LineageResult?>(new LineageResult(process, ancestors, descendants));
    }

    /// <summary>While set, ListProcesses waits for it (or for its cancellation).</summary>
    public TaskCompletionSource? HoldLists { get; set; }

    /// <summary>ListProcesses calls that have started (and taken a slot).</summary>
    public int ListCalls => Volatile.Read(ref _listCalls);

    private int _listCalls;

    public async Task<IReadOnlyList<ProcessRecord>> ListProcessesAsync(ProcessListQuery query, CancellationToken ct)
    {
        ThrowFault();
        LastListQuery = query;
        Interlocked.Increment(ref _listCalls);
        if (HoldLists is { } hold) await hold.Task.WaitAsync(ct);
        return Processes.Where(p => p.Host == query.Host && (query.Live is null || p.Live == query.Live)).ToList();
    }

    public async IAsyncEnumerable<StreamItem> StreamEventsAsync(EventStreamFilter filter, StreamBacklog backlog, [EnumeratorCancellation] CancellationToken ct)
    {
        ThrowFault();
        LastStreamFilter = filter;
        LastStreamBacklog = backlog;
        StreamOpened.TrySetResult();
        try
        {
            await foreach (var item in _live.Reader.ReadAllAsync(ct))
                yield return item;
        }
        finally
        {
            StreamEnded.TrySetResult();
        }
    }

    public async IAsyncEnumerable<EnrichedEvent> ReplayAsync(string host, DateTime from, DateTime to, [EnumeratorCancellation] CancellationToken ct)
    {
        ThrowFault();
        LastReplay = (host, from, to);
        foreach (var enriched in History)
        {
            ct.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return enriched;
        }
    }

    /// <summary>Gaps of every host, oldest first, as GapsAsync answers them (filtered by host and window).</summary>
    public List<HostGap> Gaps { get; } = [];

    public Task<IReadOnlyList<HostGap>> GapsAsync(string host, DateTime from, DateTime to, int limit, CancellationToken ct)
    {
        ThrowFault();
        IReadOnlyList<HostGap> found = Gaps.Where(g => g.Host == host && g.To >= from && g.From <= to).TakeLast(limit).ToList();
        return Task.FromResult(found);
    }

    /// <summary>Runs by host, as GetHostStatsAsync answers them.</summary>
    public Dictionary<string, IReadOnlyList<HostRunStats>> RunStats { get; } = [];

    public Task<IReadOnlyList<HostRunStats>> GetHostStatsAsync(string host, CancellationToken ct)
    {
        ThrowFault();
        return Task.FromResult(RunStats.TryGetValue(host, out var runs) ? runs : []);
    }

    public List<string> SnapshotsRequested { get; } = [];

    public Task<HostSnapshotResult> SnapshotHostAsync(string host, CancellationToken ct)
    {
        ThrowFault();
        lock (SnapshotsRequested) SnapshotsRequested.Add(host);
        return Task.FromResult(new HostSnapshotResult(host, SequenceNr: 42, Processes: Processes.Count(p => p.Host == host && p.Live)));
    }

    private ProcessRecord? Find(string? execId) => Processes.FirstOrDefault(p => p.ExecId == execId);

    private void ThrowFault()
    {
        if (Fault is not null) throw Fault;
    }
}

/// <summary>Test processes and events of a small tree on host "node-a": init(1) -> bash(100) -> sleep(200).</summary>
internal static class SampleProcesses
{
    public const string Host = "node-a";
    public static readonly DateTime Boot = new(2025, 1, 31, 12, 0, 0, DateTimeKind.Utc);

    public static readonly ExecId InitId = new(Host, 1_000, 1);
    public static readonly ExecId BashId = new(Host, 2_000, 100);
    public static readonly ExecId SleepId = new(Host, 3_000, 200);

    public static ProcessRecord Init => Record(InitId, parent: null, "/sbin/init", "", live: true);
    public static ProcessRecord Bash => Record(BashId, InitId, "/bin/bash", "-c 'sleep 0.2'", live: true);
    public static ProcessRecord Sleep => Record(SleepId, BashId, "/bin/sleep", "0.2", live: false) with
    {
        ExitTime = Boot.AddSeconds(3.2),
        ExitStatus = 0,
        ExitSignal = 0,
    };

    public static FakeProcessQueries NewQueries()
    {
        var queries = new FakeProcessQueries();
        queries.Processes.AddRange([Init, Bash, Sleep]);
        return queries;
    }

    public static EnrichedExec Exec(ExecId id, ExecId parent, string binary) =>
        new(Host, Boot.AddTicks((long)id.StartKtime), id.StartKtime, Snapshot(id, parent, binary), null, null);

    public static EnrichedExit Exit(ExecId id, ExecId parent, string binary, int status)
    {
        var time = Boot.AddSeconds(10);
        var snapshot = Snapshot(id, parent, binary) with { Exit = new ProcessExit(status, 0, id.StartKtime + 10, time, id.Pid) };
        return new EnrichedExit(Host, time, id.StartKtime + 10, snapshot, null, null);
    }

    /// <summary>An exec_id whose base64 form contains '/', which HTTP paths must carry through.</summary>
    public static ExecId IdWithSlash()
    {
        for (var pid = 1; pid < 1_000_000; pid++)
        {
            var id = new ExecId("node-?", 4_000, pid);
            if (id.Encode().Contains('/')) return id;
        }
        throw new InvalidOperationException("no exec_id with '/' among the first million pids; pick another node name");
    }

    private static ProcessRecord Record(ExecId id, ExecId? parent, string binary, string arguments, bool live) =>
        new(id.Encode(), Host, id.Pid, parent?.Encode(), binary, arguments, "/", 0, Boot.AddTicks((long)id.StartKtime),
            ExitTime: null, ExitStatus: null, ExitSignal: null, live);

    public static ProcessSnapshot Snapshot(ExecId id, ExecId parent, string binary) =>
        new(id, parent, id.Pid, binary, ["arg1", "arg2"], "/tmp", new Credentials(1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000),
            default, default, 1000, 0, id.StartKtime, Boot.AddTicks((long)id.StartKtime), ProcessFlags.Exec);
}
