using Forkline.Export;
using System.Globalization;
using Forkline.Contracts.Api;
using Forkline.Gateway.Api;
using Google.Protobuf.WellKnownTypes;

namespace Forkline.Client;

/// <summary>
/// The human view of processes and events: short, one line each, times in UTC. Every string the
/// gateway sends is escaped by <see cref="TerminalText"/>'s rule: it comes from the traced processes.
/// </summary>
public static class ProcessText
{
    // Long command lines would push everything else off the screen; --json has them whole.
    public const int CommandWidth = 100;

    private const int ShortContainerId = 12;

    public static string Time(Timestamp? time) =>
        time is null ? "-" : time.ToDateTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// The command line, cut to a screen's width, then where it runs if in a container: its pod
    /// ("namespace/name") when the API server described it, and the container (its name in the pod when
    /// known, and 12 digits of its id, as docker ps shows it). The pod's and container's names are escaped
    /// as every other string. The binary is quoted as the arguments are (<see cref="ArgumentLine"/>), so neither a space nor a
    /// control character in its name can pass for an argument, a column or a line of its own.
    /// </summary>
    public static string Command(Process process)
    {
        var binary = ArgumentLine.Quote(process.Binary);
        var command = process.Arguments.Length == 0 ? binary : $"{binary} {TerminalText.EscapeArgumentLine(process.Arguments)}";
        if (command.Length > CommandWidth)
            command = string.Concat(command.AsSpan(0, TerminalText.EscapedPrefixLength(command, CommandWidth - 1)), "…");
        if (process.ContainerId.Length == 0) return command;
        var container = TerminalText.Escape(process.ContainerId.AsSpan(0, Math.Min(ShortContainerId, process.ContainerId.Length)));
        if (process.ContainerName.Length > 0) container = $"{TerminalText.Escape(process.ContainerName)} {container}";
        return process.PodName.Length == 0
            ? $"{command}  [container {container}]"
            : $"{command}  [pod {TerminalText.Escape(process.PodNamespace)}/{TerminalText.Escape(process.PodName)} container {container}]";
    }

    /// <summary>
    /// How the process stands: running, exited (with its status or signal), replaced by an exec of its
    /// pid, or ended unseen, in a gap between two moments (a concluded end has no exit status).
    /// </summary>
    public static string State(Process process) => process.End switch
    {
        _ when process.Live => "running",
        ProcessEnd.Replaced => "replaced by exec",
        ProcessEnd.ConcludedAtRestart => $"ended unseen in a gap: between {Time(process.EndedAfter)} and {Time(process.ExitTime)}, host not watched",
        ProcessEnd.ConcludedLost => $"ended unseen in a gap: between {Time(process.EndedAfter)} and {Time(process.ExitTime)}, its exit lost",
        _ when process.ExitSignal > 0 => $"killed by {LinuxNames.SignalName(process.ExitSignal)}",
        _ when process.HasExitStatus => $"exited {process.ExitStatus}",
        ProcessEnd.Exited => "exited",
        _ => "not running, end not recorded",
    };

    /// <summary>The parent's pid, read from its exec_id; "-" when the parent is unknown.</summary>
    public static string ParentPid(Process process) =>
        Contracts.Identity.ExecId.TryDecode(process.ParentExecId, out var parent)
            ? parent.Pid.ToString(CultureInfo.InvariantCulture)
            : "-";

    /// <summary>The notice that the gateway dropped events for this stream because it read too slowly.</summary>
    public static string MissedEvents(Event notice) =>
        $"{Time(notice.Time)} missed {notice.MissedEvents:N0} events: this stream fell behind and the gateway dropped them for it";

    /// <summary>
    /// "2025-01-31T12:00:00.123Z node-a gap   not watched from 2025-01-31T11:58:00.000Z: the collector run ended
    /// without a final report (run R1, next run R2)": a gap in a replay, at its end.
    /// </summary>
    public static string Gap(Gap gap) =>
        $"{Time(gap.To)} {TerminalText.Escape(gap.Host)} gap   not watched from {Time(gap.From)}: {GapCause(gap)}";

    /// <summary>Why the host was not watched, with the runs involved.</summary>
    public static string GapCause(Gap gap)
    {
        var runs = gap.NextRunId.Length > 0
            ? $"run {TerminalText.Escape(gap.RunId)}, next run {TerminalText.Escape(gap.NextRunId)}"
            : $"run {TerminalText.Escape(gap.RunId)}";
        return gap.Reason switch
        {
            GapReason.CollectorStopped => $"the collector was stopped ({runs})",
            GapReason.CollectorCrashed => $"the collector run ended without a final report: killed, crashed or its node down ({runs})",
            GapReason.RingLoss => $"{gap.LostRecords.ToString("N0", CultureInfo.InvariantCulture)} records lost in the full ring buffer ({runs})",
            GapReason.ForwarderDropped =>
                $"{gap.LostRecords.ToString("N0", CultureInfo.InvariantCulture)} events dropped by the collector's forwarder, its buffer full while no gateway acknowledged ({runs})",
            _ => $"not known ({runs})",
        };
    }

    /// <summary>"2025-01-31T12:00:00.123Z node-a exec  1234 /bin/sleep 1  &lt;exec_id&gt;", with the exit or hook appended.</summary>
    public static string Event(Event received)
    {
        var kind = received.Kind switch
        {
            EventKind.Exec => "exec",
            EventKind.Exit => "exit",
            EventKind.Clone => "clone",
            EventKind.Hook => "hook",
            _ => received.Kind.ToString(),
        };
        var detail = received.Kind switch
        {
            EventKind.Exit => $"  [{State(received.Process)}]",
            EventKind.Hook => $"  [{TerminalText.Escape(received.HookName)}]",
            _ => "",
        };
        return $"{Time(received.Time)} {TerminalText.Escape(received.Host)} {kind,-5} {received.Process.Pid,7} {Command(received.Process)}{detail}  {TerminalText.Escape(received.ExecId)}";
    }
}
