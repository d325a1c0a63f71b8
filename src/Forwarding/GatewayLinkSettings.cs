using System.Security.Cryptography.X509Certificates;

namespace Forkline.Forwarding;

/// <summary>How a collector reaches the gateway cluster: as a client of any gateway, never a member.</summary>
/// <param name="Gateways">Ingest addresses of the gateways (https:// with TLS), or one load balancer's; tried in turn from a random start.</param>
/// <param name="Certificate">The collector's fleet certificate with its key (OU=collector, CN = its host name); null = none.</param>
/// <param name="Authority">The fleet CA the gateways' certificates must chain to; needed with https:// addresses.</param>
/// <param name="Token">A bearer token of the gateways' Ingest:HostTokens, for a collector without a certificate.</param>
public sealed record GatewayLinkSettings(
    IReadOnlyList<Uri> Gateways,
    X509Certificate2? Certificate = null,
    X509Certificate2? Authority = null,
    string? Token = null)
{
    /// <summary>The first reconnect waits about this long (jittered); each failure doubles it.</summary>
    public TimeSpan MinReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest wait between two attempts.</summary>
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a gateway may take to accept a stream before the next one is tried.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A stream that answered nothing for this long since it was sent something is given up for the next
    /// gateway: a gateway that vanished without closing the connection (power, network) or froze. Longer than
    /// a gateway's ask timeout (10 s), after which it answers every batch, if only to say "send it again".
    /// </summary>
    public TimeSpan AnswerTimeout { get; init; } = TimeSpan.FromSeconds(20);

    public void Validate()
    {
        if (Gateways.Count == 0)
            throw new ArgumentException("a collector needs at least one gateway ingest address (Collector:Gateways, e.g. gateway-1:7072)");
        foreach (var gateway in Gateways)
        {
            if (gateway.Scheme != Uri.UriSchemeHttp && gateway.Scheme != Uri.UriSchemeHttps)
                throw new ArgumentException($"gateway address '{gateway}' is neither http:// nor https://");
            if (gateway.Scheme == Uri.UriSchemeHttps && Authority is null)
                throw new ArgumentException($"gateway address '{gateway}' is https:// but no fleet CA is given to check the gateway's certificate (Collector:Tls:Authority)");
            if (gateway.Scheme == Uri.UriSchemeHttp && (Certificate is not null || Token is not null) && !gateway.IsLoopback)
                throw new ArgumentException($"gateway address '{gateway}' is plain http:// beyond this machine: the collector's identity would cross the network in clear; use TLS");
        }
        if (Certificate is { HasPrivateKey: false })
            throw new ArgumentException($"the collector's certificate '{Certificate.Subject}' has no private key: give the PKCS#12 file that holds the key");
        if (AnswerTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"the answer timeout ({AnswerTimeout}) must be positive");
        if (MinReconnectDelay <= TimeSpan.Zero || MaxReconnectDelay < MinReconnectDelay)
            throw new ArgumentException($"reconnect delays must be positive and the longest ({MaxReconnectDelay}) no shorter than the first ({MinReconnectDelay})");
    }
}
