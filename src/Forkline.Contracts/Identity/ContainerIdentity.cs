namespace Forkline.Contracts.Identity;

/// <summary>
/// The container a process runs in, as its container runtime named its cgroup: the full container id
/// (64 hex digits) and, for Kubernetes pods, the pod's UID. One instance per cgroup, shared by every
/// process in it. <see cref="Pod"/>: what the Kubernetes API server tells of the pod (and container),
/// when the node runs in Kubernetes and the pod is known to it; null otherwise.
/// </summary>
public sealed record ContainerIdentity(string ContainerId, string? PodUid, KubernetesPod? Pod = null)
{
    /// <summary>Length of Tetragon's "docker" field: the container id's first 31 characters.</summary>
    public const int TetragonDockerLength = 31;

    /// <summary>A filter value names this container: the full id or a prefix of it (docker ps prints 12 digits).</summary>
    public bool MatchesId(string idOrPrefix) =>
        idOrPrefix.Length > 0 && ContainerId.StartsWith(idOrPrefix, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// In the pod named <paramref name="podName"/> of <paramref name="podNamespace"/> (null: any), as the
    /// API server described it; a pod it did not describe matches neither.
    /// </summary>
    public bool InPod(string? podName, string? podNamespace) =>
        (podName is null || Pod?.Name == podName) && (podNamespace is null || Pod?.Namespace == podNamespace);
}
