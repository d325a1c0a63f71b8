using System.Net;
using System.Security.Cryptography.X509Certificates;
using Forkline.Gateway.Api;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forkline.Gateway.Ingest;

/// <summary>
/// The gateway's listener for collectors (<see cref="IngestService"/>): a Kestrel port of its own,
/// HTTP/2 only, with mutual TLS against the fleet CA when the cluster runs TLS.
/// </summary>
public sealed class IngestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ListenOptions _listen;
    private readonly bool _tls;

    private IngestServer(WebApplication app, ListenOptions listen, bool tls)
    {
        _app = app;
        _listen = listen;
        _tls = tls;
    }

    /// <summary>The bound address (the real port when the settings asked for port 0).</summary>
    public Uri Address => new($"{(_tls ? Uri.UriSchemeHttps : Uri.UriSchemeHttp)}://{(IPEndPoint)_listen.EndPoint}");

    /// <param name="certificate">This gateway's fleet certificate (with its key); null = no TLS.</param>
    /// <param name="authority">The fleet CA that must have issued a collector's certificate; null = no TLS.</param>
    /// <param name="nodeLoggers">The node's loggers: the listener's lines go where and how the node's others go.</param>
    public static async Task<IngestServer> StartAsync(IngestSettings settings, IngestGateway gateway, GatewayMetrics metrics,
        X509Certificate2? certificate, X509Certificate2? authority, ILoggerFactory nodeLoggers, CancellationToken ct = default)
    {
        var fleet = authority is null ? null : IngestIdentity.CollectorCertificates(authority);
        var identity = new IngestIdentity(settings, fleet, metrics);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "Forkline.Gateway.Ingest" });
        ListenOptions? bound = null;
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Idle collectors keep their streams open for days: only HTTP/2 pings tell a dead peer. A live collector
            // sends something at least every minute or so (its unchanged run report, or its own ping after 60 s
            // without a frame), so the gateway pings only one it has not heard from for longer: one ping a minute
            // per connection, not one from each end.
            kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(90);
            kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
            kestrel.Listen(settings.Listen, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (certificate is not null)
                    listen.UseHttps(new HttpsConnectionAdapterOptions
                    {
                        ServerCertificate = certificate,
                        // Allowed, not required: a collector may identify by token instead.
                        ClientCertificateMode = ClientCertificateMode.AllowCertificate,
                        // The system trust store and host names play no part; the fleet CA is the identity.
                        ClientCertificateValidation = (presented, _, _) => identity.IsTrusted(presented),
                    });
                bound = listen;
            });
        });
        // A stream never completes on its own: a stop waits this long, then aborts them all.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(1));
        builder.Services.AddRouting();
        builder.Services.AddSingleton<IHostLifetime, EmbeddedHostLifetime>();
        builder.Logging.ClearProviders().AddProvider(new ForwardingLoggerProvider(nodeLoggers));
        // ASP.NET Core logs every request at Information: only its warnings and errors are worth a line.
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.Services.AddGrpc(options =>
        {
            options.EnableDetailedErrors = false;
            // As on the cluster transport: a batch is 64 KiB at most unless one large event travels alone.
            options.MaxReceiveMessageSize = ForklineWireSerializer.MaximumFrameBytes;
        });
        builder.Services.AddSingleton(gateway);
        builder.Services.AddSingleton(identity);
        builder.Services.AddSingleton(metrics);

        var app = builder.Build();
        app.UseRouting();
        app.MapGrpcService<IngestService>();
        try
        {
            await app.StartAsync(ct);
        }
        catch (IOException error)
        {
            await app.DisposeAsync();
            throw new InvalidOperationException(
                $"the ingest listener could not listen on {settings.Listen}: {error.Message} — another process may hold the port; stop it or set Ingest:Listen", error);
        }
        return new IngestServer(app, bound!, certificate is not null);
    }

    /// <summary>Ends every collector's stream at once: they move to another gateway.</summary>
    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
