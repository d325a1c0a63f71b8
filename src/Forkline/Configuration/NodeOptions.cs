using Forkline.Gateway.Cluster;
using Forkline.Gateway.Hosting;
using Forkline.Gateway.HostTree;
using Forkline.Gateway.Ingest;

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
    public NodeSection Node { get; init; } = new();
    public ClusterSettings Cluster { get; init; } = new();
    public string DataDirectory { get; init; } = GatewaySettings.DefaultDataDirectory;
    public DatabaseSettings Database { get; init; } = new();
    public HostTreeSettings HostTree { get; init; } = new();
    public ApiSection Api { get; init; } = new();
    public ForwarderSettings Forwarder { get; init; } = new();
    public CollectorSection Collector { get; init; } = new();
    public IngestSettings Ingest { get; init; } = new();
    public MetricsSection Metrics { get; init; } = new();

    /// <summary>The settings of a gateway (a cluster member taking its collectors' streams), checked.</summary>
    public GatewaySettings ToGatewaySettings()
    {
        var settings = new GatewaySettings
        {
            Collector = false,
            Cluster = Cluster,
            DataDirectory = DataDirectory,
            Database = Database,
            HostTree = HostTree,
            Ingest = Ingest,
        };
        settings.Validate();
        return settings;
    }
}

public sealed class NodeSection
{
    /// <summary>The host name this collector reports (part of every exec_id).</summary>
    public string? Name { get; set; }
}

public sealed class ApiSection
{
    /// <summary>HTTP/JSON endpoint, address:port.</summary>
    public string? Http { get; set; }
    /// <summary>gRPC endpoint, address:port.</summary>
    public string? Grpc { get; set; }
    public ApiTlsSection Tls { get; set; } = new();
    /// <summary>Bearer tokens that may query; empty together with AdminTokens = no authentication.</summary>
    public string[]? ReadOnlyTokens { get; set; }
    /// <summary>Bearer tokens that may query and run admin calls.</summary>
    public string[]? AdminTokens { get; set; }
}

public sealed class ApiTlsSection
{
    /// <summary>PKCS#12 file with the API's server certificate; unset = plain HTTP.</summary>
    public string? Certificate { get; set; }
    public string? Password { get; set; }
}

public sealed class CollectorSection
{
    /// <summary>"bpf" (this kernel) or "replay" (a capture file, reported under Node:Name).</summary>
    public string? Source { get; set; }
    public string? BpfObject { get; set; }
    public string? Hooks { get; set; }
    public uint? RingSizeBytes { get; set; }
    /// <summary>How long the reader lets a batch gather after its first record (BpfCollectorOptions.DrainInterval).</summary>
    public TimeSpan? BatchWindow { get; set; }
    public string? ReplayFile { get; set; }
    /// <summary>"ByKtime" (recorded spacing) or "AsFastAsPossible".</summary>
    public string? ReplayPacing { get; set; }
    public int? AncestorDepth { get; set; }
    public bool? EmitClones { get; set; }
    /// <summary>Container id / pod from cgroup names and the Kubernetes API server (BpfCollectorOptions.ContainerIdentity).</summary>
    public bool? ContainerIdentity { get; set; }
    /// <summary>The gateways' ingest addresses, host:port (or one load balancer's).</summary>
    public string[]? Gateways { get; set; }
    /// <summary>A bearer token of the gateways' Ingest:HostTokens, for a collector without a certificate.</summary>
    public string? Token { get; set; }
    /// <summary>A file holding that token (kept out of the settings file and the environment).</summary>
    public string? TokenFile { get; set; }
    public CollectorTlsSection Tls { get; set; } = new();
}

public sealed class CollectorTlsSection
{
    /// <summary>PKCS#12 file with this collector's fleet certificate and key (OU=collector, CN = its host name).</summary>
    public string? Certificate { get; set; }
    public string? Password { get; set; }
    /// <summary>PEM file of the fleet CA: the only issuer whose gateway certificates the collector trusts.</summary>
    public string? Authority { get; set; }
}

public sealed class MetricsSection
{
    /// <summary>Where a collector node serves /metrics and /healthz, address:port; empty = not served.</summary>
    public string? Listen { get; set; }
}
