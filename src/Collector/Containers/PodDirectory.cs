using Forkline.Contracts.Identity;

namespace Forkline.Collector.Containers;

/// <summary>
/// The pods of this node as the Kubernetes API server last described them, by container id and by pod
/// UID, for the decoder to attach to the container identities it reads from cgroup names. A watcher
/// publishes whole new listings; the decoding thread reads the latest one without a lock (a listing
/// is never changed once published).
/// </summary>
public sealed class PodDirectory
{
    private volatile Listing _current = Listing.Empty;

    /// <summary>The latest listing; a new instance after every <see cref="Publish"/>, so a reader can tell it changed.</summary>
    internal Listing Current => _current;

    /// <summary>Replaces the listing: each pod once without a container, and once per container its status names.</summary>
    public void Publish(IReadOnlyCollection<KubernetesPod> pods)
    {
        var byPodUid = new Dictionary<string, KubernetesPod>(StringComparer.Ordinal);
        var byContainerId = new Dictionary<string, KubernetesPod>(StringComparer.Ordinal);
        foreach (var pod in pods)
        {
            if (pod.Container is { } container) byContainerId[container.Id.ToString()] = pod;
            else byPodUid[pod.Uid] = pod;
        }
        _current = new Listing(byPodUid, byContainerId);
    }

    internal sealed class Listing(Dictionary<string, KubernetesPod> byPodUid, Dictionary<string, KubernetesPod> byContainerId)
    {
        public static readonly Listing Empty = new([], []);

        /// <summary>The pod and container of <paramref name="container"/>; the pod alone when its status does not name the container yet.</summary>
        public KubernetesPod? Find(ContainerIdentity container)
        {
            if (byContainerId.TryGetValue(container.ContainerId, out var withContainer)) return withContainer;
            return container.PodUid is { } uid && byPodUid.TryGetValue(uid, out var pod) ? pod : null;
        }
    }
}
