using System.ComponentModel;
using System.Globalization;
using Forkline.Gateway;

namespace Forkline.Hosting;

/// <summary>How a gateway finds the other gateways of its cluster.</summary>
public enum ClusterBootstrap
{
    /// <summary>The addresses in <see cref="ClusterSettings.Seeds"/>; none = this node starts a cluster of its own.</summary>
    Seeds,

    /// <summary>The gateway pods, found through the Kubernetes API (<see cref="KubernetesSeedDiscovery"/>).</summary>
    Kubernetes,
}

/// <summary>The split-brain resolver's strategy (Akka.Cluster's SBR), named in the settings as Akka names it.</summary>
[TypeConverter(typeof(SplitBrainStrategyConverter))]
public enum SplitBrainStrategy
{
    /// <summary>keep-majority: the side with more members keeps running; a tie goes to the side holding the lowest address.</summary>
    KeepMajority,

    /// <summary>lease-majority: the side that takes a lease in the fleet's database keeps running (the majority side tries first).</summary>
    LeaseMajority,
}

/// <summary>Binds <see cref="SplitBrainStrategy"/> from Akka's names, <c>keep-majority</c> and <c>lease-majority</c>.</summary>
public sealed class SplitBrainStrategyConverter : EnumConverter
{
    public SplitBrainStrategyConverter() : base(typeof(SplitBrainStrategy))
    {
    }

    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) => value is string name
        ? name.ToLowerInvariant() switch
        {
            "keep-majority" => SplitBrainStrategy.KeepMajority,
            "lease-majority" => SplitBrainStrategy.LeaseMajority,
            _ => throw new FormatException($"'{name}' is not a split-brain resolver: use lease-majority or keep-majority"),
        }
        : base.ConvertFrom(context, culture, value);
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
    /// How long a member may stay unreachable before the split-brain resolver decides which side to down
    /// and the downed members' shards move (Akka's default). Shorter fails over sooner and risks downing a
    /// node that only paused (a long GC, a saturated CPU).
    /// </summary>
    public TimeSpan DownUnreachableAfter { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long after a downed gateway left the cluster its shards (and singletons) start on the others. Akka waits
    /// the split-brain resolver's stable-after (DownUnreachableAfter) again, so that a gateway downed while only cut
    /// off has stopped its own copies first; it does so within seconds of the same decision (with lease-majority it
    /// asks for the lease 2 s late, fails and downs itself; with keep-majority at once), and a host entity written from
    /// both sides meanwhile fails on the journal's key (persistence id, sequence number) rather than forking its
    /// history. Longer is safer against a cut-off gateway that is slow to stop; it adds to every failover.
    /// </summary>
    public TimeSpan DownRemovalMargin { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>
    /// A member whose association broke and whose cluster port then refuses connections (its process is gone) is downed
    /// at once, without waiting for <see cref="DownUnreachableAfter"/> (Forkline.Gateway.Cluster.GoneMemberDowning). Off
    /// where something between gateways answers for a live one with a TCP reset (a firewall rule that rejects rather than
    /// drops): there a refusal is no proof.
    /// </summary>
    public bool DownGoneMembers { get; init; } = true;

    /// <summary>Null = by the database: <see cref="GatewaySettings.SplitBrainResolver"/>.</summary>
    public SplitBrainStrategy? SplitBrainResolver { get; init; }

    /// <summary>How long the split-brain lease outlives a holder that stopped renewing it (crashed, frozen, cut off from the database).</summary>
    public TimeSpan LeaseTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Renewed every quarter of the timeout: below 4 s a renewal would be due every second or more often.</summary>
    public static readonly TimeSpan MinimumLeaseTimeout = TimeSpan.FromSeconds(4);

    public ClusterTlsSettings Tls { get; init; } = new();

    /// <summary>Used with <see cref="ClusterBootstrap.Kubernetes"/>.</summary>
    public KubernetesBootstrapSettings Kubernetes { get; init; } = new();

    /// <summary>The scheme of this cluster's addresses: Akka.Remote names the TLS transport differently.</summary>
    public string Protocol => ProtocolOf(Tls.Enabled);

    /// <summary>The names Akka.Event.Logging.LogLevelFor knows.</summary>
    private static readonly HashSet<string> LogLevels = new(["DEBUG", "INFO", "WARNING", "ERROR"], StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether Akka reads <paramref name="seed"/> as a node address (a host and a port); it would fail the node's start otherwise.</summary>
    private static bool IsAddress(string seed)
    {
        try
        {
            return Akka.Actor.Address.Parse(seed) is { Host: { Length: > 0 }, Port: > 0 };
        }
        catch (UriFormatException)
        {
            return false;
        }
    }

    public static string ProtocolOf(bool tls) => tls ? "akka.ssl.tcp" : "akka.tcp";

    public void Validate()
    {
        if (Port is < 0 or > 65535) throw new SettingOutOfRangeException(nameof(Port), Port, "a TCP port 0..65535 (0 = any free port)");
        if (Shards < 1) throw new SettingOutOfRangeException(nameof(Shards), Shards, "1 or more shards");
        if (DownUnreachableAfter < TimeSpan.FromSeconds(1))
            throw new SettingOutOfRangeException(nameof(DownUnreachableAfter), DownUnreachableAfter, "00:00:01 or more (below that a busy node is downed for a pause)");
        if (DownRemovalMargin <= TimeSpan.Zero)
            throw new SettingOutOfRangeException(nameof(DownRemovalMargin), DownRemovalMargin, "a duration above 00:00:00");
        if (LeaseTimeout < MinimumLeaseTimeout)
            throw new SettingOutOfRangeException(nameof(LeaseTimeout), LeaseTimeout, $"{MinimumLeaseTimeout:c} or more (the holder renews it every quarter of it)");
        if (!LogLevels.Contains(LogLevel)) throw new SettingOutOfRangeException(nameof(LogLevel), LogLevel, "DEBUG, INFO, WARNING or ERROR");
        if (Bootstrap == ClusterBootstrap.Kubernetes)
        {
            SettingOutOfRangeException.Within(nameof(Kubernetes), Kubernetes.Validate);
            if (Seeds.Length > 0) throw new ArgumentException("Cluster:Bootstrap kubernetes finds the gateways itself: give no Cluster:Seeds with it");
        }
        foreach (var seed in Seeds)
            if (!seed.StartsWith(Protocol + "://" + GatewaySettings.SystemName + "@", StringComparison.Ordinal) || !IsAddress(seed))
                throw new ArgumentException($"Cluster:Seeds '{seed}' is not an address of this cluster: expected {Protocol}://{GatewaySettings.SystemName}@host:port" +
                                            (Tls.Enabled ? " (Cluster:Tls is on)" : ""));
        SettingOutOfRangeException.Within(nameof(Tls), Tls.Validate);
    }
}
