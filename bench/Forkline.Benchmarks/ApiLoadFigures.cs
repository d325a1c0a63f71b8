using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Forkline.Gateway.Api;
using Forkline.Gateway.Tests.Support;

namespace Forkline.Benchmarks;

/// <summary>
/// Issue 13's overload figures: a gateway whose history holds 100,000 processes of one host (bulk-inserted
/// with SQL; a random recursive tree, each process's parent drawn from those before it: ancestor chains
/// of ~12 on average and ~30 at most, as on a real host, and every process below the first), its HTTP API
/// under 200 parallel clients for 60 s (FORKLINE_BENCH_API_SECONDS to change), each asking again as soon
/// as it has its answer (after a 429, after its Retry-After): 150 within the limits (lineage of a random
/// process at the default depth), 25 asking the largest lineage allowed (64 generations below one of the
/// first 10 processes: cut at 10,000 descendants) and 25 the largest process page (10,000). Prints, per
/// kind of client, the answers by status and the latency of the 200s; the process's RSS (server and
/// clients share it); the load average (the machine may be shared), against the targets.
/// </summary>
public sealed class ApiLoadFigures : IQuickFigures
{
    private const string Host = "bench-api";
    private const int Processes = 100_000;
    private const int LightClients = 150;
    private const int DeepLineageClients = 25;
    private const int LargeListClients = 25;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public string Name => "Api";

    public async Task RunAsync(TextWriter output)
    {
        var duration = TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("FORKLINE_BENCH_API_SECONDS"), out var seconds) ? seconds : 60);
        output.WriteLine($"API load on {Environment.ProcessorCount} cores, server GC {System.Runtime.GCSettings.IsServerGC}, SQLite (temp file), {duration.TotalSeconds:N0} s");
        var table = new FiguresTable(output);
        using var database = new TestDatabase();
        await using var gateway = await BenchNodes.StartAsync(BenchNodes.Gateway(database, seeds: null), Patience);
        var random = new Random(13);
        var parents = new int[Processes];
        parents[0] = -1;
        for (var i = 1; i < Processes; i++) parents[i] = random.Next(i);
        await GatewayLineageFigure.InsertAsync(database, Host, parents);
        output.WriteLine($"setup: {Processes:N0} history rows of {Host} inserted");

        await using var api = await ApiServer.StartAsync(gateway.Queries!, new ApiSettings
        {
            HttpEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
        });
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1_000 }) { BaseAddress = api.HttpAddress, Timeout = TimeSpan.FromSeconds(60) };
        // Warm the entity and the SQL paths once.
        (await http.GetAsync($"/api/v1/lineage/{Uri.EscapeDataString(GatewayLineageFigure.ExecIdOf(Host, 1))}")).Dispose();

        GC.Collect();
        var rssBefore = Process.GetCurrentProcess().WorkingSet64;
        output.WriteLine($"load average at start: {LoadAverage()}");
        var light = new Route("lineage, default depth (within the limits)");
        var deep = new Route($"lineage, depth {ApiInput.MaxDescendantDepth} below a near-root process");
        var pages = new Route($"process page of {ApiInput.MaxListLimit:N0}");
        var peakRss = rssBefore;
        using var stop = new CancellationTokenSource(duration);
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peakRss = Math.Max(peakRss, Process.GetCurrentProcess().WorkingSet64);
                await Task.Delay(250);
            }
        });
        var clients = new List<Task>();
        for (var i = 0; i < LightClients; i++)
        {
            var seed = i;
            clients.Add(Client(http, light, stop.Token, r => $"/api/v1/lineage/{Uri.EscapeDataString(GatewayLineageFigure.ExecIdOf(Host, r.Next(Processes)))}", seed));
        }
        for (var i = 0; i < DeepLineageClients; i++)
            clients.Add(Client(http, deep, stop.Token, r => $"/api/v1/lineage/{Uri.EscapeDataString(GatewayLineageFigure.ExecIdOf(Host, r.Next(10)))}?depth={ApiInput.MaxDescendantDepth}", 1_000 + i));
        for (var i = 0; i < LargeListClients; i++)
            clients.Add(Client(http, pages, stop.Token, _ => $"/api/v1/hosts/{Host}/processes?limit={ApiInput.MaxListLimit}", 2_000 + i));
        await Task.WhenAll(clients);
        await sampler;
        var rssAfter = Process.GetCurrentProcess().WorkingSet64;

        output.WriteLine($"load average at end: {LoadAverage()}");
        Route[] routes = [light, deep, pages];
        foreach (var route in routes) route.Print(output);
        var serverErrors = routes.Sum(route => route.ServerErrors);
        output.WriteLine($"RSS before {rssBefore / 1e6:N0} MB, peak {peakRss / 1e6:N0} MB, after {rssAfter / 1e6:N0} MB (server and clients in one process)");
        table.Add("5xx answers (and failed requests)", serverErrors, "", 0, higherIsBetter: false, orEqual: true);
        table.Add("peak RSS under 200 clients", peakRss / 1e6, "MB", 1_000, higherIsBetter: false);
        if (light.Latencies.Count > 0)
        {
            table.Add("lineage p50, clients within the limits (200 OK)", light.Percentile(0.50), "ms", 200, higherIsBetter: false, hasTarget: false);
            table.Add("lineage p99, clients within the limits (200 OK)", light.Percentile(0.99), "ms", 200, higherIsBetter: false);
        }
        table.Print();
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    /// <summary>One kind of client: its answers by status, and the latency of its 200s.</summary>
    private sealed class Route(string name)
    {
        public ConcurrentDictionary<string, int> Statuses { get; } = new();

        public ConcurrentBag<double> Latencies { get; } = [];

        public int ServerErrors => Statuses.Where(pair => pair.Key.StartsWith('5') || pair.Key == "failed").Sum(pair => pair.Value);

        public double Percentile(double fraction)
        {
            var sorted = Latencies.Order().ToList();
            return sorted[Math.Min(sorted.Count - 1, (int)(sorted.Count * fraction))];
        }

        public void Print(TextWriter output)
        {
            var answers = string.Join(", ", Statuses.OrderBy(pair => pair.Key).Select(pair => $"{pair.Key}: {pair.Value:N0}"));
            var latency = Latencies.IsEmpty ? "no 200s" : $"200s p50 {Percentile(0.50):N0} ms, p99 {Percentile(0.99):N0} ms";
            output.WriteLine($"{name}: {answers}; {latency}");
        }
    }

    private static async Task Client(HttpClient http, Route route, CancellationToken stop, Func<Random, string> path, int seed)
    {
        var random = new Random(seed);
        while (!stop.IsCancellationRequested)
        {
            var start = Stopwatch.GetTimestamp();
            string status;
            try
            {
                using var response = await http.GetAsync(path(random), HttpCompletionOption.ResponseContentRead, CancellationToken.None);
                status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (response.StatusCode == HttpStatusCode.OK) route.Latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                if (response.StatusCode == HttpStatusCode.TooManyRequests) await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1), CancellationToken.None);
            }
            catch (HttpRequestException)
            {
                status = "failed";
            }
            catch (TaskCanceledException)
            {
                status = "failed";
            }
            route.Statuses.AddOrUpdate(status, 1, (_, count) => count + 1);
        }
    }
}
