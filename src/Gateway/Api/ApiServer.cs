using System.Net;
using Forkline.Gateway.Api.Grpc;
using Forkline.Gateway.Api.Http;
using Forkline.Gateway.Queries;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forkline.Gateway.Api;

/// <summary>
/// The gateway's query API on Kestrel: gRPC (HTTP/2; without TLS by prior knowledge) on one port and
/// HTTP/JSON (HTTP/1.1) plus /healthz, /readyz and /metrics on another; both with TLS when
/// <see cref="ApiSettings.Certificate"/> is set.
/// </summary>
public sealed class ApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ListenOptions _http;
    private readonly ListenOptions _grpc;
    private readonly string _scheme;

    private ApiServer(WebApplication app, ListenOptions http, ListenOptions grpc, string scheme)
    {
        _app = app;
        _http = http;
        _grpc = grpc;
        _scheme = scheme;
    }

    /// <summary>The bound HTTP/JSON address (the real port when the settings asked for port 0).</summary>
    public Uri HttpAddress => AddressOf(_http);

    public Uri GrpcAddress => AddressOf(_grpc);

    /// <summary>What admits the unary queries: how many wait now.</summary>
    public QueryAdmission Admission => _app.Services.GetRequiredService<QueryAdmission>();

    public static async Task<ApiServer> StartAsync(IProcessQueries queries, ApiSettings settings, CancellationToken ct = default)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "Forkline.Gateway.Api" });
        ListenOptions? http = null;
        ListenOptions? grpc = null;
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(settings.HttpEndpoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                if (settings.Certificate is { } certificate) listen.UseHttps(certificate);
                http = listen;
            });
            kestrel.Listen(settings.GrpcEndpoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (settings.Certificate is { } certificate) listen.UseHttps(certificate);
                grpc = listen;
            });
        });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = settings.ShutdownTimeout);
        builder.Services.AddRouting();
        builder.Services.AddSingleton<IHostLifetime, EmbeddedHostLifetime>();
        builder.Logging.ClearProviders().AddProvider(new ForwardingLoggerProvider(settings.LoggerFactory));
        // ASP.NET Core logs every request at Information: only its warnings and errors are worth a line.
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning);
        // A failed start is thrown to the caller with the fix; the host's own log of it would repeat it with a stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.Services.AddGrpc(grpcOptions =>
        {
            // The error interceptor goes first so that it also maps the access interceptor's refusals.
            grpcOptions.Interceptors.Add<GrpcErrorInterceptor>();
            grpcOptions.Interceptors.Add<GrpcAccessInterceptor>();
            grpcOptions.EnableDetailedErrors = false;
        });
        builder.Services.AddSingleton(queries);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(settings.AccessPolicy);
        builder.Services.AddSingleton(new ApiMessages(settings.EventJson));
        builder.Services.AddSingleton(new QueryAdmission(settings.Limits));
        builder.Services.AddSingleton<ProcessApi>();
        builder.Services.AddSingleton<ApiShutdown>();
        // One instance serves both transports: gRPC resolves it from here, HTTP runs its methods (HttpApiRoutes).
        builder.Services.AddSingleton<ForklineApiService>();

        var app = builder.Build();
        app.UseMiddleware<HttpErrorMiddleware>();
        app.UseRouting();
        app.MapGrpcService<ForklineApiService>();
        HttpApiRoutes.Map(app);

        try
        {
            await app.StartAsync(ct);
        }
        catch (IOException error)
        {
            await app.DisposeAsync();
            throw new InvalidOperationException(
                $"the API could not listen on HTTP {settings.HttpEndpoint} / gRPC {settings.GrpcEndpoint}: {error.Message} " +
                "— another process may hold the port; stop it or configure other API ports", error);
        }
        return new ApiServer(app, http!, grpc!, settings.Certificate is null ? Uri.UriSchemeHttp : Uri.UriSchemeHttps);
    }

    public Task StopAsync(CancellationToken ct = default) => _app.StopAsync(ct);

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private Uri AddressOf(ListenOptions listen) =>
        new($"{_scheme}://{(listen.EndPoint as IPEndPoint)?.ToString() ?? listen.EndPoint.ToString()}");
}
