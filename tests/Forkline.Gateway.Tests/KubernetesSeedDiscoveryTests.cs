using System.Text.Json;
using Forkline.Hosting;

namespace Forkline.Gateway.Tests;

public sealed class KubernetesSeedDiscoveryTests
{
    [Fact]
    public void Seeds_are_the_running_pods_with_an_ip_at_their_akka_remote_port_lowest_address_first()
    {
        using var pods = JsonDocument.Parse("""
            { "kind": "PodList", "items": [
              { "metadata": { "name": "forkline-gateway-1" }, "status": { "phase": "Running", "podIP": "10.1.0.9" },
                "spec": { "containers": [ { "name": "gateway", "ports": [ { "name": "api-grpc", "containerPort": 7071 }, { "name": "akka-remote", "containerPort": 4053 } ] } ] } },
              { "metadata": { "name": "forkline-gateway-0" }, "status": { "phase": "Running", "podIP": "10.1.0.7" },
                "spec": { "containers": [ { "name": "gateway", "ports": [ { "name": "akka-remote", "containerPort": 4053 } ] } ] } },
              { "metadata": { "name": "forkline-gateway-2" }, "status": { "phase": "Pending" },
                "spec": { "containers": [ { "name": "gateway", "ports": [ { "name": "akka-remote", "containerPort": 4053 } ] } ] } },
              { "metadata": { "name": "no-remote-port" }, "status": { "phase": "Running", "podIP": "10.1.0.5" },
                "spec": { "containers": [ { "name": "sidecar" } ] } }
            ] }
            """);

        var seeds = KubernetesSeedDiscovery.SeedsIn(pods, "akka.ssl.tcp");

        Assert.Equal(["akka.ssl.tcp://forkline@10.1.0.7:4053", "akka.ssl.tcp://forkline@10.1.0.9:4053"], seeds.Select(s => s.ToString()));
    }
}
