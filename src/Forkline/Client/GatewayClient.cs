using Forkline.Contracts.Api;
using Forkline.Gateway.Api;
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

    private GatewayClient(Uri address)
    {
        Address = address;
        _channel = GrpcChannel.ForAddress(address);
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
}
