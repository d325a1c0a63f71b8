using System.Net;

namespace Forkline.Gateway.Ingest;

/// <summary>
/// The Ingest section: where a gateway takes its collectors' streams and whom it lets report for which host.
/// With the cluster's TLS on, the listener asks each collector for a client certificate the fleet
/// CA issued (OU=collector); its CN names the host it may report for. A collector without one may
/// present a bearer token of <see cref="HostTokens"/> instead. With neither TLS nor tokens the
/// listener takes any host, which is allowed on loopback only.
/// </summary>
public sealed record IngestSettings
{
    public const int DefaultPort = 7072;

    public IngestSettings()
    {
    }

    public IngestSettings(IPEndPoint listen, IReadOnlyDictionary<string, string>? hostTokens = null) =>
        (Listen, HostTokens) = (listen, hostTokens ?? HostTokens);

    /// <summary>Port 0 picks a free port (tests); <see cref="IngestServer.Address"/> tells which.</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Loopback, DefaultPort);

    /// <summary>Host name -> the bearer token a collector reporting for it presents.</summary>
    public IReadOnlyDictionary<string, string> HostTokens { get; init; } = new Dictionary<string, string>();

    public void Validate(bool tls)
    {
        foreach (var (host, token) in HostTokens)
        {
            if (string.IsNullOrWhiteSpace(host)) throw new ArgumentException("Ingest:HostTokens has an entry without a host name");
            if (string.IsNullOrWhiteSpace(token) || token.Length < 16)
                throw new ArgumentException($"Ingest:HostTokens: the token of host '{host}' is shorter than 16 characters; use a long random one (openssl rand -hex 32)");
        }
        var duplicate = HostTokens.GroupBy(pair => pair.Value, StringComparer.Ordinal).FirstOrDefault(group => group.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"Ingest:HostTokens: hosts {string.Join(", ", duplicate.Select(pair => pair.Key))} share one token; a token names exactly one host");
        if (!tls && HostTokens.Count == 0 && !IPAddress.IsLoopback(Listen.Address))
            throw new ArgumentException(
                $"Ingest:Listen {Listen} reaches beyond this machine but collectors would not be identified: turn on Cluster:Tls " +
                "(collectors present fleet certificates) and/or set Ingest:HostTokens, or listen on 127.0.0.1");
    }
}
