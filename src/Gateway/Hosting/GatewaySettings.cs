using Forkline.Gateway.Cluster;
using Forkline.Gateway.History;
using Forkline.Gateway.HostTree;
using Forkline.Gateway.Ingest;
using Prometheus;

namespace Forkline.Gateway.Hosting;

/// <summary>
/// Everything a Forkline cluster node needs: a gateway (host entities, the history projection, the
/// queries), the only kind of member; collectors are its clients (<see cref="Ingest"/>). The defaults
/// are <c>forkline run</c>'s: one node on 127.0.0.1:4053 that also collects, and a SQLite file under ./data.
/// </summary>
/// <param name="Collector">The node also forwards its own host's events, in process (<c>forkline run</c>).</param>
/// <param name="Port">0 picks a free port (tests).</param>
/// <param name="SeedNodes">Cluster addresses (akka.tcp://forkline@host:port, akka.ssl.tcp:// with TLS); empty = this node starts a cluster of its own.</param>
/// <param name="Database">Null = a SQLite file in <paramref name="DataDirectory"/>.</param>
/// <param name="QueryRefreshInterval">
/// How often the history projection polls the journal for new entries (default 2 s: the history lags the
/// live tree by up to twice that; each poll is two queries, the larger part of an idle gateway's CPU).
/// </param>
/// <param name="AskTimeout">How long a query waits for a host entity.</param>
/// <param name="MetricsRegistry">Null = prometheus-net's default registry.</param>
/// <param name="LogLevel">Akka's log level (DEBUG, INFO, WARNING, ERROR).</param>
/// <param name="Tls">Null = a plain TCP cluster transport (a single machine only).</param>
/// <param name="DownUnreachableAfter">
/// How long a member may stay unreachable before the split-brain resolver (<paramref name="SplitBrainResolver"/>)
/// decides which side to down and the downed members' shards move; null = Akka's 20 s. Shorter fails over sooner and risks downing a node that
/// only paused (a long GC, a saturated CPU).
/// </param>
/// <param name="SplitBrainResolver">
/// Who decides which side of a partition keeps running; null = <see cref="SplitBrainStrategy.LeaseMajority"/> on
/// PostgreSQL (a fleet), <see cref="SplitBrainStrategy.KeepMajority"/> on SQLite (one gateway, nothing to split).
/// </param>
/// <param name="LeaseTimeout">How long the split-brain lease outlives a holder that stopped renewing it (crashed, frozen); null = 20 s.</param>
/// <param name="Kubernetes">Form the cluster by Kubernetes pod discovery instead of <paramref name="SeedNodes"/>.</param>
/// <param name="Ingest">Where collectors stream to this gateway; null = no listener (<c>forkline run</c>).</param>
/// <summary>The split-brain resolver's strategy (Akka.Cluster's SBR), as the settings name it.</summary>
public enum SplitBrainStrategy
{
    /// <summary>The side with more members keeps running; a tie goes to the side holding the lowest address.</summary>
    KeepMajority,

    /// <summary>The side that takes a lease in the fleet's database keeps running (the majority side tries first).</summary>
    LeaseMajority,
}

