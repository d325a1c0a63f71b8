using Forkline.Contracts.Snapshots;
using Forkline.Export;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.HostTree;

namespace Forkline.Gateway.Queries;

/// <summary>Builds the query API's <see cref="ProcessRecord"/> from the gateway's process views.</summary>
public static class ProcessRecords
{
    public static ProcessRecord From(TreeProcessView view) =>
        From(view.Snapshot, view.Live, view.ReplacedAt);

    public static ProcessRecord From(ProcessSnapshot snapshot, bool live, DateTime? replacedAt = null) => new(
        ExecId: snapshot.ExecId.Encode(),
        Host: snapshot.ExecId.Node,
        Pid: snapshot.Pid,
        ParentExecId: WireConverter.IsNone(snapshot.ParentExecId) ? null : snapshot.ParentExecId.Encode(),
        Binary: snapshot.Binary,
        Arguments: ArgumentLine.Format(snapshot.Arguments),
        Cwd: snapshot.Cwd,
        Uid: (snapshot.Flags & ProcessFlags.CredentialsUnknown) != 0 ? null : snapshot.Credentials.Uid,
        StartTime: snapshot.StartTime,
        ExitTime: snapshot.Exit?.Time ?? replacedAt,
        // A concluded exit has no status or signal: the kernel never reported one.
        ExitStatus: snapshot.Exit is { Concluded: false } exit ? exit.Status : null,
        ExitSignal: snapshot.Exit is { Concluded: false } exited ? exited.Signal : null,
        Live: live,
        Container: snapshot.Container,
        End: EndOf(snapshot.Exit, replacedAt),
        EndedAfter: snapshot.Exit is { Concluded: true } concluded ? concluded.EndedAfter : null,
        MaybeExecProbe: MaybeExecProbe(snapshot),
        NamespacePid: snapshot.Details.NamespacePid);

    /// <summary>Tetragon's <c>pod.container.maybe_exec_probe</c> of <paramref name="snapshot"/>.</summary>
    public static bool MaybeExecProbe(ProcessSnapshot snapshot) =>
        snapshot.Container?.Pod?.Container?.MaybeExecProbe(snapshot.Binary, snapshot.Arguments) == true;

    /// <summary>An exit of its own wins over a replacement: a replaced image's late exit is still its end.</summary>
    public static ProcessEndKind EndOf(ProcessExit? exit, DateTime? replacedAt) => exit?.Conclusion switch
    {
        ExitConclusion.None => ProcessEndKind.Exited,
        ExitConclusion.Restart => ProcessEndKind.ConcludedAtRestart,
        ExitConclusion.Lost => ProcessEndKind.ConcludedLost,
        null when replacedAt is not null => ProcessEndKind.Replaced,
        _ => ProcessEndKind.None,
    };
}
