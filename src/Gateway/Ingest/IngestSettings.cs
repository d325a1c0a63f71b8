using System.Net;

namespace Forkline.Gateway.Ingest;

/// <summary>
/// Where a gateway takes its collectors' streams and whom it lets report for which host.
/// With the cluster's TLS on, the listener asks each collector for a client certificate the fleet
/// CA issued (OU=collector); its CN names the host it may report for. A collector without one may
/// present a bearer token of <paramref name="HostTokens"/> instead. With neither TLS nor tokens the
/// listener takes any host, which is allowed on loopback only.
/// </summary>
/// <param name="Listen">Port 0 picks a free port (tests); <see cref="IngestServer.Address"/> tells which.</param>
/// <param name="HostTokens">Host name -> the bearer token a collector reporting for it presents.</param>
public sealed record IngestSettings(IPEndPoint Listen, IReadOnlyDictionary<string, string>? HostTokens = null)
{
    public const int DefaultPort = 7072;

    public static IPEndPoint DefaultListen => new(IPAddress.Loopback, DefaultPort);

    public IReadOnlyDictionary<string, string> Tokens => HostTokens ?? new Dictionary<string, string>();

    public void Validate(bool tls)
    {
        foreach (var (host, token) in Tokens)
        {
            if (string.IsNullOrWhiteSpace(host)) throw new ArgumentException("Ingest:HostTokens has an entry without a host name");
            if (string.IsNullOrWhiteSpace(token) || token.Length < 16)
                throw new ArgumentException($"Ingest:HostTokens: the token of host '{host}' is shorter than 16 characters; use a long random one (openssl rand -hex 32)");
        }
        var duplicate = Tokens.GroupBy(pair => pair.Value, StringComparer.Ordinal).FirstOrDefault(group => group.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"Ingest:HostTokens: hosts {string.Join(", ", duplicate.Select(pair => pair.Key))} share one token; a token names exactly one host");
        if (!tls && Tokens.Count == 0 && !IPAddress.IsLoopback(Listen.Address))
            throw new ArgumentException(
                $"Ingest:Listen {Listen} reaches beyond this machine but collectors would not be identified: turn on Cluster:Tls " +
                "(collectors present fleet certificates) and/or set Ingest:HostTokens, or listen on 127.0.0.1");
    }
}
