using System.Net;
using Forkline.Gateway;
using Forkline.Gateway.Api;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.CollectorLink;
using Forkline.Gateway.Hosting;
using Forkline.Gateway.HostTree;
using Forkline.Gateway.Ingest;
using Microsoft.Extensions.Configuration;

namespace Forkline.Configuration;

/// <summary>
/// Reads a fleet node's settings: the --config file, then environment variables
/// (FORKLINE__SECTION__KEY, e.g. FORKLINE__CLUSTER__PORT=4053, FORKLINE__CLUSTER__SEEDS__0=...),
/// then command-line options, each overriding the one before. A key that is not a setting is an
/// error, so a typo does not silently leave a default in place.
/// </summary>
public static class NodeConfiguration
{
    public const string EnvironmentPrefix = "FORKLINE__";

    public static NodeConfig Load(FileInfo? file, IEnumerable<KeyValuePair<string, string?>> commandLine)
    {
        var builder = new ConfigurationBuilder();
        if (file is not null)
        {
            if (!file.Exists) throw new ConfigurationException($"settings file {file.FullName} does not exist");
            builder.AddJsonFile(file.FullName, optional: false, reloadOnChange: false);
        }
        builder.AddEnvironmentVariables(EnvironmentPrefix).AddInMemoryCollection(commandLine);
        var config = new NodeConfig();
        try
        {
            builder.Build().Bind(config, binder => binder.ErrorOnUnknownConfiguration = true);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException)
        {
            var origin = file is null ? "" : $" (file {file.FullName}, then {EnvironmentPrefix}* variables, then options)";
            var cause = e.InnerException is { } inner ? $" ({inner.Message})" : "";
            throw new ConfigurationException($"bad settings{origin}: {e.Message}{cause}", e);
        }
        return config;
    }

    /// <summary>The settings of a gateway (a cluster member taking its collectors' streams).</summary>
    public static GatewaySettings ToGatewaySettings(this NodeConfig config)
    {
        var defaults = new GatewaySettings();
        var cluster = config.Cluster;
        var dataDirectory = config.DataDirectory ?? defaults.DataDirectory;
        var hostTree = new HostTreeSettings();
        var settings = defaults with
        {
            Collector = false,
            Hostname = cluster.Hostname ?? defaults.Hostname,
            Port = cluster.Port ?? defaults.Port,
            SeedNodes = cluster.Seeds ?? [],
            NumberOfShards = cluster.Shards ?? defaults.NumberOfShards,
            LogLevel = cluster.LogLevel ?? defaults.LogLevel,
            DownUnreachableAfter = cluster.DownUnreachableAfter,
            SplitBrainResolver = SplitBrainStrategyOf(cluster.SplitBrainResolver),
            LeaseTimeout = cluster.LeaseTimeout,
            DataDirectory = dataDirectory,
            Database = DatabaseOf(config.Database, dataDirectory),
            HostTree = hostTree with
            {
                SnapshotEvery = config.HostTree.SnapshotEvery ?? hostTree.SnapshotEvery,
                PersistHooks = config.HostTree.PersistHooks ?? hostTree.PersistHooks,
            },
            Tls = TlsOf(cluster.Tls),
            Kubernetes = BootstrapOf(cluster),
            Ingest = new IngestSettings(EndpointOf("Ingest:Listen", config.Ingest.Listen) ?? IngestSettings.DefaultListen, config.Ingest.HostTokens),
        };
        return Validated(settings, settings.Validate, GatewayKeys);
    }

    /// <summary>The keys of the gateway settings that its validation names by their property.</summary>
    private static readonly Dictionary<string, string> GatewayKeys = new()
    {
        [nameof(GatewaySettings.Port)] = "Cluster:Port",
        [nameof(GatewaySettings.NumberOfShards)] = "Cluster:Shards",
        [nameof(GatewaySettings.DownUnreachableAfter)] = "Cluster:DownUnreachableAfter",
        [nameof(GatewaySettings.LeaseTimeout)] = "Cluster:LeaseTimeout",
        [nameof(HostTreeSettings.SnapshotEvery)] = "HostTree:SnapshotEvery",
    };

