using System.Net;
using Forkline.Forwarding;
using Forkline.Gateway.Ingest;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;
using Prometheus;

namespace Forkline.Benchmarks;

/// <summary>Gateways and collector nodes for the gateway and fleet figures, on loopback, any free port.</summary>
internal static class BenchNodes
{
    /// <summary>Production batching; the buffer holds a whole measured burst so nothing is dropped.</summary>
    private static ForwarderSettings Forwarder => new() { MaxBufferedEvents = 1_000_000 };

    public static GatewaySettings Gateway(TestDatabase database, IReadOnlyList<string>? seeds) => new()
    {
        Collector = false,
        Cluster = new ClusterSettings { Port = 0, Seeds = [.. seeds ?? []], LogLevel = "ERROR" },
        DataDirectory = database.Path,
        Database = database.Settings,
        // The first query of a host starts its entity; on a loaded 2-core machine that can pass 10 s.
        AskTimeout = TimeSpan.FromSeconds(60),
        MetricsRegistry = Metrics.NewCustomRegistry(),
        Ingest = new IngestSettings(new IPEndPoint(IPAddress.Loopback, 0)),
    };

    public static Task<CollectorNode> StartCollectorAsync(IReadOnlyList<Uri> gateways) =>
        CollectorNode.StartAsync(new CollectorNodeSettings(new GatewayLinkSettings(gateways))
        {
            Forwarder = Forwarder, MetricsRegistry = Metrics.NewCustomRegistry(), LogLevel = "ERROR",
        });

    public static async Task<GatewayNode> StartAsync(GatewaySettings settings, TimeSpan patience)
    {
        var node = await GatewayNode.StartAsync(settings);
        await node.WaitUntilUpAsync(patience);
        return node;
    }
}
