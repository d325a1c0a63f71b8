using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Hosting;
using Forkline.Forwarding;
using Forkline.Gateway.History;
using Forkline.Gateway.HostTree;
using Forkline.Gateway.Ingest;
using Forkline.Gateway.Queries;
using Forkline.Gateway.Storage;
using Forkline.Gateway.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forkline.Hosting;

/// <summary>
/// A running gateway, the only kind of cluster member: host entities, the history projection, the
/// queries, and (with <see cref="GatewaySettings.Ingest"/>) the listener its collectors stream to.
/// In <c>forkline run</c> it also forwards its own host's events, in process. A part of a node's host
/// (<see cref="AddGateway"/>), started after the actor system and stopped before it.
/// </summary>
public sealed class GatewayNode : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan ShutdownFlushTimeout = TimeSpan.FromSeconds(3);

    private const string ClusterPortSetting = "--cluster-port (forkline run) or Cluster:Port (gateway)";

    private readonly IServiceProvider _services;
    private ActorSystem? _system;
    private ProcessQueries? _queries;
    private IActorRef? _hostTrees;

    /// <summary>The host this node was started in by <see cref="StartAsync(GatewaySettings, ILoggerFactory?, CancellationToken)"/>; null inside a node's host.</summary>
    private IHost? _ownHost;

    private GatewayNode(GatewaySettings settings, DatabaseSettings database, GatewayMetrics metrics, PrometheusExport metricsExport,
        StoreHealth store, HistoryStore history, IServiceProvider services)
    {
        Settings = settings;
        Database = database;
        Metrics = metrics;
        MetricsExport = metricsExport;
        Store = store;
        History = history;
        _services = services;
    }

    public GatewaySettings Settings { get; }

    /// <summary>The database this node stores in (<see cref="GatewaySettings.Database"/> in its data directory).</summary>
    public DatabaseSettings Database { get; }

    internal GatewayMetrics Metrics { get; }

    /// <summary>This node's metrics as /metrics shows them.</summary>
    public PrometheusExport MetricsExport { get; }

    /// <summary>Whether the database takes writes (see <see cref="IsReady"/>).</summary>
    public StoreHealth Store { get; }

    private HistoryStore History { get; }

    public ActorSystem System => _system ?? throw NotStarted();

    /// <summary>The host-entity shard region.</summary>
    public IActorRef HostTrees => _hostTrees ?? throw NotStarted();

    public ProcessQueries Queries => _queries ?? throw NotStarted();

    /// <summary>Where this node's own process actors deliver enriched events (<c>forkline run</c>); null on a gateway of a fleet.</summary>
    public GatewayForwarder? Forwarder { get; private set; }

    /// <summary>The listener collectors stream to; null without <see cref="GatewaySettings.Ingest"/>.</summary>
    public IngestServer? Ingest { get; private set; }

    /// <summary>This node's cluster address (with the real port when started on port 0).</summary>
    public Address Address => Akka.Cluster.Cluster.Get(System).SelfAddress;

    public string SeedAddress => Address.ToString();

    /// <summary>
    /// Registers a gateway in a node's host: its storage (<see cref="GatewayStorage"/>), its actor system
    /// (<see cref="AkkaComposition.WithGatewayMember"/>) and the node itself, in that start order.
    /// </summary>
    public static HostApplicationBuilder AddGateway(HostApplicationBuilder builder, GatewaySettings settings)
    {
        settings.Validate();
        // First: the port is this node's from before Akka.Remote, which shares a port (SO_REUSEPORT), binds it
        // until after it closed; a node starting on it meanwhile, at the same instant too, is refused in one line.
        builder.Services.AddHostedService(_ => new PortClaim(settings.Cluster.Hostname, settings.Cluster.Port, "cluster", ClusterPortSetting));
        var registry = settings.MetricsRegistry ?? Prometheus.Metrics.DefaultRegistry;
        var export = new PrometheusExport(registry);
        builder.Services.AddSingleton(_ => export);
        var metrics = new GatewayMetrics(export.Meters);
        var database = settings.Database.In(settings.DataDirectory);
        var history = new HistoryStore(database);
        builder.Services.AddSingleton(services => new StoreHealth(database.Describe(),
            services.GetRequiredService<ILoggerFactory>().CreateLogger<StoreHealth>(), export.Meters));
        builder.Services.AddHostedService(services => new GatewayStorage(settings, database, history, services));
        builder.AddActorSystem(GatewaySettings.SystemName, settings.Cluster.LogLevel,
            (akka, services) => akka.WithGatewayMember(settings, database, metrics, history, services.GetRequiredService<StoreHealth>()));
        builder.Services.AddSingleton(services => new GatewayNode(settings, database, metrics, services.GetRequiredService<PrometheusExport>(),
            services.GetRequiredService<StoreHealth>(), history, services));
        builder.Services.AddHostedService(services => services.GetRequiredService<GatewayNode>());
        return builder;
    }

    /// <summary>A gateway alone in a host of its own (tests, benchmarks); disposing it stops that host.</summary>
    /// <param name="loggerFactory">Where the node logs, Akka's own logging included; null = nowhere.</param>
    public static async Task<GatewayNode> StartAsync(GatewaySettings settings, ILoggerFactory? loggerFactory = null, CancellationToken ct = default)
    {
        var host = await NodeHost.StartAsync(AddGateway(NodeHost.CreateBuilder(loggerFactory), settings), ct);
        var node = host.Services.GetRequiredService<GatewayNode>();
        node._ownHost = host;
        return node;
    }

    async Task IHostedService.StartAsync(CancellationToken ct)
    {
        var system = _services.GetRequiredService<ActorSystem>();
        _system = system;
        Metrics.ObserveCluster(system);
        var cluster = Akka.Cluster.Cluster.Get(system);
        if (Settings.Cluster.Bootstrap == ClusterBootstrap.Kubernetes)
        {
            // Joining waits for the other gateway pods; the node meanwhile starts, and its ingest refuses streams until Up.
            new KubernetesSeedDiscovery(system, Settings.Cluster).Start();
        }
        else if (Settings.Cluster.Seeds.Length == 0)
        {
            await cluster.JoinAsync(cluster.SelfAddress, ct);
        }

        var hostTrees = await _services.GetRequiredService<ActorRegistry>().GetAsync<HostTreeEntity>(ct);
        _hostTrees = hostTrees;
        var liveHub = system.ActorOf(LiveEventHub.Props(Metrics), "forkline-live-hub");
        _queries = new ProcessQueries(system, hostTrees, liveHub, History, Settings.AskTimeout);
        Forwarder = Settings.Collector
            ? GatewayForwarder.Start(system, new ForwarderDelivery.ToHostTrees(hostTrees), Settings.Forwarder, new ForwarderMetrics(MetricsExport.Meters))
            : null;
        if (Settings.Ingest is { } ingest)
        {
            X509Certificate2? certificate = null, authority = null;
            if (Settings.Cluster.Tls.Enabled) (certificate, authority) = Settings.Cluster.Tls.Load();
            Ingest = await IngestServer.StartAsync(ingest, new IngestGateway(hostTrees, () => IsUp, Settings.AskTimeout, GatewayDepartures.Of(system, Settings.Cluster.DownRemovalMargin + UnsettledAfterMargin)),
                Metrics, certificate, authority, _services.GetRequiredService<ILoggerFactory>(), ct);
        }
    }

    /// <summary>
    /// Ends the collectors' streams (they move to another gateway) and gives the forwarder a moment to
    /// deliver what it holds; the actor system then leaves the cluster and stops, and what the forwarder
    /// still holds is counted as dropped (reason "shutdown").
    /// </summary>
    async Task IHostedService.StopAsync(CancellationToken ct)
    {
        var ingest = Ingest;
        Ingest = null;
        if (ingest is not null) await ingest.DisposeAsync();
        // A downed node's actor system has ended already: no forwarder is left to flush.
        if (Forwarder is not null && _system is { WhenTerminated.IsCompleted: false }) await Forwarder.FlushAsync(ShutdownFlushTimeout);
    }

    /// <summary>After a gateway's removal and the down-removal margin, how long its shards' allocation and recovery may take on a loaded cluster.</summary>
    private static readonly TimeSpan UnsettledAfterMargin = TimeSpan.FromSeconds(5);

    /// <summary>
    /// This node is an Up member of the cluster. Before that (joining) and after it (downed, leaving)
    /// its shard region has no coordinator, so host entities neither take events nor answer queries.
    /// </summary>
    public bool IsUp => Akka.Cluster.Cluster.Get(System).SelfMember.Status == Akka.Cluster.MemberStatus.Up;

    /// <summary>What /readyz answers: Up in the cluster, and the database takes writes (events would only pile up in the forwarders otherwise).</summary>
    public bool IsReady => IsUp && Store.Writable;

    /// <summary>
    /// The cluster downed this node (its split-brain resolver, after the node was unreachable too long):
    /// its actor system ended on its own. Such a system cannot rejoin; only a new node can.
    /// </summary>
    public bool IsDowned => CoordinatedShutdown.Get(System).ShutdownReason is CoordinatedShutdown.ClusterDowningReason;

    /// <summary>Completes once this node is Up in the cluster.</summary>
    public Task WaitUntilUpAsync(TimeSpan timeout)
    {
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Akka.Cluster.Cluster.Get(System).RegisterOnMemberUp(() => up.TrySetResult());
        return up.Task.WaitAsync(timeout);
    }

    /// <summary>Stops the host of a node started by <see cref="StartAsync(GatewaySettings, ILoggerFactory?, CancellationToken)"/>; nothing inside a node's host, which stops its parts itself.</summary>
    public async ValueTask DisposeAsync()
    {
        var host = Interlocked.Exchange(ref _ownHost, null);
        if (host is null) return;
        await host.StopAsync(CancellationToken.None);
        host.Dispose();
    }

    private static InvalidOperationException NotStarted() => new("the gateway node has not started");
}
