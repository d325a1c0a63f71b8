using Forkline.Collector.Native;
using Forkline.Collector.Procfs;
using Forkline.Collector.RingBuffer;
using Microsoft.Extensions.Logging;

namespace Forkline.Collector.Bpf;

/// <summary>What one procfs bootstrap did.</summary>
/// <param name="Emitted">Procfs exec records handed to the decoder.</param>
/// <param name="AlreadyKnown">Processes BPF saw fork or exec after attach; their own records describe them.</param>
/// <param name="SeedFailures">Map updates that failed for another reason (the exec was still emitted).</param>
/// <param name="Vanished">Processes that exited while /proc was read.</param>
/// <param name="Unreadable">Processes /proc would not describe.</param>
public sealed record ProcfsBootstrapResult(int Emitted, int AlreadyKnown, int SeedFailures, int Vanished, int Unreadable);

/// <summary>
/// Seeds fl_leaders with every process already running and emits its procfs exec through the
/// same record path as ring records, so later hooks and exits of those processes carry the identity the exec gave them.
/// Runs after the programs are attached: a process forked or exec'd during the scan already has a
/// map entry, the BPF_NOEXIST seed fails with EEXIST, and its BPF records stand instead of the scan's.
/// </summary>
internal static class ProcfsBootstrap
{
    /// <param name="emitted">Counts the exec records handed on, as they go (the loss accounting reads it meanwhile).</param>
    public static ProcfsBootstrapResult Run<THandler>(BpfMap leaders, ref THandler handler, ref long emitted, StoredIdentities? storedIdentities, ILogger log)
        where THandler : struct, IRingRecordHandler
    {
        var scan = new ProcfsScanner(logger: log).Scan(storedIdentities);
        int alreadyKnown = 0, seedFailures = 0;
        var emittedBefore = emitted;
        foreach (var process in scan.Processes)
        {
            var seed = process.Seed;
            var result = leaders.TryUpdate((uint)seed.Pid, seed.ToLeader(), LibBpf.MapNoExist);
            if (result == -Errno.EEXIST)
            {
                alreadyKnown++;
                continue;
            }
            if (result < 0 && seedFailures++ == 0)
                log.LogWarning("procfs bootstrap: seeding {Map} for pid {Pid} failed: {Error} — its later hook and exit events may not pair with its exec (further failures only counted)", leaders.Name, seed.Pid, Errno.Describe(result));

            // Counted before it is handed on, so the accounting never sees an event out of a stage it did not see come in.
            Volatile.Write(ref emitted, emitted + 1);
            handler.OnRecord(process.ExecRecord.Span);
        }
        return new ProcfsBootstrapResult((int)(emitted - emittedBefore), alreadyKnown, seedFailures, scan.Vanished, scan.Skipped);
    }
}
