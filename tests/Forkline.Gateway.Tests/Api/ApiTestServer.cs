using System.Net;
using System.Text.RegularExpressions;
using Forkline.Contracts.Api;
using Forkline.Gateway.Api;
using Forkline.Gateway.Telemetry;
using Forkline.Hosting;
using Grpc.Net.Client;

namespace Forkline.Gateway.Tests.Api;

/// <summary>
/// A real ApiServer on free loopback ports, with an HTTP client and a gRPC client pointed at it, and metrics of its own
/// on /metrics as a node's API has.
/// </summary>
internal sealed class ApiTestServer : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly PrometheusExport _metrics;

    private ApiTestServer(ApiServer server, FakeProcessQueries queries, PrometheusExport metrics)
    {
        Server = server;
        Queries = queries;
        _metrics = metrics;
        Http = new HttpClient { BaseAddress = server.HttpAddress, Timeout = TimeSpan.FromSeconds(30) };
        _channel = GrpcChannel.ForAddress(server.GrpcAddress);
        Grpc = new ForklineApi.ForklineApiClient(_channel);
    }

    public ApiServer Server { get; }
    public FakeProcessQueries Queries { get; }
    public HttpClient Http { get; }
    public ForklineApi.ForklineApiClient Grpc { get; }

    public static async Task<ApiTestServer> StartAsync(FakeProcessQueries queries, ApiSettings? settings = null)
    {
        var metrics = new PrometheusExport(Prometheus.Metrics.NewCustomRegistry());
        var onFreePorts = (settings ?? new ApiSettings()) with
        {
            HttpEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            Metrics = new GatewayMetrics(metrics.Meters),
            WriteMetrics = metrics.WriteAsync,
        };
        try
        {
            return new ApiTestServer(await ApiServer.StartAsync(queries, onFreePorts), queries, metrics);
        }
        catch
        {
            metrics.Dispose();
            throw;
        }
    }

    /// <summary>The value of forkline_api_errors_total for one label set, as /metrics shows it.</summary>
    public async Task<double> ErrorCountAsync(string code, string transport)
    {
        var metrics = await Http.GetStringAsync("/metrics");
        var line = Regex.Match(metrics,
            $"^forkline_api_errors_total\\{{code=\"{code}\",transport=\"{transport}\"\\}} (\\S+)$", RegexOptions.Multiline);
        return line.Success ? double.Parse(line.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        _channel.Dispose();
        await Server.StopAsync();
        await Server.DisposeAsync();
        _metrics.Dispose();
    }
}
