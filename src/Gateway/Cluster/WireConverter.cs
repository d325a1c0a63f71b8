using System.Collections.Immutable;
using System.Globalization;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Contracts.Wire;
using Forkline.Gateway.HostTree;

namespace Forkline.Gateway.Cluster;

/// <summary>
/// The one place where Contracts values become wire (protobuf) messages and back. Everything else in
/// the gateway works on the Contracts records.
/// </summary>
public static class WireConverter
{
    public static WireEvent ToWire(EnrichedEvent enriched) => ToWire(enriched, recent: null);

    /// <param name="recent">Wire forms of recently converted snapshots to reuse; null converts every snapshot.</param>
    /// <param name="inProcess">
    /// The event goes to a gateway of this process by reference (<c>forkline run</c>): an exec or clone keeps its
    /// snapshot as <see cref="ProcessInfo.Source"/>. Only those: their snapshot is what the host's live tree keeps,
    /// and the process actor holds it while the image runs; an exit's, a parent's or an ancestor's would only be
    /// kept alive longer while the event waits in the forwarder.
    /// </param>
    public static WireEvent ToWire(EnrichedEvent enriched, RecentProcessInfos? recent, bool inProcess = false)
    {
        var wire = new WireEvent
        {
            EventId = EventIdOf(enriched),
            Kind = ToWire(enriched.Kind),
            Host = enriched.Node,
            Ktime = enriched.Ktime,
            TimeUnixTicks = ToUnixTicks(enriched.Time),
            // An exec's or exit's own snapshot is new to this event and never seen again: remembering
            // it would only push out parents. A hook carries its process's current snapshot, as all the
            // hooks of that process do.
            Process = WireFormOf(enriched.Process, enriched.Kind == EnrichedKind.Hook ? recent : null),
        };
        if (inProcess && enriched.Kind is EnrichedKind.Exec or EnrichedKind.Clone) wire.Process.Source = enriched.Process;
        if (enriched.Parent is not null) wire.Parent = WireFormOf(enriched.Parent, recent);
        for (var ancestor = enriched.Ancestors; ancestor is not null; ancestor = ancestor.Next)
            wire.Ancestors.Add(WireFormOf(ancestor.Process, recent));
        if (enriched is EnrichedHook hook) wire.Hook = ToWire(hook.Hook, hook.Thread is not null);
        return wire;
    }

    private static ProcessInfo WireFormOf(ProcessSnapshot snapshot, RecentProcessInfos? recent) =>
        recent is null ? ToWire(snapshot) : recent.WireFormOf(snapshot);

    /// <summary>Rebuilds the Contracts event; throws <see cref="WireFormatException"/> on a malformed message.</summary>
    public static EnrichedEvent ToEnriched(WireEvent wire)
    {
        if (wire.Process is null) throw new WireFormatException($"event {wire.EventId} has no process");
        var time = FromUnixTicks(wire.TimeUnixTicks);
        var process = ToSnapshot(wire.Process);
        var parent = wire.Parent is null ? null : ToSnapshot(wire.Parent);
        var ancestors = ToAncestorChain(wire.Ancestors);
        return wire.Kind switch
        {
            WireEventKind.Exec => new EnrichedExec(wire.Host, time, wire.Ktime, process, parent, ancestors),
            WireEventKind.Exit => new EnrichedExit(wire.Host, time, wire.Ktime, process, parent, ancestors),
            WireEventKind.Clone => new EnrichedClone(wire.Host, time, wire.Ktime, process, parent, ancestors),
            WireEventKind.Hook => ToEnrichedHook(wire, time, process, parent, ancestors),
            _ => throw new WireFormatException($"event {wire.EventId} has unknown kind {wire.Kind}"),
        };
    }

    /// <summary>
    /// Stable across retries and unique per host: exec / exit / clone happen once per process image;
    /// a hook is one call of one thread at one boot-clock nanosecond.
    /// </summary>
    public static string EventIdOf(EnrichedEvent enriched)
    {
        var id = enriched.Process.ExecId;
        return enriched switch
        {
            EnrichedHook hook => string.Create(CultureInfo.InvariantCulture,
                $"h:{id.Node}:{id.StartKtime}:{id.Pid}:{hook.Hook.Tid}:{hook.Hook.Ktime}"),
            _ => string.Create(CultureInfo.InvariantCulture,
                $"{KindLetter(enriched.Kind)}:{id.Node}:{id.StartKtime}:{id.Pid}"),
        };
    }

