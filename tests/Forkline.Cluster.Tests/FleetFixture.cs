using System.Net;
using Forkline.Forwarding;
using Forkline.Gateway.Ingest;
using Forkline.Gateway.Storage;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;

namespace Forkline.Cluster.Tests;

/// <summary>Gateways and collectors in this process on loopback ports, the gateways sharing one SQLite file; stops them all.</summary>
public sealed class Fleet : IAsyncDisposable
{
    private readonly TestDatabase _data = new();
    private readonly List<IAsyncDisposable> _nodes = [];

    public string DataDirectory => _data.Path;

    public DatabaseSettings Database => _data.Settings;

    /// <param name="ingestPort">0 = any free port (<see cref="GatewayNode.Ingest"/> tells which).</param>
    public async Task<GatewayNode> StartGatewayAsync(IReadOnlyList<string>? seeds = null, int port = 0, ClusterTlsSettings? tls = null,
        int ingestPort = 0, IReadOnlyDictionary<string, string>? hostTokens = null)
    {
        var settings = TestNodes.Settings(_data, collector: false, seeds: seeds);
        return Track(await TestNodes.StartAsync(settings with
        {
            Cluster = settings.Cluster with { Port = port, Tls = tls ?? new ClusterTlsSettings() },
            Ingest = new IngestSettings(new IPEndPoint(IPAddress.Loopback, ingestPort), hostTokens),
        }));
    }

    /// <summary>A collector streaming to <paramref name="gateways"/>; it may start before any gateway can take it.</summary>
    public async Task<CollectorNode> StartCollectorAsync(IReadOnlyList<Uri> gateways, ForwarderSettings? forwarder = null, Func<GatewayLinkSettings, GatewayLinkSettings>? link = null)
    {
        var settings = TestNodes.Collector(gateways, forwarder);
        return Track(await CollectorNode.StartAsync(link is null ? settings : settings with { Link = link(settings.Link) }));
    }

    public Task<CollectorNode> StartCollectorAsync(params GatewayNode[] gateways) => StartCollectorAsync(gateways.Select(g => g.Ingest!.Address).ToList());

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_nodes.Select(n => n.DisposeAsync().AsTask()));
        _data.Dispose();
    }

    private T Track<T>(T node) where T : IAsyncDisposable
    {
        _nodes.Add(node);
        return node;
    }
}
