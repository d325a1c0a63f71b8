using Forkline.Forwarding;
using Forkline.Gateway;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.History;
using Forkline.Gateway.HostTree;
using Forkline.Gateway.Ingest;
using Forkline.Gateway.Storage;
using Prometheus;

namespace Forkline.Hosting;

/// <summary>
/// Everything a gateway needs, the only kind of cluster member (host entities, the history projection,
/// the queries); collectors are its clients (<see cref="Ingest"/>). The sections a gateway reads from
/// its settings file are the records bound from it (<see cref="Cluster"/>, <see cref="Database"/>,
/// <see cref="HostTree"/>, <see cref="Projection"/>, <see cref="Ingest"/>); the rest are tuned by tests and benchmarks only.
/// The defaults are <c>forkline run</c>'s: one node on 127.0.0.1:4053 that also collects, and a SQLite
/// file under ./data.
/// </summary>
public sealed record GatewaySettings
{
    public const string SystemName = "forkline";
    public const string DefaultDataDirectory = "./data";

    /// <summary>The node also forwards its own host's events, in process (<c>forkline run</c>).</summary>
    public bool Collector { get; init; } = true;

    public ClusterSettings Cluster { get; init; } = new();

    /// <summary>Holds the SQLite database when <see cref="Database"/> names none.</summary>
    public string DataDirectory { get; init; } = DefaultDataDirectory;

    public DatabaseSettings Database { get; init; } = new();

    public HostTreeSettings HostTree { get; init; } = new();

    /// <summary>Where collectors stream to this gateway; null = no listener (<c>forkline run</c>).</summary>
    public IngestSettings? Ingest { get; init; }

    /// <summary>How this node's in-process forwarder (<see cref="Collector"/>) batches and retries.</summary>
    public ForwarderSettings Forwarder { get; init; } = new();

    public ProjectionSettings Projection { get; init; } = new();

    /// <summary>
    /// How often the history projection polls the journal for new entries: the history lags the live tree
    /// by up to twice that; each poll is two queries, the larger part of an idle gateway's CPU.
    /// </summary>
    public TimeSpan QueryRefreshInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a query waits for a host entity.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Null = prometheus-net's default registry.</summary>
    public CollectorRegistry? MetricsRegistry { get; init; }

    /// <summary>
    /// Who decides which side of a partition keeps running: <see cref="ClusterSettings.SplitBrainResolver"/>, else a
    /// lease on PostgreSQL (a fleet) and keep-majority on SQLite (one gateway, and no shared database to hold a lease).
    /// </summary>
    public SplitBrainStrategy SplitBrainResolver =>
        Cluster.SplitBrainResolver ?? (Database.Provider == DatabaseProvider.PostgreSql ? SplitBrainStrategy.LeaseMajority : SplitBrainStrategy.KeepMajority);

    /// <summary>Every member is a gateway; <see cref="FleetRoles.Collector"/> names collectors' certificates, not members.</summary>
    public IReadOnlyList<string> Roles => [FleetRoles.Gateway];

    /// <summary>The address other nodes use as a seed for this one.</summary>
    public static string SeedAddress(string hostname, int port, bool tls = false) => $"{ClusterSettings.ProtocolOf(tls)}://{SystemName}@{hostname}:{port}";

    /// <summary>
    /// Checks the settings as the node starts: a value a setting does not allow is a
    /// <see cref="SettingOutOfRangeException"/> naming its key (Cluster:Port), other conflicts an ArgumentException.
    /// </summary>
    public void Validate()
    {
        SettingOutOfRangeException.Within(nameof(Cluster), Cluster.Validate);
        SettingOutOfRangeException.Within(nameof(Database), Database.Validate);
        SettingOutOfRangeException.Within(nameof(HostTree), HostTree.Validate);
        SettingOutOfRangeException.Within(nameof(Projection), Projection.Validate);
        SettingOutOfRangeException.Within(nameof(Forwarder), Forwarder.Validate);
        Ingest?.Validate(Cluster.Tls.Enabled);
        if (SplitBrainResolver == SplitBrainStrategy.LeaseMajority && Database.Provider != DatabaseProvider.PostgreSql)
            throw new ArgumentException(
                $"Cluster:SplitBrainResolver lease-majority keeps its lease in the fleet's PostgreSQL database; with Database:Provider {Database.Provider} use keep-majority");
    }
}