    public static WireEventKind ToWire(EnrichedKind kind) => kind switch
    {
        EnrichedKind.Exec => WireEventKind.Exec,
        EnrichedKind.Exit => WireEventKind.Exit,
        EnrichedKind.Clone => WireEventKind.Clone,
        EnrichedKind.Hook => WireEventKind.Hook,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not an enriched event kind"),
    };

    public static EnrichedKind ToEnrichedKind(WireEventKind kind) => kind switch
    {
        WireEventKind.Exec => EnrichedKind.Exec,
        WireEventKind.Exit => EnrichedKind.Exit,
        WireEventKind.Clone => EnrichedKind.Clone,
        WireEventKind.Hook => EnrichedKind.Hook,
        _ => throw new WireFormatException($"unknown wire event kind {kind}"),
    };

    /// <summary>The value of the <c>kind</c> label of event metrics.</summary>
    public static string MetricLabel(WireEventKind kind) => kind switch
    {
        WireEventKind.Exec => "exec",
        WireEventKind.Exit => "exit",
        WireEventKind.Clone => "clone",
        WireEventKind.Hook => "hook",
        _ => "unknown",
    };

    public static ProcessInfo ToWire(ProcessSnapshot snapshot)
    {
        var info = new ProcessInfo
        {
            ExecId = ToWire(snapshot.ExecId),
            Pid = snapshot.Pid,
            Binary = snapshot.Binary,
            Cwd = snapshot.Cwd,
            Credentials = ToWire(snapshot.Credentials),
            Capabilities = ToWire(snapshot.Capabilities),
            Namespaces = ToWire(snapshot.Namespaces),
            Auid = snapshot.Auid,
            CgroupId = snapshot.CgroupId,
            StartKtime = snapshot.StartKtime,
            StartTimeUnixTicks = ToUnixTicks(snapshot.StartTime),
            Flags = (uint)snapshot.Flags,
            InInitTree = snapshot.InInitTree,
            UserName = snapshot.UserName ?? "",
        };
        if (snapshot.Container is { } container) info.Container = ToWire(container);
        if (snapshot.Details != default) info.Details = ToWire(snapshot.Details);
        if (!IsNone(snapshot.ParentExecId)) info.ParentExecId = ToWire(snapshot.ParentExecId);
        if (!snapshot.Arguments.IsDefault) info.Arguments.AddRange(snapshot.Arguments);
        if (snapshot.Exit is { } exit)
        {
            info.Exit = new WireExit
            {
                Status = exit.Status,
                Signal = exit.Signal,
                Ktime = exit.Ktime,
                TimeUnixTicks = ToUnixTicks(exit.Time),
                LastTid = exit.LastTid,
                Conclusion = (uint)exit.Conclusion,
                EndedAfterUnixTicks = exit.EndedAfter is { } after ? ToUnixTicks(after) : 0,
            };
        }
        return info;
    }

    /// <summary>
    /// The snapshot a message was made from when it was made in this process for this process
    /// (<see cref="ProcessInfo.Source"/>), else one rebuilt from its fields.
    /// </summary>
    public static ProcessSnapshot ToSnapshot(ProcessInfo info)
    {
        if (info.Source is { } source) return source;
        if (info.ExecId is null) throw new WireFormatException($"process pid {info.Pid} ({info.Binary}) has no exec_id");
        var exit = info.Exit is null
            ? null
            : new ProcessExit(info.Exit.Status, info.Exit.Signal, info.Exit.Ktime, FromUnixTicks(info.Exit.TimeUnixTicks), info.Exit.LastTid,
                (ExitConclusion)info.Exit.Conclusion,
                info.Exit.Conclusion == 0 ? null : FromUnixTicks(info.Exit.EndedAfterUnixTicks));
        return new ProcessSnapshot(
            ToExecId(info.ExecId),
            info.ParentExecId is null ? default : ToExecId(info.ParentExecId),
            info.Pid,
            info.Binary,
            [.. info.Arguments],
            info.Cwd,
            ToCredentials(info.Credentials),
            ToCapabilities(info.Capabilities),
            ToNamespaces(info.Namespaces),
            info.Auid,
            info.CgroupId,
            info.StartKtime,
            FromUnixTicks(info.StartTimeUnixTicks),
            (ProcessFlags)info.Flags,
            exit,
            info.Container is { } container ? ToContainerIdentity(container) : null,
            info.Details is { } details ? ToExecDetails(details) : default,
            info.InInitTree,
            info.UserName.Length > 0 ? info.UserName : null);
    }

