using Forkline.Collector.Decoding;
using Forkline.Collector.Sources;
using Forkline.Contracts.Events;
using Forkline.Testing;

namespace Forkline.Collector.Tests;

public sealed class CaptureReplayTests : IDisposable
{
    private static readonly CaptureHeader Header = new("node-a:with-colon", -123_456_789, SampleEvents.Hooks);

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("forkline-capture-");
    private readonly CapturingLogger _reports = new();

    private string CapturePath => Path.Combine(_directory.FullName, "events.fkl");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public async Task A_recorded_capture_replays_the_same_events_with_the_recorded_header()
    {
        var recorded = RecordCapture(SampleEvents.OneOfEachKind);

        var (source, replayed) = await Replay();

        Assert.Equal(recorded.Count, replayed.Count);
        for (var i = 0; i < recorded.Count; i++) EventAssert.Equal(recorded[i], replayed[i]);
        Assert.Equal(Header.NodeName, source.Header!.NodeName);
        Assert.Equal(Header.WallMinusBootNs, source.Header.WallMinusBootNs);
        Assert.Equal(Header.Hooks, source.Header.Hooks);
        Assert.Equal(recorded.Count, source.Counters.Decoded);
        Assert.Empty(_reports);
    }

    [Fact]
    public async Task A_bad_record_in_a_capture_is_counted_and_the_replay_goes_on()
    {
        using (var writer = CaptureWriter.Create(CapturePath, Header))
        {
            writer.Write(SampleEvents.Encode(SampleEvents.Clone));
            writer.Write([1, 2, 3]);
            writer.Write(SampleEvents.Encode(SampleEvents.Exit));
        }

        var (source, replayed) = await Replay();

        Assert.Equal([typeof(CloneEvent), typeof(ExitEvent)], replayed.Select(e => e.GetType()));
        Assert.Equal(1, source.Counters.Get(DecodeError.Truncated));
        Assert.Contains("shorter than the 24-byte header", Assert.Single(_reports));
    }

    [Fact]
    public async Task A_record_damaged_in_the_file_is_reported_as_corruption_at_its_offset_not_as_a_build_mismatch()
    {
        var clone = SampleEvents.Encode(SampleEvents.Clone);
        var damaged = SampleEvents.Encode(SampleEvents.Exit);
        damaged[0] = 0x7f; // FlHeader.Kind: no kind has this number
        using (var writer = CaptureWriter.Create(CapturePath, Header))
        {
            writer.Write(clone);
            writer.Write(damaged);
        }
        var damagedOffset = new FileInfo(CapturePath).Length - sizeof(uint) - damaged.Length;

        var (source, replayed) = await Replay();

        Assert.Equal([typeof(CloneEvent)], replayed.Select(e => e.GetType()));
        Assert.Equal(1, source.Counters.Get(DecodeError.UnknownKind));
        var report = Assert.Single(_reports);
        Assert.StartsWith($"{CapturePath}: record 2 at offset {damagedOffset} is corrupted: record (kind 127,", report);
        Assert.DoesNotContain("different builds", report);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(100)]
    public async Task A_capture_cut_inside_its_last_record_replays_everything_before_and_reports_the_cut(int bytesOfLastRecordKept)
    {
        RecordCapture(SampleEvents.OneOfEachKind);
        var lastRecordLength = sizeof(uint) + SampleEvents.Encode(SampleEvents.Hook).Length;
        using (var file = new FileStream(CapturePath, FileMode.Open))
            file.SetLength(file.Length - lastRecordLength + bytesOfLastRecordKept);

        var (source, replayed) = await Replay();

        Assert.Equal(3, replayed.Count);
        Assert.Equal(1, source.Counters.Get(DecodeError.Truncated));
        var report = Assert.Single(_reports);
        Assert.Contains($"{CapturePath} ends inside", report);
        Assert.Contains("replay stopped after 3 records", report);
    }

    [Fact]
    public async Task A_file_that_is_not_a_capture_fails_the_replay_with_what_it_starts_with()
    {
        await File.WriteAllTextAsync(CapturePath, "hello, this is text");

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => Replay());

        Assert.Contains("is not a Forkline capture: it starts with \"hello, t\"", error.Message);
    }

    [Fact]
    public async Task A_capture_cut_inside_its_header_fails_the_replay_saying_so()
    {
        RecordCapture([]);
        using (var file = new FileStream(CapturePath, FileMode.Open)) file.SetLength(20);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => Replay());

        Assert.Contains("ends inside its capture header", error.Message);
    }

    [Fact]
    public async Task A_paced_replay_stops_quietly_when_cancelled_during_a_gap()
    {
        var early = SampleEvents.Exit with { Ktime = 1_000 };
        var anHourLater = SampleEvents.Exit with { Ktime = 1_000 + 3_600_000_000_000 };
        RecordCapture([early, anHourLater]);
        var sink = new CollectingSink();
        using var cancellation = new CancellationTokenSource();
        sink.Received += _ => cancellation.Cancel();

        await new ReplayFileSource(CapturePath, ReplayPacing.ByKtime).RunAsync(sink, cancellation.Token);

        Assert.Single(sink.Events);
    }

    [Fact]
    public async Task A_paced_replay_does_not_wait_for_procfs_execs_stamped_with_old_start_times()
    {
        var procfsExec = SampleEvents.Exec with { Ktime = 1, Flags = ExecFlags.Procfs };
        var now = SampleEvents.Exit with { Ktime = 9_000_000_000_000 };
        var soonAfter = SampleEvents.Exit with { Ktime = 9_000_000_000_000 + 1_000 };
        RecordCapture([now, procfsExec, soonAfter]);

        var (_, replayed) = await Replay(ReplayPacing.ByKtime);

        Assert.Equal(3, replayed.Count);
    }

    private List<KernelEvent> RecordCapture(IEnumerable<KernelEvent> events)
    {
        var recorded = new List<KernelEvent>();
        using var writer = CaptureWriter.Create(CapturePath, Header);
        foreach (var kernelEvent in events)
        {
            writer.Write(SampleEvents.Encode(kernelEvent));
            recorded.Add(kernelEvent);
        }
        Assert.Equal(recorded.Count, writer.RecordsWritten);
        return recorded;
    }

    private async Task<(ReplayFileSource Source, List<KernelEvent> Events)> Replay(ReplayPacing pacing = ReplayPacing.AsFastAsPossible)
    {
        var source = new ReplayFileSource(CapturePath, pacing, logger: _reports);
        var sink = new CollectingSink();
        await source.RunAsync(sink, CancellationToken.None);
        return (source, sink.Events);
    }
}

internal sealed class CollectingSink : IKernelEventSink
{
    public List<KernelEvent> Events { get; } = [];

    public event Action<KernelEvent>? Received;

    public void OnEvent(KernelEvent kernelEvent)
    {
        Events.Add(kernelEvent);
        Received?.Invoke(kernelEvent);
    }
}
