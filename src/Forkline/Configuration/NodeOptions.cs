using System.Net;
using Forkline.Collecting;
using Forkline.Forwarding;
using Forkline.Gateway;
using Forkline.Gateway.Api;
using Forkline.Gateway.History;
using Forkline.Gateway.HostTree;
using Forkline.Gateway.Ingest;
using Forkline.Gateway.Storage;
using Forkline.Hosting;

namespace Forkline.Configuration;

/// <summary>
/// The settings of a fleet node as they are written in deploy/config/{collector,gateway}.json, in
/// environment variables (FORKLINE__CLUSTER__PORT) and on the command line (<see cref="NodeConfiguration"/>).
/// Each section is bound straight to the settings record that its part of the node runs with, so each
/// setting has one name, and its default and its check live in that record. deploy/config/README.md lists
/// every key, and a test holds the two together.
/// </summary>
public sealed class NodeOptions
{
    public NodeSettings Node { get; init; } = new();
    public ClusterSettings Cluster { get; init; } = new();
    public string DataDirectory { get; init; } = GatewaySettings.DefaultDataDirectory;
    public DatabaseSettings Database { get; init; } = new();
    public HostTreeSettings HostTree { get; init; } = new();
    public ProjectionSettings Projection { get; init; } = new();
    public NodeApiSettings Api { get; init; } = new();
    public ForwarderSettings Forwarder { get; init; } = new();
    public CollectorSettings Collector { get; init; } = new();
    public IngestSettings Ingest { get; init; } = new();
    public MetricsSettings Metrics { get; init; } = new();

    /// <summary>The settings of a gateway (a cluster member taking its collectors' streams), checked.</summary>
    public GatewaySettings ToGatewaySettings() => Gateway(collector: false);

    /// <summary>
    /// The settings of <c>forkline run</c>, checked: a gateway of its own that collects this kernel's events in
    /// process (Collector, Forwarder) instead of taking collectors' streams, so without Ingest, seeds or a replay.
    /// </summary>
    public GatewaySettings ToRunSettings()
    {
        if (Cluster.Seeds.Length > 0 || Cluster.Bootstrap != ClusterBootstrap.Seeds)
            throw new ConfigurationException("forkline run is a cluster of its own: drop Cluster:Seeds and Cluster:Bootstrap (a fleet runs `forkline gateway`)");
        if (Collector.Source != CollectorSource.Bpf)
            throw new ConfigurationException("forkline run collects this kernel's events: drop Collector:Source (a capture is replayed by `forkline collector-node`)");
        SettingOutOfRangeException.Within(nameof(Collector), Collector.Validate);
        return Gateway(collector: true);
    }

    private GatewaySettings Gateway(bool collector)
    {
        var settings = new GatewaySettings
        {
            Collector = collector,
            Cluster = Cluster,
            DataDirectory = DataDirectory,
            Database = Database,
            HostTree = HostTree,
            Projection = Projection,
            Ingest = collector ? null : Ingest,
            // A gateway of a fleet forwards nothing: its collectors' Forwarder sections are theirs.
            Forwarder = collector ? Forwarder : new(),
        };
        settings.Validate();
        return settings;
    }

    /// <summary>The settings of a gateway's query API, checked.</summary>
    public ApiSettings ToApiSettings()
    {
        SettingOutOfRangeException.Within(nameof(Api), Api.Validate);
        return Api.ToServerSettings();
    }

    /// <summary>
    /// The settings of a collector node's link to the gateways, checked: a client of the gateways
    /// (Collector:Gateways), not a cluster member, so of the Cluster section it reads only LogLevel.
    /// </summary>
    public CollectorNodeSettings ToCollectorNodeSettings()
    {
        var defaults = new ClusterSettings();
        if (Cluster with { LogLevel = defaults.LogLevel } != defaults)
            throw new ConfigurationException(
                "a collector node is no cluster member any more: drop its Cluster settings (all but LogLevel) and name the gateways' ingest " +
                "addresses in Collector:Gateways (host:7072), its certificate in Collector:Tls or its token in Collector:Token");
        SettingOutOfRangeException.Within(nameof(Cluster), Cluster.Validate);
        SettingOutOfRangeException.Within(nameof(Collector), Collector.Validate);
        SettingOutOfRangeException.Within(nameof(Forwarder), Forwarder.Validate);
        return new CollectorNodeSettings(Collector.Link()) { Forwarder = Forwarder, LogLevel = Cluster.LogLevel };
    }
}

/// <summary>The Node section: which host a collector node reports for.</summary>
public sealed record NodeSettings
{
    /// <summary>The host name reported for this host's processes (part of every exec_id).</summary>
    public string Name { get; init; } = Dns.GetHostName();
}

/// <summary>The Metrics section of a collector node.</summary>
public sealed record MetricsSettings
{
    /// <summary>Where /metrics is served, address:port; null = not served.</summary>
    public IPEndPoint? Listen { get; init; }
}
