using Forkline.Gateway;

namespace Forkline.Hosting;

/// <summary>
/// Cluster formation in Kubernetes without a seed list (<see cref="KubernetesSeedDiscovery"/>): the
/// gateway pods are found through the Kubernetes API by label; the lowest address forms the cluster
/// when none exists, the others join it.
/// </summary>
public sealed record KubernetesBootstrapSettings
{
    /// <summary>Selects the gateway pods.</summary>
    public string PodLabelSelector { get; init; } = "app.kubernetes.io/name=forkline-gateway";

    /// <summary>Namespace of the gateway pods; empty = the pod's own (from its service account).</summary>
    public string PodNamespace { get; init; } = "";

    /// <summary>Gateway pods that must be found before joining (the gateway replica count).</summary>
    public int RequiredContactPoints { get; init; } = 2;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(PodLabelSelector))
            throw new ArgumentException("Cluster:Kubernetes:PodLabelSelector is empty: Kubernetes bootstrap needs a selector for the gateway pods, e.g. app.kubernetes.io/name=forkline-gateway");
        if (RequiredContactPoints < 1) throw new SettingOutOfRangeException(nameof(RequiredContactPoints), RequiredContactPoints, "1 or more gateway pods");
    }
}
