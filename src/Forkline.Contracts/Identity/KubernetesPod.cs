using System.Collections.Immutable;

namespace Forkline.Contracts.Identity;

/// <summary>
/// A pod as the Kubernetes API server describes it, with the container a process runs in when the
/// pod's status names it (null: the pod is known, its container not yet, as before the kubelet
/// reports a container's id). <see cref="Labels"/> are sorted by key. <see cref="Workload"/> is the
/// controller that owns the pod (a ReplicaSet's Deployment, a DaemonSet, a StatefulSet, a Job),
/// or the pod itself when nothing owns it. <see cref="Annotations"/>, sorted by key, are read only when
/// asked for (Tetragon's <c>--enable-pod-annotations</c>: they are often large, and may hold what the
/// pod's owner did not mean to publish); empty otherwise.
/// </summary>
public sealed record KubernetesPod(
    string Uid,
    string Namespace,
    string Name,
    ImmutableArray<KeyValuePair<string, string>> Labels,
    string Workload,
    string WorkloadKind,
    KubernetesContainer? Container = null,
    ImmutableArray<KeyValuePair<string, string>> Annotations = default)
{
    /// <summary>Equal when every field is, labels and annotations compared pair by pair (an array compares by reference).</summary>
    public bool Equals(KubernetesPod? other) =>
        other is not null
        && (Uid, Namespace, Name, Workload, WorkloadKind, Container) == (other.Uid, other.Namespace, other.Name, other.Workload, other.WorkloadKind, other.Container)
        && Labels.AsSpan().SequenceEqual(other.Labels.AsSpan())
        && Annotations.AsSpan().SequenceEqual(other.Annotations.AsSpan());

    public override int GetHashCode() => HashCode.Combine(Uid, Namespace, Name, Container);
}

/// <summary>
/// One container of a pod: <see cref="RuntimeId"/> as the pod's status writes it
/// (<c>containerd://&lt;64 hex&gt;</c>, <c>cri-o://…</c>, <c>docker://…</c>), its name in the pod
/// spec, and the image it runs: <see cref="ImageName"/> as asked for, <see cref="ImageId"/> as resolved (digest).
/// <see cref="StartedAt"/>: when its status says it started running (null while it does not run).
/// <see cref="Privileged"/>: its spec's <c>securityContext.privileged</c>. <see cref="ExecProbes"/>: the
/// commands of its liveness and readiness probes that run a command (<c>exec</c>), each argv whole.
/// </summary>
public sealed record KubernetesContainer(
    string RuntimeId,
    string Name,
    string ImageName,
    string ImageId,
    DateTime? StartedAt = null,
    bool Privileged = false,
    ImmutableArray<ImmutableArray<string>> ExecProbes = default)
{
    /// <summary>The container id without the runtime's scheme: the id cgroups are named by.</summary>
    public ReadOnlySpan<char> Id
    {
        get
        {
            var scheme = RuntimeId.IndexOf("://", StringComparison.Ordinal);
            return scheme < 0 ? RuntimeId : RuntimeId.AsSpan(scheme + 3);
        }
    }

    /// <summary>Equal when every field is, the probes compared argument by argument (an array compares by reference).</summary>
    public bool Equals(KubernetesContainer? other)
    {
        if (other is null
            || (RuntimeId, Name, ImageName, ImageId, StartedAt, Privileged) != (other.RuntimeId, other.Name, other.ImageName, other.ImageId, other.StartedAt, other.Privileged)
            || ExecProbes.IsDefaultOrEmpty != other.ExecProbes.IsDefaultOrEmpty)
            return false;
        if (ExecProbes.IsDefaultOrEmpty) return true;
        if (ExecProbes.Length != other.ExecProbes.Length) return false;
        for (var i = 0; i < ExecProbes.Length; i++)
            if (!ExecProbes[i].AsSpan().SequenceEqual(other.ExecProbes[i].AsSpan())) return false;
        return true;
    }

    public override int GetHashCode() => HashCode.Combine(RuntimeId, Name, ImageName, ImageId);

    /// <summary>
    /// Tetragon's <c>maybe_exec_probe</c>: the process may have been started by one of the probes, its
    /// binary being the probe command's first word (a bare name matches the binary's file name, a path
    /// the whole path) and its arguments the rest of the command. <paramref name="argv"/> includes argv[0].
    /// </summary>
    public bool MaybeExecProbe(string binary, ImmutableArray<string> argv)
    {
        if (ExecProbes.IsDefaultOrEmpty || argv.IsDefaultOrEmpty) return false;
        var fileName = binary.AsSpan(binary.LastIndexOf('/') + 1);
        foreach (var probe in ExecProbes)
        {
            if (probe.Length == 0 || probe.Length != argv.Length) continue;
            var program = probe[0];
            if (!(program.Contains('/') ? program == binary : fileName.SequenceEqual(program))) continue;
            if (probe.AsSpan()[1..].SequenceEqual(argv.AsSpan()[1..])) return true;
        }
        return false;
    }
}
