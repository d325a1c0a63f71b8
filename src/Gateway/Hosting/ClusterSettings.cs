namespace Forkline.Gateway.Hosting;

/// <summary>How a gateway finds the other gateways of its cluster.</summary>
public enum ClusterBootstrap
{
    /// <summary>The addresses in <see cref="ClusterSettings.Seeds"/>; none = this node starts a cluster of its own.</summary>
    Seeds,

    /// <summary>The gateway pods, found through the Kubernetes API (<see cref="KubernetesSeedDiscovery"/>).</summary>
    Kubernetes,
}

/// <summary>The Cluster section: how a gateway joins the Akka.NET cluster of gateways (deploy/config/README.md).</summary>
public sealed record ClusterSettings
{
    public const int DefaultPort = 4053;

    /// <summary>The address this node binds and other nodes reach it at.</summary>
    public string Hostname { get; init; } = "127.0.0.1";

    /// <summary>0 picks a free port (tests).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>Cluster addresses (akka.tcp://forkline@host:port, akka.ssl.tcp:// with TLS); empty = this node starts a cluster of its own.</summary>
    public string[] Seeds { get; init; } = [];

    public ClusterBootstrap Bootstrap { get; init; } = ClusterBootstrap.Seeds;

    /// <summary>Shards of the host entities; the same on every node.</summary>
    public int Shards { get; init; } = 100;

    /// <summary>Akka's log level (DEBUG, INFO, WARNING, ERROR); a collector node's too.</summary>
    public string LogLevel { get; init; } = "WARNING";

    /// <summary>
    /// How long a member may stay unreachable before the split-brain resolver downs it (keep-majority)
    /// and its shards move (Akka's default). Shorter fails over sooner and risks downing a node that
    /// only paused (a long GC, a saturated CPU).
    /// </summary>
    public TimeSpan DownUnreachableAfter { get; init; } = TimeSpan.FromSeconds(20);

    public ClusterTlsSettings Tls { get; init; } = new();

    /// <summary>Used with <see cref="ClusterBootstrap.Kubernetes"/>.</summary>
    public KubernetesBootstrapSettings Kubernetes { get; init; } = new();

    /// <summary>The scheme of this cluster's addresses: Akka.Remote names the TLS transport differently.</summary>
    public string Protocol => ProtocolOf(Tls.Enabled);

    /// <summary>The names Akka.Event.Logging.LogLevelFor knows.</summary>
    private static readonly HashSet<string> LogLevels = new(["DEBUG", "INFO", "WARNING", "ERROR"], StringComparer.OrdinalIgnoreCase);

    public static string ProtocolOf(bool tls) => tls ? "akka.ssl.tcp" : "akka.tcp";

    public void Validate()
    {
        if (Port is < 0 or > 65535) throw new SettingOutOfRangeException(nameof(Port), Port, "a TCP port 0..65535 (0 = any free port)");
        if (Shards < 1) throw new SettingOutOfRangeException(nameof(Shards), Shards, "1 or more shards");
        if (DownUnreachableAfter < TimeSpan.FromSeconds(1))
            throw new SettingOutOfRangeException(nameof(DownUnreachableAfter), DownUnreachableAfter, "00:00:01 or more (below that a busy node is downed for a pause)");
        if (!LogLevels.Contains(LogLevel)) throw new SettingOutOfRangeException(nameof(LogLevel), LogLevel, "DEBUG, INFO, WARNING or ERROR");
        if (Bootstrap == ClusterBootstrap.Kubernetes)
        {
            SettingOutOfRangeException.Within(nameof(Kubernetes), Kubernetes.Validate);
            if (Seeds.Length > 0) throw new ArgumentException("Cluster:Bootstrap kubernetes finds the gateways itself: give no Cluster:Seeds with it");
        }
        foreach (var seed in Seeds)
            if (!seed.StartsWith(Protocol + "://" + GatewaySettings.SystemName + "@", StringComparison.Ordinal))
                throw new ArgumentException($"Cluster:Seeds '{seed}' is not an address of this cluster: expected {Protocol}://{GatewaySettings.SystemName}@host:port" +
                                            (Tls.Enabled ? " (Cluster:Tls is on)" : ""));
        SettingOutOfRangeException.Within(nameof(Tls), Tls.Validate);
    }
}