    private static WireContainer ToWire(ContainerIdentity container)
    {
        var wire = new WireContainer { Id = container.ContainerId, PodUid = container.PodUid ?? "" };
        if (container.Pod is not { } pod) return wire;
        wire.Pod = new WirePod { Namespace = pod.Namespace, Name = pod.Name, Workload = pod.Workload, WorkloadKind = pod.WorkloadKind };
        foreach (var (key, value) in pod.Labels) wire.Pod.Labels.Add(new WireLabel { Key = key, Value = value });
        if (!pod.Annotations.IsDefaultOrEmpty)
            foreach (var (key, value) in pod.Annotations) wire.Pod.Annotations.Add(new WireLabel { Key = key, Value = value });
        if (pod.Container is { } named)
        {
            wire.Pod.Container = new WirePodContainer
            {
                RuntimeId = named.RuntimeId, Name = named.Name, ImageName = named.ImageName, ImageId = named.ImageId,
                StartedAtUnixTicks = named.StartedAt is { } started ? ToUnixTicks(started) : 0, Privileged = named.Privileged,
            };
            if (!named.ExecProbes.IsDefaultOrEmpty)
                foreach (var probe in named.ExecProbes) wire.Pod.Container.ExecProbes.Add(new WireProbeCommand { Argv = { probe } });
        }
        return wire;
    }

    private static ContainerIdentity ToContainerIdentity(WireContainer wire)
    {
        var podUid = wire.PodUid.Length > 0 ? wire.PodUid : null;
        if (wire.Pod is not { } pod) return new ContainerIdentity(wire.Id, podUid);
        var named = pod.Container is { } container ? ToKubernetesContainer(container) : null;
        return new ContainerIdentity(wire.Id, podUid,
            new KubernetesPod(podUid ?? "", pod.Namespace, pod.Name, ToPairs(pod.Labels), pod.Workload, pod.WorkloadKind, named, ToPairs(pod.Annotations)));
    }

    private static ImmutableArray<KeyValuePair<string, string>> ToPairs(Google.Protobuf.Collections.RepeatedField<WireLabel> wire)
    {
        if (wire.Count == 0) return [];
        var pairs = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>(wire.Count);
        foreach (var pair in wire) pairs.Add(new KeyValuePair<string, string>(pair.Key, pair.Value));
        return pairs.MoveToImmutable();
    }

    private static KubernetesContainer ToKubernetesContainer(WirePodContainer wire)
    {
        var probes = ImmutableArray<ImmutableArray<string>>.Empty;
        if (wire.ExecProbes.Count > 0)
        {
            var builder = ImmutableArray.CreateBuilder<ImmutableArray<string>>(wire.ExecProbes.Count);
            foreach (var probe in wire.ExecProbes) builder.Add([.. probe.Argv]);
            probes = builder.MoveToImmutable();
        }
        return new KubernetesContainer(wire.RuntimeId, wire.Name, wire.ImageName, wire.ImageId,
            wire.StartedAtUnixTicks == 0 ? null : FromUnixTicks(wire.StartedAtUnixTicks), wire.Privileged, probes);
    }

    private static WireExecDetails ToWire(ExecDetails details) => new()
    {
        SecureBits = details.SecureBits,
        UserNs = details.UserNamespace is { } owner ? new WireUserNamespace { Level = owner.Level, Uid = owner.Uid, Gid = owner.Gid } : null,
        NamespacePid = details.NamespacePid,
        FileMode = details.File.Mode,
        FileUid = details.File.Uid,
        FileGid = details.File.Gid,
        FileInode = details.File.Inode,
        FileLinks = details.File.Links,
    };

