using Forkline.Collector.Sources;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;

namespace Forkline.Cluster.Tests;

/// <summary>
/// What a collector replaying a capture under <see cref="Host"/> sends, derived from the capture file
/// itself: decoded by the same <see cref="ReplayFileSource"/> the collector runs, so every record it
/// turns into an event is counted here too.
/// </summary>
public sealed class ReplayExpectation
{
    private readonly Dictionary<EnrichedKind, HashSet<ExecId>> _byKind = new()
    {
        [EnrichedKind.Exec] = [], [EnrichedKind.Clone] = [], [EnrichedKind.Exit] = [],
    };
    private readonly Dictionary<int, ulong> _latestStartByPid = [];

    private ReplayExpectation(string host) => Host = host;

    public string Host { get; }

    /// <summary>Exec, clone and exit records in the capture, duplicates included.</summary>
    public int Records { get; private set; }

    public static async Task<ReplayExpectation> ReadAsync(string capturePath, string host)
    {
        var expectation = new ReplayExpectation(host);
        var replay = new ReplayFileSource(capturePath, ReplayPacing.AsFastAsPossible);
        await replay.RunAsync(new Recorder(expectation), CancellationToken.None);
        if (replay.Counters.TotalRejected != 0)
            throw new InvalidDataException($"{capturePath}: {replay.Counters.TotalRejected} records rejected; the replay and this expectation would both miss them");
        return expectation;
    }

    /// <summary>The distinct processes the capture holds events of this kind for, named as the replaying collector names them.</summary>
    public IReadOnlySet<ExecId> Of(EnrichedKind kind) => _byKind[kind];

    /// <summary>
    /// The capture also holds a later image of the same pid, so the process actors may have met that
    /// one first and discarded this start as superseded (ProcessRouter.IsDuplicateOrSuperseded).
    /// </summary>
    public bool HasLaterImageOfPid(ExecId process) =>
        _latestStartByPid.TryGetValue(process.Pid, out var latest) && latest > process.StartKtime;

    private void Add(EnrichedKind kind, int pid, ulong startKtime)
    {
        if (startKtime == 0)
            throw new InvalidDataException($"a {kind} record of pid {pid} carries no start time; the replay would resolve it by pid, which this expectation cannot follow");
        Records++;
        _byKind[kind].Add(new ExecId(Host, startKtime, pid));
        if (kind != EnrichedKind.Exit && (!_latestStartByPid.TryGetValue(pid, out var latest) || startKtime > latest))
            _latestStartByPid[pid] = startKtime;
    }

    private sealed class Recorder(ReplayExpectation expectation) : IKernelEventSink
    {
        public void OnEvent(KernelEvent kernelEvent)
        {
            switch (kernelEvent)
            {
                case ExecEvent exec:
                    expectation.Add(EnrichedKind.Exec, exec.Pid, exec.Ktime);
                    break;
                case CloneEvent clone:
                    expectation.Add(EnrichedKind.Clone, clone.Pid, clone.Ktime);
                    break;
                case ExitEvent exit:
                    expectation.Add(EnrichedKind.Exit, exit.Pid, exit.StartKtime);
                    break;
            }
        }
    }
}
