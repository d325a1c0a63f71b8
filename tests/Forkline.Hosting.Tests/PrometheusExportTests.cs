using System.Diagnostics.Metrics;
using System.Text;
using Forkline.Hosting;
using Prometheus;

namespace Forkline.Hosting.Tests;

/// <summary>
/// What a node's libraries measure on their meters is what /metrics shows: the instrument's name, its description
/// as help, its tags as labels, counters as counters and gauges as gauges; and only the node's own meters.
/// </summary>
public sealed class PrometheusExportTests : IDisposable
{
    private static readonly KeyValuePair<string, object?> Exec = new("kind", "exec");
    private static readonly KeyValuePair<string, object?> Exit = new("kind", "exit");
    private static readonly KeyValuePair<string, object?> Full = new("reason", "buffer_full");

    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();
    private readonly PrometheusExport _export;

    public PrometheusExportTests() => _export = new PrometheusExport(_registry);

    public void Dispose() => _export.Dispose();

    [Fact]
    public async Task A_counter_shows_under_its_name_with_its_description_as_help_and_its_tags_as_labels_in_their_order()
    {
        var dropped = _export.Meters.Create("Forkline.Test").CreateCounter<long>("forkline_test_dropped_total", description: "Events dropped, by kind and reason.");

        dropped.Add(2, Exec, Full);
        dropped.Add(1, Exec, Full);
        dropped.Add(5, Exit, Full);

        var page = await ScrapeAsync();
        Assert.Contains("# HELP forkline_test_dropped_total Events dropped, by kind and reason.\n", page);
        Assert.Contains("# TYPE forkline_test_dropped_total counter\n", page);
        Assert.Contains("forkline_test_dropped_total{kind=\"exec\",reason=\"buffer_full\"} 3\n", page);
        Assert.Contains("forkline_test_dropped_total{kind=\"exit\",reason=\"buffer_full\"} 5\n", page);
        Assert.Equal(3, _export.Value("forkline_test_dropped_total", "exec", "buffer_full"));
        Assert.Equal(0, _export.Value("forkline_test_dropped_total", "hook", "buffer_full"));
    }

    [Fact]
    public async Task Gauges_and_up_down_counters_show_as_gauges_holding_the_last_value_and_the_running_sum()
    {
        var meter = _export.Meters.Create("Forkline.Test");
        var buffered = meter.CreateGauge<long>("forkline_test_buffered_events", description: "Events held.");
        var streams = meter.CreateUpDownCounter<long>("forkline_test_streams", description: "Streams open.");

        buffered.Record(7);
        buffered.Record(4);
        streams.Add(1);
        streams.Add(1);
        streams.Add(-1);

        var page = await ScrapeAsync();
        Assert.Contains("# TYPE forkline_test_buffered_events gauge\nforkline_test_buffered_events 4\n", page);
        Assert.Contains("# TYPE forkline_test_streams gauge\nforkline_test_streams 1\n", page);
    }

    [Fact]
    public async Task An_observable_counter_shows_the_observed_total_and_an_observable_gauge_only_the_series_last_reported()
    {
        var meter = _export.Meters.Create("Forkline.Test");
        long produced = 10;
        meter.CreateObservableCounter("forkline_test_produced_total", () => produced, description: "Records produced.");
        var hosts = new List<string> { "node-a", "node-b" };
        meter.CreateObservableGauge("forkline_test_host_events",
            () => hosts.Select(host => new Measurement<long>(host.Length, new KeyValuePair<string, object?>("host", host))).ToList(),
            description: "Events of each host.");

        var first = await ScrapeAsync();
        produced = 25;
        hosts.Remove("node-a");
        var second = await ScrapeAsync();

        Assert.Contains("# TYPE forkline_test_produced_total counter\nforkline_test_produced_total 10\n", first);
        Assert.Contains("forkline_test_host_events{host=\"node-a\"} 6\n", first);
        Assert.Contains("forkline_test_produced_total 25\n", second);
        Assert.Contains("forkline_test_host_events{host=\"node-b\"} 6\n", second);
        Assert.DoesNotContain("node-a", second);
    }

    [Fact]
    public async Task Another_nodes_meters_are_not_this_nodes()
    {
        using var other = new PrometheusExport(Prometheus.Metrics.NewCustomRegistry());
        var mine = _export.Meters.Create("Forkline.Test").CreateCounter<long>("forkline_test_events_total", description: "Events.");
        var theirs = other.Meters.Create("Forkline.Test").CreateCounter<long>("forkline_test_events_total", description: "Events.");
        using var outsider = new Meter("Forkline.Test");
        var nobodys = outsider.CreateCounter<long>("forkline_test_events_total", description: "Events.");

        mine.Add(1);
        theirs.Add(40);
        nobodys.Add(500);

        Assert.Equal(1, _export.Value("forkline_test_events_total"));
        Assert.Equal(40, other.Value("forkline_test_events_total"));
        Assert.Contains("forkline_test_events_total 1\n", await ScrapeAsync());
    }

    [Fact]
    public void A_tag_whose_value_is_not_a_string_is_refused_at_its_first_measurement()
    {
        var counter = _export.Meters.Create("Forkline.Test").CreateCounter<long>("forkline_test_numbers_total", description: "Numbers.");

        var error = Assert.Throws<ArgumentException>(() => counter.Add(1, new KeyValuePair<string, object?>("cpu", 3)));

        Assert.Contains("forkline_test_numbers_total", error.Message);
        Assert.Contains("cpu", error.Message);
    }

    [Fact]
    public void Counting_on_a_series_that_exists_allocates_nothing()
    {
        var meter = _export.Meters.Create("Forkline.Test");
        var events = meter.CreateCounter<long>("forkline_test_counted_total", description: "Counted.");
        var held = meter.CreateGauge<long>("forkline_test_held_events", description: "Held.");
        events.Add(1, Exec, Full);
        events.Add(1, Exit, Full);
        held.Record(1);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100_000; i++)
        {
            events.Add(1, (i & 1) == 0 ? Exec : Exit, Full);
            held.Record(i);
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(50_001, _export.Value("forkline_test_counted_total", "exec", "buffer_full"));
    }

    private async Task<string> ScrapeAsync()
    {
        using var page = new MemoryStream();
        await _registry.CollectAndExportAsTextAsync(page);
        return Encoding.UTF8.GetString(page.ToArray());
    }
}
