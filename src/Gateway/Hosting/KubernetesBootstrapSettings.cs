namespace Forkline.Gateway.Hosting;

/// <summary>
/// Cluster formation in Kubernetes without a seed list (<see cref="KubernetesSeedDiscovery"/>): the
/// gateway pods are found through the Kubernetes API by label; the lowest address forms the cluster
/// when none exists, the others join it. Collector nodes find the same pods and join them.
/// </summary>
/// <param name="PodLabelSelector">Selects the gateway pods.</param>
/// <param name="PodNamespace">Namespace of the gateway pods; null = the pod's own (from its service account).</param>
/// <param name="RequiredContactPoints">Gateway pods that must be found before joining (the gateway replica count).</param>
public sealed record KubernetesBootstrapSettings(
    string PodLabelSelector = "app.kubernetes.io/name=forkline-gateway",
    string? PodNamespace = null,
    int RequiredContactPoints = 2)
{
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(PodLabelSelector)) throw new ArgumentException("Kubernetes bootstrap needs a pod label selector for the gateway pods, e.g. app.kubernetes.io/name=forkline-gateway");
        if (RequiredContactPoints < 1) throw new ArgumentOutOfRangeException(nameof(RequiredContactPoints), RequiredContactPoints, "at least one contact point");
    }
}
