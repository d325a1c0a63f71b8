using Forkline.Gateway.Hosting;
using Forkline.Gateway.Tests.Support;

namespace Forkline.Cluster.Tests;

/// <summary>Several Forkline nodes in this process on loopback ports, sharing one SQLite file; stops them all.</summary>
public sealed class Fleet : IAsyncDisposable
{
    private readonly TestDatabase _data = new();
    private readonly List<GatewayNode> _nodes = [];

    public string DataDirectory => _data.Path;

    public DatabaseSettings Database => _data.Settings;

    public async Task<GatewayNode> StartGatewayAsync(IReadOnlyList<string>? seeds = null, int port = 0, ClusterTlsSettings? tls = null) =>
        Track(await TestNodes.StartAsync(TestNodes.Settings(_data, collector: false, seeds: seeds) with { Port = port, Tls = tls }));

    /// <summary>Returns without waiting to be Up: a collector may start before any gateway can take it.</summary>
    public async Task<GatewayNode> StartCollectorAsync(IReadOnlyList<string> seeds, Gateway.Cluster.ForwarderSettings? forwarder = null, ClusterTlsSettings? tls = null)
    {
        var settings = TestNodes.Settings(_data, gateway: false, seeds: seeds) with { Tls = tls };
        return Track(await GatewayNode.StartAsync(forwarder is null ? settings : settings with { Forwarder = forwarder }));
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_nodes.Select(n => n.DisposeAsync().AsTask()));
        _data.Dispose();
    }

    private GatewayNode Track(GatewayNode node)
    {
        _nodes.Add(node);
        return node;
    }
}