    private static ExecDetails ToExecDetails(WireExecDetails wire) => new(
        wire.SecureBits,
        wire.UserNs is { } owner ? new UserNamespaceOwner(owner.Level, owner.Uid, owner.Gid) : null,
        wire.NamespacePid,
        new ExecutedFile(wire.FileMode, wire.FileUid, wire.FileGid, wire.FileInode, wire.FileLinks));

    public static TreeProcess ToWire(TreeProcessView view)
    {
        var wire = new TreeProcess { Process = ToWire(view.Snapshot), StartPending = !view.Started };
        if (view.ReplacedAt is { } replacedAt)
        {
            wire.Replaced = true;
            wire.ReplacedTimeUnixTicks = ToUnixTicks(replacedAt);
        }
        return wire;
    }

    public static TreeProcessView ToTreeProcess(TreeProcess wire) => new(
        ToSnapshot(wire.Process ?? throw new WireFormatException("tree process without process info")),
        wire.Replaced ? FromUnixTicks(wire.ReplacedTimeUnixTicks) : null,
        Started: !wire.StartPending);

    public static RetiredTreeEvent ToWire(RetiredEvent retired) => new() { ExecId = ToWire(retired.Process), Exit = retired.IsExit };

    public static RetiredEvent ToRetiredEvent(RetiredTreeEvent wire) =>
        new(ToExecId(wire.ExecId ?? throw new WireFormatException("retired event without exec_id")), wire.Exit);

    public static EndedTreeImage ToWire(EndedImage ended) => new() { ExecId = ToWire(ended.Image), StartUnixTicks = ToUnixTicks(ended.StartTime) };

    public static EndedImage ToEndedImage(EndedTreeImage wire) =>
        new(ToExecId(wire.ExecId ?? throw new WireFormatException("ended image without exec_id")), FromUnixTicks(wire.StartUnixTicks));

    public static LiveLineage ToWire(TreeLineage lineage)
    {
        var wire = new LiveLineage { Process = ToWire(lineage.Process) };
        foreach (var ancestor in lineage.Ancestors) wire.Ancestors.Add(ToWire(ancestor));
        foreach (var descendant in lineage.Descendants)
            wire.Descendants.Add(new LineageDescendant { Process = ToWire(descendant.Process), Depth = descendant.Depth });
        if (lineage.ContinueAt is { } continueAt) wire.AncestorsContinueAt = ToWire(continueAt);
        return wire;
    }

    public static WireExecId ToWire(ExecId execId) =>
        new() { Node = execId.Node ?? "", StartKtime = execId.StartKtime, Pid = execId.Pid };

    public static ExecId ToExecId(WireExecId wire) => new(wire.Node, wire.StartKtime, wire.Pid);

    /// <summary>The "no parent" value of <see cref="ProcessSnapshot.ParentExecId"/>.</summary>
    public static bool IsNone(ExecId execId) => execId.Node is null && execId.Pid == 0 && execId.StartKtime == 0;

    /// <summary>UTC ticks since the Unix epoch: exact for any DateTime, unlike nanoseconds in an int64.</summary>
    public static long ToUnixTicks(DateTime time) => time.Ticks - DateTime.UnixEpoch.Ticks;

    public static DateTime FromUnixTicks(long unixTicks)
    {
        var ticks = unixTicks + DateTime.UnixEpoch.Ticks;
        if (ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks)
            throw new WireFormatException($"time {unixTicks} (100 ns ticks since the Unix epoch) is outside the DateTime range");
        return new DateTime(ticks, DateTimeKind.Utc);
    }

