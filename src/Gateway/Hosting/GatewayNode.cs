using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Singleton;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.History;
using Forkline.Gateway.HostTree;
using Forkline.Gateway.Ingest;
using Forkline.Gateway.Telemetry;
using Forkline.Gateway.Queries;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Forkline.Gateway.Hosting;

/// <summary>
/// A running gateway, the only kind of cluster member: host entities, the history projection, the
/// queries, and (with <see cref="GatewaySettings.Ingest"/>) the listener its collectors stream to.
/// In <c>forkline run</c> it also forwards its own host's events, in process.
/// </summary>
public sealed class GatewayNode : IAsyncDisposable
{
    private const string ShardRegionRole = GatewaySettings.GatewayRole;
    private static readonly TimeSpan ShutdownFlushTimeout = TimeSpan.FromSeconds(3);
    private volatile bool _disposing;

    private readonly DataDirectoryLock? _dataLock;

    private GatewayNode(GatewaySettings settings, ActorSystem system, GatewayMetrics metrics, IActorRef hostTrees,
        ProcessQueries queries, GatewayForwarder? forwarder, DataDirectoryLock? dataLock)
    {
        _dataLock = dataLock;
        Settings = settings;
        System = system;
        Metrics = metrics;
        HostTrees = hostTrees;
        Queries = queries;
        Forwarder = forwarder;
    }

    public GatewaySettings Settings { get; }

    public ActorSystem System { get; }

    public GatewayMetrics Metrics { get; }

    /// <summary>The host-entity shard region.</summary>
    public IActorRef HostTrees { get; }

    public ProcessQueries Queries { get; }

    /// <summary>Where this node's own process actors deliver enriched events (<c>forkline run</c>); null on a gateway of a fleet.</summary>
    public GatewayForwarder? Forwarder { get; }

    /// <summary>The listener collectors stream to; null without <see cref="GatewaySettings.Ingest"/>.</summary>
    public IngestServer? Ingest { get; private set; }

    /// <summary>This node's cluster address (with the real port when started on port 0).</summary>
    public Address Address => Akka.Cluster.Cluster.Get(System).SelfAddress;

    public string SeedAddress => Address.ToString();

    /// <param name="loggerFactory">Where the node logs, Akka's own logging included; null = nowhere.</param>
    public static async Task<GatewayNode> StartAsync(GatewaySettings settings, ILoggerFactory? loggerFactory = null, CancellationToken ct = default)
    {
        settings.Validate();
        ListenPort.EnsureFree(settings.Hostname, settings.Port, "cluster", "--cluster-port (forkline run) or Cluster:Port (gateway)");
        var setup = BootstrapSetup.Create().WithConfig(AkkaConfig.For(settings)).And(ForklineWireSerializer.Setup())
            .And(new LoggerFactorySetup(loggerFactory ?? NullLoggerFactory.Instance));
        if (settings.Tls is { } tls) setup = setup.And(tls.CreateSetup(settings.Roles));
        if (settings.EffectiveDatabase.PersistenceConnectionSetup() is { } connections) setup = setup.And(connections);
        var metrics = new GatewayMetrics(settings.MetricsRegistry ?? Prometheus.Metrics.DefaultRegistry);
        var history = new HistoryStore(settings.EffectiveDatabase);
        // The SQLite database in the data directory is this node's alone: a second node there would write the same journal.
        var dataLock = settings.Database is null ? DataDirectoryLock.Acquire(settings.DataDirectory) : null;
        try
        {
            return await StartAsync(settings, setup, metrics, history, dataLock, ct);
        }
        catch
        {
            dataLock?.Dispose();
            throw;
        }
    }

