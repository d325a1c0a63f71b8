using System.Globalization;
using Akka.Actor;
using Akka.Event;
using Forkline.Contracts.Events;
using Forkline.Contracts.Snapshots;
using Forkline.Export;
using Forkline.ProcessActors.Metrics;

namespace Forkline.ProcessActors.Process;

internal enum LifecycleEvent : byte
{
    Clone,
    Exec,
    Exit,
}

/// <summary>
/// DESIGN.md's TID model for clone, exec and exit: the kernel side must send TID == PID. A violation is
/// counted (every one) and warned about (at most once per interval); the caller then uses the PID as the
/// TID, which is all a leader's snapshot knows, so an exit's {PID,TID} equals its exec's.
/// </summary>
internal sealed class TidPidRule(LifecycleCounters mismatches, TimeSpan warningInterval)
{
    private readonly RateLimiter _warnings = new(warningInterval);

    public void Check(KernelEvent kernelEvent, LifecycleEvent lifecycle, ProcessSnapshot process, IActorContext context)
    {
        if (kernelEvent.Tid == kernelEvent.Pid) return;
        var counter = lifecycle switch
        {
            LifecycleEvent.Clone => mismatches.Clone,
            LifecycleEvent.Exec => mismatches.Exec,
            _ => mismatches.Exit,
        };
        counter.Inc();
        if (!_warnings.TryAcquire(out var suppressed)) return;
        context.GetLogger().Warning(string.Create(CultureInfo.InvariantCulture,
            $"{lifecycle.ToString().ToLowerInvariant()} with tid {kernelEvent.Tid} != pid {kernelEvent.Pid} " +
            $"(binary {TerminalText.Escape(process.Binary)}, exec_id {process.ExecId}, parent exec_id {(process.ParentExecId == default ? "(none)" : process.ParentExecId.Encode())}): tid taken as the pid. " +
            $"The kernel side must send the leader's tid for clone/exec/exit; {suppressed} more suppressed since the last warning"));
    }
}