public sealed record GatewaySettings(
    bool Collector = true,
    string Hostname = "127.0.0.1",
    int Port = GatewaySettings.DefaultPort,
    IReadOnlyList<string>? SeedNodes = null,
    string DataDirectory = "./data",
    DatabaseSettings? Database = null,
    HostTreeSettings? HostTree = null,
    ForwarderSettings? Forwarder = null,
    ProjectionSettings? Projection = null,
    TimeSpan? QueryRefreshInterval = null,
    TimeSpan? AskTimeout = null,
    int NumberOfShards = 100,
    CollectorRegistry? MetricsRegistry = null,
    string LogLevel = "WARNING",
    ClusterTlsSettings? Tls = null,
    TimeSpan? DownUnreachableAfter = null,
    SplitBrainStrategy? SplitBrainResolver = null,
    TimeSpan? LeaseTimeout = null,
    KubernetesBootstrapSettings? Kubernetes = null,
    IngestSettings? Ingest = null)
{
    public const int DefaultPort = 4053;

    /// <summary>Renewed every quarter of the timeout: below 4 s a renewal would be due every second or more often.</summary>
    public static readonly TimeSpan MinimumLeaseTimeout = TimeSpan.FromSeconds(4);
    public const string SystemName = "forkline";
    public const string CollectorRole = "collector";
    public const string GatewayRole = "gateway";

    public DatabaseSettings EffectiveDatabase => Database ?? DatabaseSettings.SqliteIn(DataDirectory);

    public IReadOnlyList<string> Seeds => SeedNodes ?? [];

    public HostTreeSettings EffectiveHostTree => HostTree ?? new HostTreeSettings();

    public ForwarderSettings EffectiveForwarder => Forwarder ?? new ForwarderSettings();

    public ProjectionSettings EffectiveProjection => Projection ?? new ProjectionSettings();

    /// <summary>1 s by default: each poll is a query, and an idle gateway should make few (history lags the journal by about this much).</summary>
    public TimeSpan EffectiveQueryRefreshInterval => QueryRefreshInterval ?? TimeSpan.FromSeconds(2);

    public SplitBrainStrategy EffectiveSplitBrainResolver =>
        SplitBrainResolver ?? (EffectiveDatabase.Provider == DatabaseProvider.PostgreSql ? SplitBrainStrategy.LeaseMajority : SplitBrainStrategy.KeepMajority);

    public TimeSpan EffectiveLeaseTimeout => LeaseTimeout ?? TimeSpan.FromSeconds(20);

    public TimeSpan EffectiveAskTimeout => AskTimeout ?? TimeSpan.FromSeconds(10);

    /// <summary>Every member is a gateway; <see cref="CollectorRole"/> names collectors' certificates, not members.</summary>
    public IReadOnlyList<string> Roles => [GatewayRole];

    /// <summary>The address other nodes use as a seed for this one.</summary>
    public static string SeedAddress(string hostname, int port, bool tls = false) => $"{ProtocolOf(tls)}://{SystemName}@{hostname}:{port}";

    /// <summary>The scheme of this cluster's addresses: Akka.Remote names the TLS transport differently.</summary>
    public string Protocol => ProtocolOf(Tls is not null);

    private static string ProtocolOf(bool tls) => tls ? "akka.ssl.tcp" : "akka.tcp";

    public void Validate()
    {
        if (Port is < 0 or > 65535) throw new SettingOutOfRangeException(nameof(Port), Port, "a TCP port 0..65535 (0 = any free port)");
        if (Kubernetes is not null)
        {
            Kubernetes.Validate();
            if (Seeds.Count > 0) throw new ArgumentException("Kubernetes bootstrap finds the gateways itself: give no seed nodes with it");
        }
        if (NumberOfShards < 1) throw new SettingOutOfRangeException(nameof(NumberOfShards), NumberOfShards, "1 or more shards");
        foreach (var seed in Seeds)
            if (!seed.StartsWith(Protocol + "://" + SystemName + "@", StringComparison.Ordinal))
                throw new ArgumentException($"seed node '{seed}' is not an address of this cluster: expected {Protocol}://{SystemName}@host:port" +
                                            (Tls is null ? "" : " (TLS is on)"));
        if (DownUnreachableAfter is { } downAfter && downAfter < TimeSpan.FromSeconds(1))
            throw new SettingOutOfRangeException(nameof(DownUnreachableAfter), downAfter, "00:00:01 or more (below that a busy node is downed for a pause)");
        if (SplitBrainResolver == SplitBrainStrategy.LeaseMajority && EffectiveDatabase.Provider != DatabaseProvider.PostgreSql)
            throw new ArgumentException($"the lease-majority split-brain resolver keeps its lease in the fleet's PostgreSQL database; with {EffectiveDatabase.Provider} use keep-majority");
        if (LeaseTimeout is { } leaseTimeout && leaseTimeout < MinimumLeaseTimeout)
            throw new SettingOutOfRangeException(nameof(LeaseTimeout), leaseTimeout, $"{MinimumLeaseTimeout:c} or more (the holder renews it every quarter of it)");
        EffectiveForwarder.Validate();
        Ingest?.Validate(Tls is not null);
        EffectiveHostTree.Validate();
    }
}
