using Forkline.Gateway.Cluster;

namespace Forkline.Configuration;

/// <summary>
/// The settings of a fleet node as they are written in deploy/config/{collector,gateway}.json, in
/// environment variables (FORKLINE__CLUSTER__PORT) and on the command line. Unset (null) means the
/// default of the settings record it maps to, so each default lives in one place; a section that needs
/// no translation is that settings record itself (Forwarder). deploy/config/README.md lists every key,
/// and a test holds the two together.
/// </summary>
public sealed class NodeConfig
{
    public NodeSection Node { get; set; } = new();
    public ClusterSection Cluster { get; set; } = new();
    public string? DataDirectory { get; set; }
    public DatabaseSection Database { get; set; } = new();
    public HostTreeSection HostTree { get; set; } = new();
    public ApiSection Api { get; set; } = new();
    public ForwarderSettings Forwarder { get; set; } = new();
    public CollectorSection Collector { get; set; } = new();
    public IngestSection Ingest { get; set; } = new();
    public MetricsSection Metrics { get; set; } = new();
}

public sealed class NodeSection
{
    /// <summary>The host name this collector reports (part of every exec_id).</summary>
    public string? Name { get; set; }
}

public sealed class ClusterSection
{
    public string? Hostname { get; set; }
    public int? Port { get; set; }
    public string[]? Seeds { get; set; }
    /// <summary>"seeds" (the Seeds list) or "kubernetes" (gateway pods found through the Kubernetes API).</summary>
    public string? Bootstrap { get; set; }
    public int? Shards { get; set; }
    public string? LogLevel { get; set; }
    public TimeSpan? DownUnreachableAfter { get; set; }
    /// <summary>"lease-majority" or "keep-majority".</summary>
    public string? SplitBrainResolver { get; set; }
    public TimeSpan? LeaseTimeout { get; set; }
    public ClusterTlsSection Tls { get; set; } = new();
    public KubernetesSection Kubernetes { get; set; } = new();
}

public sealed class ClusterTlsSection
{
    public bool? Enabled { get; set; }
    /// <summary>PKCS#12 file with this node's certificate and private key.</summary>
    public string? Certificate { get; set; }
    public string? Password { get; set; }
    /// <summary>PEM file of the fleet CA: the only issuer whose certificates may join.</summary>
    public string? Authority { get; set; }
}

public sealed class KubernetesSection
{
    public string? PodLabelSelector { get; set; }
    public string? PodNamespace { get; set; }
    public int? RequiredContactPoints { get; set; }
}

public sealed class DatabaseSection
{
    /// <summary>"sqlite" or "postgresql".</summary>
    public string? Provider { get; set; }
    public string? ConnectionString { get; set; }
}

public sealed class HostTreeSection
{
    public int? SnapshotEvery { get; set; }
    public bool? PersistHooks { get; set; }
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

public sealed class IngestSection
{
    /// <summary>Where a gateway takes its collectors' streams, address:port (default 127.0.0.1:7072).</summary>
    public string? Listen { get; set; }
    /// <summary>Host name -> the bearer token a collector reporting for that host presents.</summary>
    public Dictionary<string, string>? HostTokens { get; set; }
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
