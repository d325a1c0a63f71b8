using System.Net;
using System.Net.Sockets;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.History;
using Forkline.Gateway.Hosting;
using Forkline.Gateway.HostTree;
using Prometheus;

namespace Forkline.Gateway.Tests.Support;

/// <summary>Starts Forkline nodes on loopback with test-friendly timings (short flush, ack and poll intervals).</summary>
public static class TestNodes
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static GatewaySettings Settings(TestDatabase database, bool collector = true, bool gateway = true, IReadOnlyList<string>? seeds = null,
        int snapshotEvery = 5_000, bool persistHooks = false) => new(
        Collector: collector,
        Gateway: gateway,
        Port: 0,
        SeedNodes: seeds,
        DataDirectory: database.Path,
        Database: database.Settings,
        HostTree: new HostTreeSettings(SnapshotEvery: snapshotEvery, PersistHooks: persistHooks),
        Forwarder: new ForwarderSettings(BatchSize: 64, FlushInterval: TimeSpan.FromMilliseconds(20), AckTimeout: TimeSpan.FromSeconds(2), MaxRetryInterval: TimeSpan.FromSeconds(2)),
        QueryRefreshInterval: TimeSpan.FromMilliseconds(100),
        AskTimeout: TimeSpan.FromSeconds(20),
        MetricsRegistry: Prometheus.Metrics.NewCustomRegistry());

    public static async Task<GatewayNode> StartAsync(GatewaySettings settings)
    {
        var node = await GatewayNode.StartAsync(settings);
        try
        {
            await node.WaitUntilUpAsync(Patience);
            return node;
        }
        catch (TimeoutException)
        {
            await node.DisposeAsync();
            throw;
        }
    }

    /// <summary>Polls until the condition holds; fails the test with <paramref name="what"/> when it never does.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? Patience);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"never happened within {(within ?? Patience).TotalSeconds} s: {what}");
            await Task.Delay(50);
        }
    }

    /// <summary>A loopback port free right now (for a node that others must know the address of before it starts).</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
