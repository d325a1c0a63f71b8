using System.Collections.Immutable;

namespace Forkline.Contracts.Identity;

/// <summary>
/// A pod as the Kubernetes API server describes it, with the container a process runs in when the
/// pod's status names it (null: the pod is known, its container not yet, as before the kubelet
/// reports a container's id). <see cref="Labels"/> are sorted by key. <see cref="Workload"/> is the
/// controller that owns the pod (a ReplicaSet's Deployment, a DaemonSet, a StatefulSet, a Job),
/// or the pod itself when nothing owns it.
/// </summary>
public sealed record KubernetesPod(
    string Uid,
    string Namespace,
    string Name,
    ImmutableArray<KeyValuePair<string, string>> Labels,
    string Workload,
    string WorkloadKind,
    KubernetesContainer? Container = null)
{
    /// <summary>Equal when every field is, the labels compared pair by pair (an array compares by reference).</summary>
    public bool Equals(KubernetesPod? other) =>
        other is not null
        && (Uid, Namespace, Name, Workload, WorkloadKind, Container) == (other.Uid, other.Namespace, other.Name, other.Workload, other.WorkloadKind, other.Container)
        && Labels.AsSpan().SequenceEqual(other.Labels.AsSpan());

    public override int GetHashCode() => HashCode.Combine(Uid, Namespace, Name, Container);
}

/// <summary>
/// One container of a pod: <see cref="RuntimeId"/> as the pod's status writes it
/// (<c>containerd://&lt;64 hex&gt;</c>, <c>cri-o://…</c>, <c>docker://…</c>), its name in the pod
/// spec, and the image it runs: <see cref="ImageName"/> as asked for, <see cref="ImageId"/> as resolved (digest).
/// </summary>
public sealed record KubernetesContainer(string RuntimeId, string Name, string ImageName, string ImageId)
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
}
