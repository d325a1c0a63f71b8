using System.Net;
using Forkline.Gateway;
using Forkline.Gateway.Api;

namespace Forkline.Hosting;

/// <summary>
/// The Api section of a gateway (deploy/config/README.md): where <see cref="NodeApi"/> serves the query API,
/// whom it lets in and how much query work it takes on. Without tokens the API is open, which is only
/// allowed on loopback: an API reachable from other machines must name its tokens and serve TLS.
/// </summary>
public sealed record NodeApiSettings
{
    /// <summary>HTTP/JSON endpoint, address:port.</summary>
    public IPEndPoint Http { get; init; } = new(IPAddress.Loopback, ApiSettings.DefaultHttpPort);

    /// <summary>gRPC endpoint, address:port.</summary>
    public IPEndPoint Grpc { get; init; } = new(IPAddress.Loopback, ApiSettings.DefaultGrpcPort);

    public NodeApiTlsSettings Tls { get; init; } = new();

    /// <summary>Bearer tokens that may query; empty together with <see cref="AdminTokens"/> = no authentication.</summary>
    public string[] ReadOnlyTokens { get; init; } = [];

    /// <summary>Bearer tokens that may query and run admin calls.</summary>
    public string[] AdminTokens { get; init; } = [];

    public QueryLimits Limits { get; init; } = new();

    public void Validate()
    {
        // The binder sets an address written empty to null.
        if (Http is null) throw new SettingOutOfRangeException(nameof(Http), "", "an address:port, e.g. 127.0.0.1:7070 or 0.0.0.0:7070");
        if (Grpc is null) throw new SettingOutOfRangeException(nameof(Grpc), "", "an address:port, e.g. 127.0.0.1:7071 or 0.0.0.0:7071");
        SettingOutOfRangeException.Within(nameof(Limits), Limits.Validate);
        var localOnly = IPAddress.IsLoopback(Http.Address) && IPAddress.IsLoopback(Grpc.Address);
        if (localOnly) return;
        if (ReadOnlyTokens.Length + AdminTokens.Length == 0)
            throw new ArgumentException(
                $"the API listens beyond this machine (HTTP {Http}, gRPC {Grpc}) without tokens: " +
                "set Api:ReadOnlyTokens and/or Api:AdminTokens, or bind Api:Http and Api:Grpc to 127.0.0.1");
        if (string.IsNullOrEmpty(Tls.Certificate))
            throw new ArgumentException(
                $"the API listens beyond this machine (HTTP {Http}, gRPC {Grpc}) without TLS, so its bearer tokens " +
                "would cross the network in clear: set Api:Tls:Certificate, or bind Api:Http and Api:Grpc to 127.0.0.1");
    }

    /// <summary>What the API server runs with: the certificate read from its file, the tokens as its access policy.</summary>
    public ApiSettings ToServerSettings() => new()
    {
        HttpEndpoint = Http,
        GrpcEndpoint = Grpc,
        Certificate = string.IsNullOrEmpty(Tls.Certificate)
            ? null
            : CertificateFiles.LoadPkcs12("API certificate (Api:Tls:Certificate)", Tls.Certificate, Tls.Password),
        AccessPolicy = ReadOnlyTokens.Length + AdminTokens.Length == 0 ? ApiAccessPolicy.AllowAll : new BearerTokenPolicy(ReadOnlyTokens, AdminTokens),
        Limits = Limits,
    };
}

/// <summary>The API's TLS: one server certificate for both ports.</summary>
public sealed record NodeApiTlsSettings
{
    /// <summary>PKCS#12 file with the API's server certificate and key; empty = plain HTTP.</summary>
    public string Certificate { get; init; } = "";

    public string Password { get; init; } = "";
}
