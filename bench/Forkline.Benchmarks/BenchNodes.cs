using Forkline.Gateway.Cluster;
using Forkline.Gateway.Hosting;
using Forkline.Gateway.Tests.Support;
using Prometheus;

namespace Forkline.Benchmarks;

/// <summary>Cluster nodes for the gateway and fleet figures: one role each, on loopback, any free port.</summary>
internal static class BenchNodes
{
    public static GatewaySettings Settings(TestDatabase database, bool gateway, IReadOnlyList<string>? seeds) => new(
        Collector: !gateway,
        Gateway: gateway,
        Port: 0,
        SeedNodes: seeds,
        DataDirectory: database.Path,
        Database: database.Settings,
        // Production batching; the buffer holds a whole measured burst so nothing is dropped.
        Forwarder: new ForwarderSettings(MaxBufferedEvents: 1_000_000),
        // The first query of a host starts its entity; on a loaded 2-core machine that can pass 10 s.
        AskTimeout: TimeSpan.FromSeconds(60),
        MetricsRegistry: Metrics.NewCustomRegistry(),
        LogLevel: "ERROR");

    public static async Task<GatewayNode> StartAsync(GatewaySettings settings, TimeSpan patience)
    {
        var node = await GatewayNode.StartAsync(settings);
        await node.WaitUntilUpAsync(patience);
        return node;
    }
}