    private static EnrichedHook ToEnrichedHook(WireEvent wire, DateTime time, ProcessSnapshot process, ProcessSnapshot? parent, AncestorChain? ancestors)
    {
        var hook = wire.Hook ?? throw new WireFormatException($"hook event {wire.EventId} has no hook fields");
        if (hook.Arguments.Count != HookArguments.Count)
            throw new WireFormatException($"hook event {wire.EventId} has {hook.Arguments.Count} arguments, expected {HookArguments.Count}");
        var arguments = new HookArguments();
        for (var i = 0; i < HookArguments.Count; i++) arguments[i] = hook.Arguments[i];
        var hookEvent = new HookEvent(
            process.Pid, hook.Tid, wire.Ktime, hook.StartKtime,
            new HookDescriptor(hook.HookId, hook.HookName, (HookKind)hook.HookKind, hook.ChangesCredentials),
            (HookPhase)hook.Phase, hook.SyscallNr, hook.ReturnValue,
            ToCredentials(hook.Credentials), ToCapabilities(hook.Capabilities), ToNamespaces(hook.Namespaces),
            arguments);
        var thread = hook.HasThread ? new ThreadSnapshot(process, hookEvent) : null;
        return new EnrichedHook(wire.Host, time, wire.Ktime, process, parent, ancestors, hookEvent, thread);
    }

    private static WireHook ToWire(HookEvent hook, bool hasThread)
    {
        var wire = new WireHook
        {
            Tid = hook.Tid,
            StartKtime = hook.StartKtime,
            HookId = hook.Hook.Id,
            HookName = hook.Hook.Name,
            HookKind = (uint)hook.Hook.Kind,
            ChangesCredentials = hook.Hook.ChangesCredentials,
            Phase = (uint)hook.Phase,
            SyscallNr = hook.SyscallNr,
            ReturnValue = hook.Return,
            Credentials = ToWire(hook.Credentials),
            Capabilities = ToWire(hook.Capabilities),
            Namespaces = ToWire(hook.Namespaces),
            HasThread = hasThread,
        };
        var arguments = hook.Arguments;
        for (var i = 0; i < HookArguments.Count; i++) wire.Arguments.Add(arguments[i]);
        return wire;
    }

    private static AncestorChain? ToAncestorChain(IList<ProcessInfo> ancestors)
    {
        AncestorChain? chain = null;
        for (var i = ancestors.Count - 1; i >= 0; i--) chain = new AncestorChain(ToSnapshot(ancestors[i]), chain);
        return chain;
    }

    private static char KindLetter(EnrichedKind kind) => kind switch
    {
        EnrichedKind.Exec => 'x',
        EnrichedKind.Exit => 'e',
        EnrichedKind.Clone => 'c',
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "hooks have their own event id form"),
    };

    private static WireCredentials ToWire(Credentials c) => new()
    {
        Uid = c.Uid, Gid = c.Gid, Euid = c.Euid, Egid = c.Egid, Suid = c.Suid, Sgid = c.Sgid, Fsuid = c.Fsuid, Fsgid = c.Fsgid,
    };

    private static Credentials ToCredentials(WireCredentials? c) =>
        c is null ? default : new Credentials(c.Uid, c.Gid, c.Euid, c.Egid, c.Suid, c.Sgid, c.Fsuid, c.Fsgid);

    private static WireCapabilities ToWire(Capabilities c) =>
        new() { Permitted = c.Permitted, Effective = c.Effective, Inheritable = c.Inheritable };

    private static Capabilities ToCapabilities(WireCapabilities? c) =>
        c is null ? default : new Capabilities(c.Permitted, c.Effective, c.Inheritable);

    private static WireNamespaces ToWire(Namespaces n) => new()
    {
        Uts = n.Uts, Ipc = n.Ipc, Mnt = n.Mnt, Pid = n.Pid, PidForChildren = n.PidForChildren, Net = n.Net,
        Time = n.Time, TimeForChildren = n.TimeForChildren, Cgroup = n.Cgroup, User = n.User, HostOwned = n.HostOwned,
    };

    private static Namespaces ToNamespaces(WireNamespaces? n) =>
        n is null ? default : new Namespaces(n.Uts, n.Ipc, n.Mnt, n.Pid, n.PidForChildren, n.Net, n.Time, n.TimeForChildren, n.Cgroup, n.User,
            // A malformed mask keeps only the ten kinds' bits.
            (ushort)(n.HostOwned & 0x3ff));
}

/// <summary>A wire or journal message that cannot be turned back into Contracts values.</summary>
public sealed class WireFormatException(string message) : Exception(message);
