using Forkline.Collector.Bpf;
using Forkline.Collector.Containers;
using Forkline.Collector.Sources;
using Forkline.Collector.Users;
using Forkline.Commands;
using Forkline.Configuration;
using Forkline.Forwarding;
using Forkline.Gateway;
using Forkline.Gateway.Ingest;
using Forkline.Hosting;
using Forkline.ProcessActors;
using Microsoft.Extensions.Logging;

namespace Forkline.Collecting;

/// <summary>Where a collector node's events come from.</summary>
public enum CollectorSource
{
    /// <summary>This kernel, through the BPF programs.</summary>
    Bpf,

    /// <summary>A capture file (<c>forkline collector --record</c>), reported under Node:Name.</summary>
    Replay,
}

/// <summary>Whether processes carry their user's name (Tetragon's --username-metadata, same values).</summary>
public enum UsernameMetadata
{
    /// <summary>No names.</summary>
    Disabled,

    /// <summary>The effective uid's name in this host's /etc/passwd, for processes in the host's mount and user namespaces.</summary>
    Unix,
}

/// <summary>
/// The Collector section of a collector node (deploy/config/README.md): its event source, what the process
/// actors attach, and how it reaches the gateways. What each part of the node runs with is made here, so a
/// setting is read in this one place.
/// </summary>
public sealed record CollectorSettings
{
    public CollectorSource Source { get; init; } = CollectorSource.Bpf;

    public string BpfObject { get; init; } = CollectorPreflight.DefaultObjectPath;

    /// <summary>Hook policy file; empty = hooks.json beside the binary, else the credential family.</summary>
    public string Hooks { get; init; } = "";

    public uint RingSizeBytes { get; init; } = BpfCollectorOptions.DefaultRingSizeBytes;

    /// <summary>How long the reader lets a batch gather after its first record (<see cref="BpfCollectorOptions.DrainInterval"/>).</summary>
    public TimeSpan BatchWindow { get; init; } = BpfCollectorOptions.DefaultDrainInterval;

    /// <summary>Container id and pod of each process (<see cref="BpfCollectorOptions.ContainerIdentity"/>).</summary>
    public bool ContainerIdentity { get; init; } = true;

    /// <summary>Pods carry their annotations too (Tetragon's <c>--enable-pod-annotations</c>); with <see cref="ContainerIdentity"/> only.</summary>
    public bool PodAnnotations { get; init; }

    /// <summary>Names of the processes' users from /etc/passwd (<see cref="UsernameMetadata.Unix"/>); off by default, as in Tetragon.</summary>
    public UsernameMetadata UsernameMetadata { get; init; } = UsernameMetadata.Disabled;

    public string ReplayFile { get; init; } = "";

    public ReplayPacing ReplayPacing { get; init; } = ReplayPacing.ByKtime;

    /// <summary>Ancestors beyond the parent attached to each event.</summary>
    public int AncestorDepth { get; init; }

    /// <summary>
    /// Forks that never exec'd (a subshell) go to the gateways unless turned off, as in <c>forkline run</c>:
    /// a process such a fork starts names it as parent, and lineage would stop at a process never stored.
    /// </summary>
    public bool EmitClones { get; init; } = true;

    /// <summary>The gateways' ingest addresses, host:port (or one load balancer's).</summary>
    public string[] Gateways { get; init; } = [];

    /// <summary>A bearer token of the gateways' Ingest:HostTokens, for a collector without a certificate.</summary>
    public string Token { get; init; } = "";

    /// <summary>A file holding that token (kept out of the settings file and the environment).</summary>
    public string TokenFile { get; init; } = "";

    public CollectorTlsSettings Tls { get; init; } = new();

    public void Validate()
    {
        if (BatchWindow < TimeSpan.Zero || BatchWindow > TimeSpan.FromSeconds(1))
            throw new SettingOutOfRangeException(nameof(BatchWindow), BatchWindow, "00:00:00 to 00:00:01");
        if (AncestorDepth < 0) throw new SettingOutOfRangeException(nameof(AncestorDepth), AncestorDepth, "0 or more ancestors");
        // The binder takes a number for an enum too; only the two names mean something.
        if (!Enum.IsDefined(UsernameMetadata))
            throw new SettingOutOfRangeException(nameof(UsernameMetadata), UsernameMetadata, "disabled or unix");
        if (Source == CollectorSource.Replay && string.IsNullOrEmpty(ReplayFile))
            throw new ArgumentException("Collector:Source replay needs Collector:ReplayFile (a capture written by `forkline collector --record FILE`)");
        if (!string.IsNullOrEmpty(Token) && !string.IsNullOrEmpty(TokenFile))
            throw new ArgumentException("give Collector:Token or Collector:TokenFile, not both");
    }

