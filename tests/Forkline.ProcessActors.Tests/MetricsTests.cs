using System.Net;
using System.Net.Sockets;
using Forkline.Contracts.Identity;
using Xunit.Abstractions;
using static Forkline.ProcessActors.Tests.KernelEvents;

namespace Forkline.ProcessActors.Tests;

public sealed class MetricsTests(ITestOutputHelper output) : PipelineTestKit(output)
{
    [Fact]
    public async Task Events_are_counted_by_kind()
    {
        await using var pipeline = StartPipeline();
        var bash = Key(100, 1_000);

        await FeedAndFlush(pipeline,
            Exec(bash, ProcessKey.None, "/bin/bash"), Clone(Key(200, 2_000), bash),
            Hook(bash, 1_100), Hook(bash, 1_200, tid: 101), Exit(bash, 3_000));

        Assert.Equal((1, 1, 2, 1), (Value(Metrics.EventsTotal, "exec"), Value(Metrics.EventsTotal, "clone"),
            Value(Metrics.EventsTotal, "hook"), Value(Metrics.EventsTotal, "exit")));
        Assert.Equal(2, Metrics.ProcessesLive.Value);
    }

    [Fact]
    public async Task The_metrics_endpoint_serves_prometheus_text_including_collector_figures()
    {
        await using var pipeline = StartPipeline();
        await FeedAndFlush(pipeline, Exec(Key(100, 1_000), ProcessKey.None, "/bin/bash"));
        Metrics.RefreshBeforeScrape(() => Metrics.BpfLostEventsTotal.WithLabels("exec").IncTo(7));
        var port = FreePort();

        using var server = Metrics.StartServer(port);
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://localhost:{port}/metrics"));

        Assert.Contains("forkline_events_total{kind=\"exec\"} 1", text);
        Assert.Contains("forkline_processes_live 1", text);
        Assert.Contains("forkline_bpf_lost_events_total{kind=\"exec\"} 7", text);
        Assert.Contains("forkline_tid_pid_mismatch_total", text);
        Assert.Contains("forkline_event_cache_dropped_total", text);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
