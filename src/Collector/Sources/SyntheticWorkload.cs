namespace Forkline.Collector.Sources;

/// <summary>
/// Shape of the process tree <see cref="SyntheticEventSource"/> generates. The same values give the
/// same events, in the same order.
/// </summary>
/// <param name="Processes">Processes forked and exec'd under the root (pid 1, announced as a procfs exec).</param>
/// <param name="MaxLiveProcesses">When more are alive, a random one (never the root) exits; the rest exit at the end.</param>
/// <param name="ThreadsPerProcess">Threads per process, leader included; hooks come from any of them.</param>
/// <param name="HookEventsPerProcess">Hook events each process makes while alive.</param>
/// <param name="CredentialChangeEvery">Every n-th process has a non-leader thread drop to uid/gid 1000 with setresuid (0: never).</param>
/// <param name="Seed">Seed of the generator.</param>
/// <param name="ThroughDecoder">Encode each event as a ring-buffer record and deliver what the decoder makes of it.</param>
public sealed record SyntheticWorkload(
    int Processes = 1_000,
    int MaxLiveProcesses = 256,
    int ThreadsPerProcess = 4,
    int HookEventsPerProcess = 8,
    int CredentialChangeEvery = 10,
    int Seed = 1,
    bool ThroughDecoder = false)
{
    public void Validate()
    {
        if (Processes < 0) throw new ArgumentOutOfRangeException(nameof(Processes), Processes, "must be >= 0");
        if (MaxLiveProcesses < 1) throw new ArgumentOutOfRangeException(nameof(MaxLiveProcesses), MaxLiveProcesses, "must be >= 1");
        if (ThreadsPerProcess < 1) throw new ArgumentOutOfRangeException(nameof(ThreadsPerProcess), ThreadsPerProcess, "must be >= 1 (the leader)");
        if (HookEventsPerProcess < 0) throw new ArgumentOutOfRangeException(nameof(HookEventsPerProcess), HookEventsPerProcess, "must be >= 0");
        if (CredentialChangeEvery < 0) throw new ArgumentOutOfRangeException(nameof(CredentialChangeEvery), CredentialChangeEvery, "must be >= 0 (0: never)");
    }
}