    /// <summary>
    /// The settings of a collector node: a client of the gateways (Collector:Gateways), not a cluster
    /// member, so the Cluster section has no place in its settings.
    /// </summary>
    public static CollectorNodeSettings ToCollectorNodeSettings(this NodeConfig config)
    {
        var cluster = config.Cluster;
        var tls = cluster.Tls;
        var kubernetes = cluster.Kubernetes;
        if (cluster.Seeds is { Length: > 0 } || cluster.Bootstrap is not null || cluster.Port is not null || cluster.Hostname is not null
            || cluster.Shards is not null || cluster.DownUnreachableAfter is not null
            || cluster.SplitBrainResolver is not null || cluster.LeaseTimeout is not null
            || tls.Enabled is not null || tls.Certificate is not null || tls.Authority is not null || tls.Password is not null
            || kubernetes.PodLabelSelector is not null || kubernetes.PodNamespace is not null || kubernetes.RequiredContactPoints is not null)
            throw new ConfigurationException(
                "a collector node is no cluster member any more: drop its Cluster settings (all but LogLevel) and name the gateways' ingest " +
                "addresses in Collector:Gateways (host:7072), its certificate in Collector:Tls or its token in Collector:Token");
        var collector = config.Collector;
        var own = collector.Tls;
        var certificate = string.IsNullOrEmpty(own.Certificate)
            ? null
            : CertificateFiles.LoadPkcs12("collector certificate (Collector:Tls:Certificate)", own.Certificate, own.Password);
        var authority = string.IsNullOrEmpty(own.Authority) ? null : CertificateFiles.LoadCertificate("fleet CA (Collector:Tls:Authority)", own.Authority);
        var scheme = authority is null ? Uri.UriSchemeHttp : Uri.UriSchemeHttps;
        var gateways = (collector.Gateways ?? []).Select(address => GatewayAddressOf(address, scheme)).ToList();
        return new CollectorNodeSettings(
            new GatewayLinkSettings(gateways, certificate, authority, TokenOf(collector)),
            Validated(config.Forwarder, config.Forwarder.Validate, ForwarderKeys),
            LogLevel: cluster.LogLevel ?? "WARNING");
    }

    private static SplitBrainStrategy? SplitBrainStrategyOf(string? name) => name?.ToLowerInvariant() switch
    {
        null => null,
        "lease-majority" => SplitBrainStrategy.LeaseMajority,
        "keep-majority" => SplitBrainStrategy.KeepMajority,
        _ => throw new ConfigurationException($"Cluster:SplitBrainResolver '{name}' is not allowed: lease-majority or keep-majority"),
    };

