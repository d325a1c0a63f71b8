using System.Collections.Concurrent;
using Akka.Actor;
using Forkline.Contracts.Accounting;
using Forkline.Contracts.Wire;
using Forkline.Forwarding;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;

namespace Forkline.Gateway.Tests;

/// <summary>
/// A run's loss accounting goes to its host's entity when it changed, and while it does not (an idle
/// host) only every <see cref="ForwarderSettings.UnchangedReportInterval"/>: each report costs the gateways.
/// </summary>
public sealed class ForwarderReportTests : IAsyncLifetime
{
    private const string Host = "node-a";
    private static readonly DateTime Started = new(2026, 12, 3, 12, 0, 0, DateTimeKind.Utc);
    private readonly ConcurrentQueue<CollectorRunReport> _reports = new();
    private readonly PrometheusExport _metrics = new(Prometheus.Metrics.NewCustomRegistry());
    private ActorSystem _system = null!;
    private long _produced = 10;

    public Task InitializeAsync()
    {
        _system = ActorSystem.Create("forwarder-report-tests");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _system.Terminate();
        _metrics.Dispose();
    }

    [Fact]
    public async Task Unchanged_counts_are_not_sent_at_every_look_and_changed_counts_go_at_the_next_one()
    {
        StartReporting(new ForwarderSettings { ReportInterval = TimeSpan.FromMilliseconds(50), UnchangedReportInterval = TimeSpan.FromHours(1) });
        await TestNodes.EventuallyAsync(() => Task.FromResult(_reports.Count == 1), "the first report goes at once");

        // Twenty looks or more at unchanged counts: none of them is sent.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Single(_reports);

        Interlocked.Exchange(ref _produced, 11);

        await TestNodes.EventuallyAsync(() => Task.FromResult(_reports.Count >= 2), "the changed counts are reported");
        var changed = _reports.ElementAt(1);
        Assert.Equal((2UL, 11UL), (changed.ReportSeq, changed.Counts.KernelProduced));
        Assert.False(changed.Final);
    }

    [Fact]
    public async Task Unchanged_counts_still_go_every_unchanged_interval()
    {
        StartReporting(new ForwarderSettings { ReportInterval = TimeSpan.FromMilliseconds(50), UnchangedReportInterval = TimeSpan.FromMilliseconds(200) });

        await TestNodes.EventuallyAsync(() => Task.FromResult(_reports.Count >= 3), "an idle run reports again and again");

        Assert.All(_reports, report => Assert.Equal(10UL, report.Counts.KernelProduced));
        Assert.Equal([1UL, 2UL, 3UL], _reports.Take(3).Select(report => report.ReportSeq));
    }

    [Fact]
    public void An_unchanged_interval_shorter_than_the_look_interval_is_refused()
    {
        var settings = new ForwarderSettings { ReportInterval = TimeSpan.FromSeconds(5), UnchangedReportInterval = TimeSpan.FromSeconds(1) };

        var error = Assert.Throws<SettingOutOfRangeException>(settings.Validate);

        Assert.Equal(nameof(ForwarderSettings.UnchangedReportInterval), error.Setting);
    }

    private void StartReporting(ForwarderSettings settings)
    {
        var recorder = _system.ActorOf(Props.Create(() => new ReportRecorder(_reports)));
        var forwarder = GatewayForwarder.Start(_system, new ForwarderDelivery.ToHostTrees(recorder), settings,
            new ForwarderMetrics(_metrics.Meters));
        forwarder.ReportRun(Host, () =>
        {
            var produced = Interlocked.Read(ref _produced);
            return new UpstreamCounts(Host, "test", Started, new SourceCounts(produced, 0, 0, 0, 0, produced),
                new PipelineCounts(produced, 0, 0, 0, 0, produced, 0));
        });
    }

    /// <summary>Stands for the host's entity: keeps the run reports it is sent.</summary>
    private sealed class ReportRecorder : ReceiveActor
    {
        public ReportRecorder(ConcurrentQueue<CollectorRunReport> reports) => Receive<CollectorRunReport>(reports.Enqueue);
    }
}
