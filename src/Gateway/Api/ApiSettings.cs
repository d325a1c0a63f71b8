using System.Net;
using System.Security.Cryptography.X509Certificates;
using Forkline.Gateway.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Forkline.Gateway.Api;

/// <summary>
/// Where and how the API listens. gRPC and HTTP/JSON get one port each because gRPC over plain
/// TCP needs HTTP/2 with prior knowledge, which an HTTP/1.1 port cannot offer. Port 0 picks a free
/// port; <see cref="ApiServer.HttpAddress"/> and <see cref="ApiServer.GrpcAddress"/> tell which.
/// </summary>
public sealed record ApiSettings
{
    public const int DefaultHttpPort = 7070;
    public const int DefaultGrpcPort = 7071;

    public IPEndPoint HttpEndpoint { get; init; } = new(IPAddress.Loopback, DefaultHttpPort);
    public IPEndPoint GrpcEndpoint { get; init; } = new(IPAddress.Loopback, DefaultGrpcPort);
    public ApiAccessPolicy AccessPolicy { get; init; } = ApiAccessPolicy.AllowAll;

    /// <summary>The server certificate (with its private key) both ports serve TLS with; null = plain HTTP.</summary>
    public X509Certificate2? Certificate { get; init; }
    public IEventJsonFormatter EventJson { get; init; } = new ExportJsonFormatter();

    /// <summary>What /readyz reports: whether the gateway behind the API can answer queries yet.</summary>
    public Func<bool> IsReady { get; init; } = static () => true;

    /// <summary>Where the API logs (ASP.NET Core's warnings and errors, unexpected request failures); default nowhere.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Concurrent, queued and per-query time limits of the unary queries.</summary>
    public QueryLimits Limits { get; init; } = new();

    /// <summary>Where the API counts the errors it answers (forkline_api_errors_total): the node's; null = not counted (an API without a node).</summary>
    public GatewayMetrics? Metrics { get; init; }

    /// <summary>Writes the node's metrics as Prometheus text: what /metrics answers; null = no /metrics (an API without a node).</summary>
    public Func<Stream, CancellationToken, Task>? WriteMetrics { get; init; }

    /// <summary>How long a stop waits for unary calls in flight; open streams are ended at once.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
