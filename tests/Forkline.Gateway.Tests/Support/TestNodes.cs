using System.Net;
using System.Net.Sockets;
using Forkline.Forwarding;
using Forkline.Gateway.History;
using Forkline.Gateway.HostTree;
using Forkline.Gateway.Ingest;
using Forkline.Hosting;
using Prometheus;

namespace Forkline.Gateway.Tests.Support;

/// <summary>Starts Forkline nodes on loopback with test-friendly timings (short flush, ack and poll intervals).</summary>
public static class TestNodes
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>A gateway; with <paramref name="collector"/> it forwards in process (as <c>forkline run</c>), without it collectors stream to it on a free port.</summary>
    /// <param name="port">The cluster port; 0 = any free one.</param>
    public static GatewaySettings Settings(TestDatabase database, bool collector = true, IReadOnlyList<string>? seeds = null,
        int snapshotEvery = 5_000, bool persistHooks = false, int port = 0) => new()
    {
        Collector = collector,
        Cluster = new ClusterSettings { Port = port, Seeds = [.. seeds ?? []] },
        DataDirectory = database.Path,
        Database = database.Settings,
        HostTree = new HostTreeSettings { SnapshotEvery = snapshotEvery, PersistHooks = persistHooks },
        Forwarder = ForwarderForTests,
        QueryRefreshInterval = TimeSpan.FromMilliseconds(100),
        AskTimeout = TimeSpan.FromSeconds(20),
        MetricsRegistry = Prometheus.Metrics.NewCustomRegistry(),
        Ingest = collector ? null : new IngestSettings(new IPEndPoint(IPAddress.Loopback, 0)),
    };

    /// <summary>A collector node streaming to <paramref name="gateways"/>, with the same short timings and reconnects within a second.</summary>
    public static CollectorNodeSettings Collector(IReadOnlyList<Uri> gateways, ForwarderSettings? forwarder = null) =>
        new(new GatewayLinkSettings(gateways) { MinReconnectDelay = TimeSpan.FromMilliseconds(200), MaxReconnectDelay = TimeSpan.FromSeconds(1) })
        {
            Forwarder = forwarder ?? ForwarderForTests,
            MetricsRegistry = Prometheus.Metrics.NewCustomRegistry(),
        };

    private static ForwarderSettings ForwarderForTests =>
        new() { BatchSize = 64, FlushInterval = TimeSpan.FromMilliseconds(20), AckTimeout = TimeSpan.FromSeconds(2), MaxRetryInterval = TimeSpan.FromSeconds(2) };

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
    public static int FreePort() => FreePorts(1);

    // Below the kernel's ephemeral range (32768 and up by default): a port found free there and let go is not given
    // meanwhile to an outgoing connection (a database client's, a node's), as a port the kernel chose from that range is.
    private const int FirstPort = 20_000;
    private const int PortSpan = 12_000;
    // Each test process starts at its own place; within one, tests that run side by side take turns along the span.
    private static int _portCursor = Random.Shared.Next(PortSpan);

    /// <summary>The first of <paramref name="count"/> consecutive loopback ports, all free right now.</summary>
    public static int FreePorts(int count)
    {
        for (var attempt = 0; attempt < 1_000; attempt++)
        {
            var first = FirstPort + (int)((uint)Interlocked.Add(ref _portCursor, count) % (uint)(PortSpan - count));
            var free = true;
            for (var port = first; free && port < first + count; port++) free = IsFree(port);
            if (free) return first;
        }
        throw new InvalidOperationException($"no {count} consecutive free loopback ports between {FirstPort} and {FirstPort + PortSpan}");
    }

    private static bool IsFree(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        finally
        {
            listener.Stop();
        }
    }
}