    /// <summary>The event source; loads the hook policy for this kernel.</summary>
    public IEventSource CreateSource(ILoggerFactory loggers) => Source switch
    {
        CollectorSource.Bpf => new BpfEventSource(new BpfCollectorOptions
        {
            ObjectPath = BpfObject,
            Hooks = CollectorCommand.LoadPolicy(string.IsNullOrEmpty(Hooks) ? null : Hooks),
            RingSizeBytes = RingSizeBytes,
            DrainInterval = BatchWindow,
            ContainerIdentity = ContainerIdentity,
            Pods = ContainerIdentity ? new PodDirectory() : null,
            LoggerFactory = loggers,
        }),
        _ => new ReplayFileSource(ReplayFile, ReplayPacing, logger: loggers.CreateLogger<ReplayFileSource>()),
    };

    /// <summary>What the process actors attach for host <paramref name="nodeName"/>; reads /etc/passwd when names are asked for.</summary>
    public ProcessActorSettings ProcessActors(string nodeName, ILoggerFactory loggers) => new()
    {
        NodeName = nodeName,
        AncestorDepth = AncestorDepth,
        EmitClones = EmitClones,
        UserNames = UserNamesOf(UsernameMetadata, loggers),
    };

    /// <summary>The names the process actors attach for <paramref name="metadata"/>; null: none.</summary>
    public static UserNameOf? UserNamesOf(UsernameMetadata metadata, ILoggerFactory loggers) =>
        metadata == UsernameMetadata.Unix ? new HostUserNames(log: loggers.CreateLogger<HostUserNames>()).NameOf : null;

    /// <summary>How the collector reaches the gateways; reads the certificate files and the token file.</summary>
    public GatewayLinkSettings Link()
    {
        var certificate = string.IsNullOrEmpty(Tls.Certificate)
            ? null
            : CertificateFiles.LoadPkcs12("collector certificate (Collector:Tls:Certificate)", Tls.Certificate, Tls.Password);
        var authority = string.IsNullOrEmpty(Tls.Authority) ? null : CertificateFiles.LoadCertificate("fleet CA (Collector:Tls:Authority)", Tls.Authority);
        var scheme = authority is null ? Uri.UriSchemeHttp : Uri.UriSchemeHttps;
        return new GatewayLinkSettings([.. Gateways.Select(address => GatewayAddressOf(address, scheme))], certificate, authority, ReadToken());
    }

    private string? ReadToken()
    {
        if (string.IsNullOrEmpty(TokenFile)) return string.IsNullOrEmpty(Token) ? null : Token;
        try
        {
            var token = File.ReadAllText(TokenFile).Trim();
            return token.Length > 0 ? token : throw new ConfigurationException($"Collector:TokenFile {TokenFile} is empty");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"cannot read Collector:TokenFile {TokenFile}: {e.Message}", e);
        }
    }

    private static Uri GatewayAddressOf(string address, string scheme)
    {
        var text = address.Contains("://", StringComparison.Ordinal) ? address : $"{scheme}://{address}";
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.IsDefaultPort || uri.AbsolutePath != "/")
            throw new ConfigurationException($"Collector:Gateways '{address}' is not a gateway ingest address host:port, e.g. gateway-1:{IngestSettings.DefaultPort}");
        if (uri.Scheme != scheme)
            throw new ConfigurationException(
                $"Collector:Gateways '{address}' is {uri.Scheme}:// but Collector:Tls:Authority is {(scheme == Uri.UriSchemeHttps ? "set (TLS)" : "not set (no TLS)")}; give host:port and let the fleet CA decide");
        return uri;
    }
}

/// <summary>The collector's identity towards the gateways, and whom it trusts among them.</summary>
public sealed record CollectorTlsSettings
{
    /// <summary>PKCS#12 file with this collector's fleet certificate and key (OU=collector, CN = its host name).</summary>
    public string Certificate { get; init; } = "";

    public string Password { get; init; } = "";

    /// <summary>PEM file of the fleet CA: the only issuer whose gateway certificates the collector trusts.</summary>
    public string Authority { get; init; } = "";
}