    private static async Task<GatewayNode> StartAsync(GatewaySettings settings, ActorSystemSetup setup, GatewayMetrics metrics, HistoryStore history,
        DataDirectoryLock? dataLock, CancellationToken ct)
    {
        var system = await GatewayStorage.StartAsync(settings.EffectiveDatabase, history, () => ActorSystem.Create(GatewaySettings.SystemName, setup),
            settings.EffectiveAskTimeout, ct);
        GatewayNode? node = null;
        try
        {
            metrics.ObserveCluster(system);
            var cluster = Akka.Cluster.Cluster.Get(system);
            if (settings.Kubernetes is { } kubernetes)
            {
                // Joining waits for the other gateway pods; the node meanwhile starts, and its ingest refuses streams until Up.
                new KubernetesSeedDiscovery(system, settings, kubernetes).Start();
            }
            else if (settings.Seeds.Count == 0)
            {
                await cluster.JoinAsync(cluster.SelfAddress, ct);
            }

            var hostTreeSettings = settings.EffectiveHostTree;
            var hostTrees = await ClusterSharding.Get(system).StartAsync(HostMessageExtractor.TypeName,
                host => HostTreeEntity.Props(host, hostTreeSettings, metrics),
                ClusterShardingSettings.Create(system).WithRole(ShardRegionRole).WithStateStoreMode(StateStoreMode.DData),
                new HostMessageExtractor(settings.NumberOfShards));
            system.ActorOf(ClusterSingletonManager.Props(
                    HistoryProjection.Props(history, settings.EffectiveProjection, metrics),
                    PoisonPill.Instance,
                    ClusterSingletonManagerSettings.Create(system).WithRole(GatewaySettings.GatewayRole)),
                HistoryProjection.Name);
            var liveHub = system.ActorOf(LiveEventHub.Props(metrics), "forkline-live-hub");
            var queries = new ProcessQueries(system, hostTrees, liveHub, history, settings.EffectiveAskTimeout);
            var forwarder = settings.Collector
                ? GatewayForwarder.Start(system, new ForwarderDelivery.ToHostTrees(hostTrees), settings.EffectiveForwarder, metrics)
                : null;
            node = new GatewayNode(settings, system, metrics, hostTrees, queries, forwarder, dataLock);
            if (settings.Ingest is { } ingest)
            {
                var fleetFiles = settings.Tls?.Load();
                node.Ingest = await IngestServer.StartAsync(ingest, new IngestGateway(hostTrees, () => node.IsUp, settings.EffectiveAskTimeout),
                    metrics, fleetFiles?.Certificate, fleetFiles?.Authority, ct);
            }
            return node;
        }
        catch
        {
            await system.Terminate();
            throw;
        }
    }

    /// <summary>
    /// This node is an Up member of the cluster. Before that (joining) and after it (downed, leaving)
    /// its shard region has no coordinator, so host entities neither take events nor answer queries.
    /// </summary>
    public bool IsUp => Akka.Cluster.Cluster.Get(System).SelfMember.Status == Akka.Cluster.MemberStatus.Up;

    /// <summary>
    /// The actor system ended before <see cref="DisposeAsync"/>: the cluster downed this node (the host
    /// never terminates it otherwise). Such a system cannot rejoin; only a new node can.
    /// </summary>
    public bool IsDowned => System.WhenTerminated.IsCompleted && !_disposing;

    /// <summary>Completes once this node is Up in the cluster.</summary>
    public Task WaitUntilUpAsync(TimeSpan timeout)
    {
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Akka.Cluster.Cluster.Get(System).RegisterOnMemberUp(() => up.TrySetResult());
        return up.Task.WaitAsync(timeout);
    }

    /// <summary>
    /// Ends the collectors' streams (they move to another gateway), gives the forwarder a moment to
    /// deliver what it holds, then leaves the cluster and stops; what the forwarder still holds then is
    /// counted as dropped (reason "shutdown").
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        _disposing = true;
        var ingest = Ingest;
        Ingest = null;
        if (ingest is not null) await ingest.DisposeAsync();
        // A downed node's actor system has ended already: no forwarder is left to flush.
        if (Forwarder is not null && !System.WhenTerminated.IsCompleted) await Forwarder.FlushAsync(ShutdownFlushTimeout);
        await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
        _dataLock?.Dispose();
    }
}