    private static string? TokenOf(CollectorSection collector)
    {
        if (string.IsNullOrEmpty(collector.TokenFile)) return string.IsNullOrEmpty(collector.Token) ? null : collector.Token;
        if (!string.IsNullOrEmpty(collector.Token)) throw new ConfigurationException("give Collector:Token or Collector:TokenFile, not both");
        try
        {
            var token = File.ReadAllText(collector.TokenFile).Trim();
            return token.Length > 0 ? token : throw new ConfigurationException($"Collector:TokenFile {collector.TokenFile} is empty");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"cannot read Collector:TokenFile {collector.TokenFile}: {e.Message}", e);
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

    private static KubernetesBootstrapSettings? BootstrapOf(ClusterSection cluster)
    {
        switch (cluster.Bootstrap?.ToLowerInvariant() ?? "seeds")
        {
            case "seeds":
                return null;
            case "kubernetes":
                var defaults = new KubernetesBootstrapSettings();
                var kubernetes = cluster.Kubernetes;
                return new KubernetesBootstrapSettings(
                    kubernetes.PodLabelSelector ?? defaults.PodLabelSelector,
                    kubernetes.PodNamespace ?? defaults.PodNamespace,
                    kubernetes.RequiredContactPoints ?? defaults.RequiredContactPoints);
            default:
                throw new ConfigurationException($"Cluster:Bootstrap '{cluster.Bootstrap}' is not seeds or kubernetes");
        }
    }

    /// <summary>
    /// Where and how the gateway serves its query API. Without tokens it is open, which is only
    /// allowed on loopback: an API reachable from other machines must name its tokens.
    /// </summary>
    public static ApiSettings ToApiSettings(this NodeConfig config)
    {
        var defaults = new ApiSettings();
        var api = config.Api;
        var settings = defaults with
        {
            HttpEndpoint = EndpointOf("Api:Http", api.Http) ?? defaults.HttpEndpoint,
            GrpcEndpoint = EndpointOf("Api:Grpc", api.Grpc) ?? defaults.GrpcEndpoint,
            Certificate = string.IsNullOrEmpty(api.Tls.Certificate)
                ? null
                : CertificateFiles.LoadPkcs12("API certificate (Api:Tls:Certificate)", api.Tls.Certificate, api.Tls.Password),
        };
        var readOnly = api.ReadOnlyTokens ?? [];
        var admin = api.AdminTokens ?? [];
        var localOnly = IPAddress.IsLoopback(settings.HttpEndpoint.Address) && IPAddress.IsLoopback(settings.GrpcEndpoint.Address);
        if (!localOnly && readOnly.Length + admin.Length == 0)
            throw new ConfigurationException(
                $"the API listens beyond this machine (HTTP {settings.HttpEndpoint}, gRPC {settings.GrpcEndpoint}) without tokens: " +
                "set Api:ReadOnlyTokens and/or Api:AdminTokens, or bind Api:Http and Api:Grpc to 127.0.0.1");
        if (!localOnly && settings.Certificate is null)
            throw new ConfigurationException(
                $"the API listens beyond this machine (HTTP {settings.HttpEndpoint}, gRPC {settings.GrpcEndpoint}) without TLS, so its bearer tokens " +
                "would cross the network in clear: set Api:Tls:Certificate, or bind Api:Http and Api:Grpc to 127.0.0.1");
        return readOnly.Length + admin.Length == 0 ? settings : settings with { AccessPolicy = new BearerTokenPolicy(readOnly, admin) };
    }

    /// <summary>The Forwarder section is <see cref="ForwarderSettings"/> itself: each key is its property's name.</summary>
    private static readonly Dictionary<string, string> ForwarderKeys = typeof(ForwarderSettings).GetProperties()
        .ToDictionary(property => property.Name, property => $"{nameof(NodeConfig.Forwarder)}:{property.Name}");

    /// <summary>
    /// Checks settings as a node would at start; a value not allowed is one line naming its key, the value
    /// and what is allowed, e.g. "Forwarder:BatchSize '0' is not allowed: 1 or more events".
    /// </summary>
    private static T Validated<T>(T settings, Action validate, IReadOnlyDictionary<string, string> keys)
    {
        try
        {
            validate();
            return settings;
        }
        catch (SettingOutOfRangeException e) when (keys.ContainsKey(e.Setting))
        {
            throw new ConfigurationException($"{keys[e.Setting]} '{e.ActualValue}' is not allowed: {e.Allowed}", e);
        }
    }

    public static IPEndPoint? EndpointOf(string key, string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        return IPEndPoint.TryParse(value, out var endpoint)
            ? endpoint
            : throw new ConfigurationException($"{key} '{value}' is not an address:port, e.g. 127.0.0.1:7070 or 0.0.0.0:7070");
    }

    private static DatabaseSettings DatabaseOf(DatabaseSection database, string dataDirectory)
    {
        var provider = database.Provider is null ? DatabaseProvider.Sqlite : DatabaseSettings.ParseProvider(database.Provider);
        return (provider, database.ConnectionString) switch
        {
            (_, { Length: > 0 } connectionString) => new DatabaseSettings(provider, connectionString),
            (DatabaseProvider.Sqlite, _) => DatabaseSettings.SqliteIn(dataDirectory),
            _ => throw new ConfigurationException(
                $"Database:Provider {database.Provider} needs Database:ConnectionString (Host=...;Port=5432;Database=forkline;Username=...;Password=...)"),
        };
    }

    private static ClusterTlsSettings? TlsOf(ClusterTlsSection tls)
    {
        if (tls.Enabled != true) return null;
        if (string.IsNullOrEmpty(tls.Certificate) || string.IsNullOrEmpty(tls.Authority))
            throw new ConfigurationException("Cluster:Tls:Enabled is true: set Cluster:Tls:Certificate (this node's PKCS#12 file) and Cluster:Tls:Authority (the fleet CA's PEM file)");
        return new ClusterTlsSettings(tls.Certificate, tls.Password, tls.Authority);
    }
}

/// <summary>Settings that cannot be used as given; the message names the setting and the fix.</summary>
public sealed class ConfigurationException(string message, Exception? inner = null) : Exception(message, inner);
