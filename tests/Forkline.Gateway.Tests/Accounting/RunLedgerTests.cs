using Forkline.Contracts.Accounting;
using Forkline.Contracts.History;
using Forkline.Gateway.Accounting;

namespace Forkline.Gateway.Tests.Accounting;

public sealed class RunLedgerTests
{
    private static readonly DateTime Noon = new(2026, 12, 2, 12, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void A_report_older_than_the_known_one_or_any_after_a_final_one_is_ignored()
    {
        var ledger = new RunLedger();
        Assert.True(ledger.Record(Report("run-1", seq: 2, final: false, produced: 20), Noon));
        Assert.False(ledger.Record(Report("run-1", seq: 1, final: false, produced: 10), Noon));
        Assert.True(ledger.Record(Report("run-1", seq: 3, final: true, produced: 30), Noon));
        Assert.False(ledger.Record(Report("run-1", seq: 4, final: false, produced: 40), Noon));

        Assert.True(ledger.TryGetReport("run-1", out var kept));
        Assert.Equal(30, kept!.Source.Produced);
    }

    [Fact]
    public void The_least_recently_active_run_makes_room_for_a_new_one()
    {
        var ledger = new RunLedger(capacity: 2);
        ledger.Count("old", Stored(5), Noon);
        ledger.Count("busy", Stored(5), Noon.AddMinutes(1));
        ledger.Count("old", Stored(1), Noon.AddMinutes(2));
        ledger.Count("new", Stored(1), Noon.AddMinutes(3));

        Assert.Equal(["new", "old"], ledger.ToWire().Select(run => run.RunId));
        Assert.Equal(Stored(6), ledger.GatewayCountsOf("old"));
    }

    [Fact]
    public void The_wire_form_restores_every_count_and_report()
    {
        var ledger = new RunLedger();
        ledger.Count("run-1", new GatewayCounts(Stored: 7, AlreadyStored: 4, Rejected: 2, ResentReceipts: 3), Noon);
        ledger.Record(Report("run-1", seq: 5, final: true, produced: 12), Noon);

        var restored = new RunLedger();
        restored.Restore(ledger.ToWire());

        Assert.Equal(ledger.ToWire(), restored.ToWire());
        Assert.Equal(new GatewayCounts(7, 4, 2, 3), restored.GatewayCountsOf("run-1"));
    }

    [Fact]
    public void Balance_counts_every_end_an_event_can_reach_and_what_is_acknowledged_but_not_stored()
    {
        var report = new RunReport("h", "run", "bpf", Noon, Noon, 1, Final: true,
            new SourceCounts(Produced: 100, Bootstrapped: 10, Lost: 5, Discarded: 1, Malformed: 2, Delivered: 102),
            new PipelineCounts(Received: 102, Discarded: 3, Withheld: 4, GaveUpWaiting: 9, Waiting: 0, Published: 95, SinkFailures: 1),
            new ForwardCounts(Received: 94, DroppedFull: 6, DroppedShutdown: 2, Buffered: 0, AcknowledgedLifecycle: 50, AcknowledgedHooks: 36));

        var balanced = RunBalance.Of(report, new GatewayCounts(Stored: 46, AlreadyStored: 3, Rejected: 1, ResentReceipts: 8));
        Assert.Equal((110, 110, 0, 0), (balanced.Produced, balanced.Ended, balanced.InFlight, balanced.AcknowledgedNotStored));
        Assert.True(balanced.Balanced);

        var missingFromJournal = RunBalance.Of(report, new GatewayCounts(Stored: 42, AlreadyStored: 3, Rejected: 1, ResentReceipts: 0));
        Assert.Equal(4, missingFromJournal.AcknowledgedNotStored);
        Assert.False(missingFromJournal.Balanced);

        var running = RunBalance.Of(report with { Final = false, Forward = report.Forward with { AcknowledgedHooks = 30, Buffered = 6 } },
            new GatewayCounts(Stored: 48, AlreadyStored: 1, Rejected: 1, ResentReceipts: 0));
        Assert.Equal(6, running.InFlight);
        Assert.False(running.Balanced);

        // Two exits the actors concluded (processes found gone, exit records lost) went on and were acknowledged.
        var withConcluded = RunBalance.Of(report with
            {
                Pipeline = report.Pipeline with { Concluded = 2, Published = 97 },
                Forward = report.Forward with { Received = 96, AcknowledgedLifecycle = 52 },
            },
            new GatewayCounts(Stored: 48, AlreadyStored: 3, Rejected: 1, ResentReceipts: 0));
        Assert.Equal((112, 112, 0), (withConcluded.Produced, withConcluded.Ended, withConcluded.InFlight));
        Assert.True(withConcluded.Balanced);
    }

    [Fact]
    public void Events_the_forwarder_dropped_become_a_gap_from_the_first_to_the_last_dropped_and_are_counted_in_one_gap_only()
    {
        var ledger = new RunLedger();
        var quiet = Report("run-1", seq: 1, final: false, produced: 40);
        Assert.Empty(ledger.LossGaps("h", quiet));
        ledger.Record(quiet, Noon);

        var outage = quiet with
        {
            Seq = 2,
            Forward = new ForwardCounts(Received: 40, DroppedFull: 30, DroppedShutdown: 0, Buffered: 0, AcknowledgedLifecycle: 10, AcknowledgedHooks: 0,
                FirstDropped: Noon.AddMinutes(1), LastDropped: Noon.AddMinutes(3)),
        };
        var gap = Assert.Single(ledger.LossGaps("h", outage));
        Assert.Equal(new HostGap("h", Noon.AddMinutes(1), Noon.AddMinutes(3), HostGapReason.ForwarderDropped, "run-1", "", 30), gap);
        ledger.NoteGap(gap);
        ledger.Record(outage, Noon);
        Assert.Empty(ledger.LossGaps("h", outage with { Seq = 3 }));

        // Restored from its wire form (a snapshot), the ledger still knows what its gaps hold: a second outage starts after the first.
        var restored = new RunLedger();
        restored.Restore(ledger.ToWire());
        var second = outage with { Seq = 4, Forward = outage.Forward with { Received = 45, DroppedShutdown = 5, LastDropped = Noon.AddMinutes(9) } };
        Assert.Equal(new HostGap("h", Noon.AddMinutes(3), Noon.AddMinutes(9), HostGapReason.ForwarderDropped, "run-1", "", 5),
            Assert.Single(restored.LossGaps("h", second)));
    }

    private static GatewayCounts Stored(long events) => new(events, 0, 0, 0);

    private static RunReport Report(string runId, ulong seq, bool final, long produced) =>
        new("h", runId, "bpf", Noon, Noon, seq, final,
            new SourceCounts(produced, 0, 0, 0, 0, produced), default, default);
}
