using System.Security.Cryptography.X509Certificates;
using Forkline.Contracts.Api;
using Forkline.Gateway.Api;
using Forkline.Gateway.Cluster;
using Forkline.Hosting;
using Grpc.Core;
using Grpc.Net.Client;

namespace Forkline.Client;

/// <summary>The CLI's connection to a gateway's gRPC API.</summary>
public sealed class GatewayClient : IDisposable
{
    public const string DefaultAddress = "http://127.0.0.1:7071";
    public const string AddressVariable = "FORKLINE_GATEWAY";

    // Queries answer in milliseconds; a gateway that takes this long is stuck, not busy.
    public static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(30);

    private readonly GrpcChannel _channel;

    /// <summary>The bearer token sent with every call, for a gateway that requires one.</summary>
    public const string TokenVariable = "FORKLINE_TOKEN";

    /// <summary>PEM file of the CA that issued an https gateway's certificate, when the system does not trust it.</summary>
    public const string AuthorityVariable = "FORKLINE_CA";

    private GatewayClient(Uri address)
    {
        Address = address;
        _channel = GrpcChannel.ForAddress(address, ChannelOptions(address));
        Api = new ForklineApi.ForklineApiClient(_channel);
    }

    public Uri Address { get; }
    public ForklineApi.ForklineApiClient Api { get; }

    public static GatewayClient Connect(string address)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw ApiRequestException.Invalid($"--gateway '{address}' is not an http:// or https:// URL, e.g. {DefaultAddress}");
        return new GatewayClient(uri);
    }

    /// <summary>Options for a query: bounded by <see cref="QueryTimeout"/>. Streams get no deadline.</summary>
    public static CallOptions Query(CancellationToken ct) => new(deadline: DateTime.UtcNow + QueryTimeout, cancellationToken: ct);

    public void Dispose() => _channel.Dispose();

    private static GrpcChannelOptions ChannelOptions(Uri address)
    {
        var options = new GrpcChannelOptions();
        if (Environment.GetEnvironmentVariable(AuthorityVariable) is { Length: > 0 } authorityPath)
        {
            var authority = CertificateFiles.LoadCertificate($"gateway CA ({AuthorityVariable})", authorityPath);
            options.HttpHandler = new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => PrivateCertificateAuthority.Issued(authority, certificate) },
            };
            options.DisposeHttpClient = true;
        }
        if (Environment.GetEnvironmentVariable(TokenVariable) is { Length: > 0 } token)
        {
            var bearer = CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", "Bearer " + token);
                return Task.CompletedTask;
            });
            var transport = address.Scheme == Uri.UriSchemeHttps ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure;
            options.Credentials = ChannelCredentials.Create(transport, bearer);
            // On a plain-http gateway (loopback, tests) the token still has to travel.
            options.UnsafeUseInsecureChannelCallCredentials = address.Scheme == Uri.UriSchemeHttp;
        }
        return options;
    }
}
