using Akka.Actor;
using Forkline.Forwarding;
using Forkline.Gateway;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Forkline.Hosting;

/// <summary>Everything a collector node needs beside its event source.</summary>
public sealed record CollectorNodeSettings(GatewayLinkSettings Link)
{
    public const string SystemName = "forkline-collector";

    public ForwarderSettings Forwarder { get; init; } = new();

    /// <summary>Null = prometheus-net's default registry.</summary>
    public CollectorRegistry? MetricsRegistry { get; init; }

    /// <summary>Akka's log level (DEBUG, INFO, WARNING, ERROR): Cluster:LogLevel, the one Cluster setting a collector node reads.</summary>
    public string LogLevel { get; init; } = "WARNING";

    public void Validate()
    {
        Link.Validate();
        SettingOutOfRangeException.Within(nameof(Forwarder), Forwarder.Validate);
    }
}

/// <summary>
/// A collector node: a local actor system (no remoting, no cluster membership) for the process
/// actors and the forwarder, whose link streams to any gateway of the cluster. A part of a node's host
/// (<see cref="AddCollectorLink"/>), started after the actor system and stopped before it.
/// </summary>
public sealed class CollectorNode : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan ShutdownFlushTimeout = TimeSpan.FromSeconds(3);

    private readonly CollectorNodeSettings _settings;
    private readonly IServiceProvider _services;
    private ActorSystem? _system;
    private readonly ForwarderMetrics _forwarderMetrics;
    private GatewayForwarder? _forwarder;

    /// <summary>The host this node was started in by <see cref="StartAsync(CollectorNodeSettings, ILoggerFactory?, CancellationToken)"/>; null inside a node's host.</summary>
    private IHost? _ownHost;

    private CollectorNode(CollectorNodeSettings settings, PrometheusExport metrics, IServiceProvider services)
    {
        _settings = settings;
        MetricsExport = metrics;
        _forwarderMetrics = new ForwarderMetrics(metrics.Meters);
        _services = services;
    }

    public ActorSystem System => _system ?? throw NotStarted();

    /// <summary>This node's metrics as /metrics shows them.</summary>
    public PrometheusExport MetricsExport { get; }

    /// <summary>Where the process actors deliver enriched events.</summary>
    public GatewayForwarder Forwarder => _forwarder ?? throw NotStarted();

    /// <summary>Registers a collector's actor system and its link to the gateways in a node's host, in that start order.</summary>
    public static HostApplicationBuilder AddCollectorLink(HostApplicationBuilder builder, CollectorNodeSettings settings)
    {
        settings.Validate();
        builder.AddActorSystem(CollectorNodeSettings.SystemName, settings.LogLevel);
        builder.Services.AddSingleton(_ => new PrometheusExport(settings.MetricsRegistry ?? Prometheus.Metrics.DefaultRegistry));
        builder.Services.AddSingleton(services => new CollectorNode(settings, services.GetRequiredService<PrometheusExport>(), services));
        builder.Services.AddHostedService(services => services.GetRequiredService<CollectorNode>());
        return builder;
    }

    /// <summary>A collector link alone in a host of its own (tests, benchmarks); disposing it stops that host.</summary>
    /// <param name="loggerFactory">Where the node logs, Akka's own logging included; null = nowhere.</param>
    public static async Task<CollectorNode> StartAsync(CollectorNodeSettings settings, ILoggerFactory? loggerFactory = null, CancellationToken ct = default)
    {
        var host = await NodeHost.StartAsync(AddCollectorLink(NodeHost.CreateBuilder(loggerFactory), settings), ct);
        var node = host.Services.GetRequiredService<CollectorNode>();
        node._ownHost = host;
        return node;
    }

    Task IHostedService.StartAsync(CancellationToken cancellationToken)
    {
        _system = _services.GetRequiredService<ActorSystem>();
        _forwarder = GatewayForwarder.Start(_system, new ForwarderDelivery.OverGrpc(_settings.Link), _settings.Forwarder, _forwarderMetrics);
        return Task.CompletedTask;
    }

    /// <summary>Gives the forwarder a moment to deliver what it holds; what it still holds when the actor system stops is counted as dropped (reason "shutdown").</summary>
    async Task IHostedService.StopAsync(CancellationToken cancellationToken)
    {
        if (_forwarder is not null) await _forwarder.FlushAsync(ShutdownFlushTimeout);
    }

    /// <summary>Stops the host of a node started by <see cref="StartAsync(CollectorNodeSettings, ILoggerFactory?, CancellationToken)"/>; nothing inside a node's host, which stops its parts itself.</summary>
    public async ValueTask DisposeAsync()
    {
        var host = Interlocked.Exchange(ref _ownHost, null);
        if (host is null) return;
        await host.StopAsync(CancellationToken.None);
        host.Dispose();
    }

    private static InvalidOperationException NotStarted() => new("the collector node has not started");
}
