using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Forkline.Gateway.Kubernetes;

namespace Forkline.Hosting;

/// <summary>
/// Finds the seed nodes in Kubernetes: the running gateway pods, listed through the Kubernetes API
/// with the pod's service account, at their "akka-remote" container port. Once the same set of at
/// least <see cref="KubernetesBootstrapSettings.RequiredContactPoints"/> pods is seen twice in a row,
/// the node joins them as seed nodes, lowest address first: with no cluster yet, that pod forms it
/// and the others join it (Akka's own seed-node protocol).
/// The API is called directly (<see cref="KubernetesApi"/>): the Akka.Management and
/// Akka.Discovery.KubernetesApi packages need dependency versions (Ceen.Httpd 0.9.9, KubernetesClient 17)
/// that the package registry here lacks.
/// </summary>
public sealed class KubernetesSeedDiscovery(ActorSystem system, ClusterSettings cluster)
{
    public const string RemotePortName = "akka-remote";
    private static readonly TimeSpan LookupInterval = TimeSpan.FromSeconds(2);

    private readonly ILoggingAdapter _log = Logging.GetLogger(system, nameof(KubernetesSeedDiscovery));

    /// <summary>Runs the discovery in the background; a failure that ends it is logged as an error.</summary>
    public void Start() => _ = RunAsync();

    /// <summary>The seed addresses in a pod list (the API's JSON): running pods with an IP and the remote port.</summary>
    public static List<Address> SeedsIn(JsonDocument podList, string protocol)
    {
        var seeds = new List<Address>();
        foreach (var pod in podList.RootElement.GetProperty("items").EnumerateArray())
        {
            var status = pod.GetProperty("status");
            if (status.TryGetProperty("phase", out var phase) && phase.GetString() != "Running") continue;
            if (!status.TryGetProperty("podIP", out var ip) || ip.GetString() is not { Length: > 0 } address) continue;
            var port = RemotePortOf(pod);
            if (port is not null) seeds.Add(new Address(protocol, GatewaySettings.SystemName, address, port));
        }
        seeds.Sort(Address.Comparer);
        return seeds;
    }

    private static int? RemotePortOf(JsonElement pod)
    {
        foreach (var container in pod.GetProperty("spec").GetProperty("containers").EnumerateArray())
        {
            if (!container.TryGetProperty("ports", out var ports)) continue;
            foreach (var port in ports.EnumerateArray())
                if (port.TryGetProperty("name", out var name) && name.GetString() == RemotePortName)
                    return port.GetProperty("containerPort").GetInt32();
        }
        return null;
    }

    private async Task RunAsync()
    {
        try
        {
            if (!KubernetesApi.InCluster)
                throw new InvalidOperationException("KUBERNETES_SERVICE_HOST is not set: Cluster:Bootstrap kubernetes works only inside a pod; elsewhere give Cluster:Seeds");
            using var api = KubernetesApi.CreateClient(TimeSpan.FromSeconds(5));
            IReadOnlyList<Address> previous = [];
            while (true)
            {
                var found = await LookupAsync(api);
                if (found.Count >= cluster.Kubernetes.RequiredContactPoints && found.SequenceEqual(previous))
                {
                    _log.Info("joining the gateway pods {0}", string.Join(", ", found));
                    await Akka.Cluster.Cluster.Get(system).JoinSeedNodesAsync(found);
                    return;
                }
                previous = found;
                await Task.Delay(LookupInterval);
            }
        }
        catch (Exception e)
        {
            _log.Error(e, "Kubernetes seed discovery stopped: this node will not join the cluster ({0})", e.Message);
        }
    }

    private async Task<IReadOnlyList<Address>> LookupAsync(HttpClient api)
    {
        var kubernetes = cluster.Kubernetes;
        var podNamespace = kubernetes.PodNamespace is { Length: > 0 } given ? given : await KubernetesApi.PodNamespaceAsync();
        var path = $"api/v1/namespaces/{Uri.EscapeDataString(podNamespace)}/pods?labelSelector={Uri.EscapeDataString(kubernetes.PodLabelSelector)}";
        try
        {
            using var response = await api.GetAsync(path);
            if (!response.IsSuccessStatusCode)
            {
                _log.Warning("listing pods '{0}' in namespace {1} answered {2}: give the service account get/list/watch on pods (deploy/kubernetes/rbac.yaml)",
                    kubernetes.PodLabelSelector, podNamespace, (int)response.StatusCode);
                return [];
            }
            using var pods = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
            return SeedsIn(pods, cluster.Protocol);
        }
        catch (HttpRequestException e)
        {
            _log.Warning("the Kubernetes API at {0} is not reachable: {1}; retrying", api.BaseAddress, e.Message);
            return [];
        }
    }
}
