using System.Buffers.Binary;
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
        var damagedOffset = new FileInfo(CapturePath).Length - CaptureHeader.RecordPrefixBytes - damaged.Length;

        var (source, replayed) = await Replay();

        Assert.Equal([typeof(CloneEvent)], replayed.Select(e => e.GetType()));
        Assert.Equal(1, source.Counters.Get(DecodeError.UnknownKind));
        var report = Assert.Single(_reports);
        Assert.StartsWith($"{CapturePath}: record 2 at offset {damagedOffset} is corrupted: record (kind 127,", report);
        Assert.DoesNotContain("different builds", report);
    }

    [Fact]
    public void Each_record_carries_the_crc32c_of_its_length_and_bytes()
    {
        var exit = SampleEvents.Encode(SampleEvents.Exit);
        RecordCapture([SampleEvents.Exit]);

        var file = File.ReadAllBytes(CapturePath);
        var prefix = file.AsSpan(file.Length - exit.Length - CaptureHeader.RecordPrefixBytes, CaptureHeader.RecordPrefixBytes);
        Assert.Equal((uint)exit.Length, BinaryPrimitives.ReadUInt32LittleEndian(prefix));
        Assert.Equal(BitwiseCrc32C([.. prefix[..sizeof(uint)], .. exit]), BinaryPrimitives.ReadUInt32LittleEndian(prefix[sizeof(uint)..]));
        Assert.Equal(0xE3069283u, BitwiseCrc32C("123456789"u8.ToArray())); // the reference's own check value
    }

    [Theory]
    [InlineData(0)] // the length: still a length a record can have, so only the checksum tells
    [InlineData(CaptureHeader.RecordPrefixBytes + 10)]
    [InlineData(-1)] // the record's last byte
    public async Task A_byte_changed_in_the_file_after_recording_stops_the_replay_at_that_record_and_says_where(int offsetInSecondRecord)
    {
        RecordCapture(SampleEvents.OneOfEachKind);
        var secondOffset = FirstRecordOffset() + CaptureHeader.RecordPrefixBytes + SampleEvents.Encode(SampleEvents.Clone).Length;
        var secondLength = CaptureHeader.RecordPrefixBytes + SampleEvents.Encode(SampleEvents.Exec).Length;
        var bytes = File.ReadAllBytes(CapturePath);
        bytes[secondOffset + (offsetInSecondRecord < 0 ? secondLength + offsetInSecondRecord : offsetInSecondRecord)] ^= 0x04;
        File.WriteAllBytes(CapturePath, bytes);

        var (source, replayed) = await Replay();

        Assert.Equal([typeof(CloneEvent)], replayed.Select(e => e.GetType()));
        Assert.Equal(1, source.Counters.Get(DecodeError.ChecksumMismatch));
        Assert.Equal(1, source.Counters.TotalRejected);
        var report = Assert.Single(_reports);
        Assert.Contains($"{CapturePath}: record 2 at offset {secondOffset}", report);
        Assert.Contains("does not match its checksum", report);
        Assert.Contains("replay stopped after 1 records", report);
    }

    [Fact]
    public async Task A_capture_of_format_1_without_checksums_still_replays()
    {
        RecordCapture([]);
        var header = File.ReadAllBytes(CapturePath);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan("FKLCAP01".Length), CaptureHeader.UncheckedFormatVersion);
        using (var file = new FileStream(CapturePath, FileMode.Create))
        {
            file.Write(header);
            Span<byte> length = stackalloc byte[sizeof(uint)];
            foreach (var kernelEvent in SampleEvents.OneOfEachKind)
            {
                var record = SampleEvents.Encode(kernelEvent);
                BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)record.Length);
                file.Write(length);
                file.Write(record);
            }
        }

        var (source, replayed) = await Replay();

        Assert.Equal(SampleEvents.OneOfEachKind.Select(e => e.GetType()), replayed.Select(e => e.GetType()));
        Assert.Equal(CaptureHeader.UncheckedFormatVersion, source.Header!.Format);
        Assert.Equal(0, source.Counters.TotalRejected);
        Assert.Empty(_reports);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(100)]
    public async Task A_capture_cut_inside_its_last_record_replays_everything_before_and_reports_the_cut(int bytesOfLastRecordKept)
    {
        RecordCapture(SampleEvents.OneOfEachKind);
        var lastRecordLength = CaptureHeader.RecordPrefixBytes + SampleEvents.Encode(SampleEvents.Hook).Length;
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

    /// <summary>Where the records start: right after the header, whose length depends on the node name and hooks.</summary>
    private static long FirstRecordOffset()
    {
        using var header = new MemoryStream();
        using (new CaptureWriter(header, Header, leaveOpen: true)) { }
        return header.Length;
    }

    /// <summary>CRC-32C one bit at a time (reflected polynomial 0x82F63B78): a reference independent of the collector's.</summary>
    private static uint BitwiseCrc32C(byte[] data)
    {
        var crc = uint.MaxValue;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
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
