using Forkline.Collector.Decoding;
using Forkline.Contracts.Events;
using Forkline.Testing;

namespace Forkline.Collector.Tests;

/// <summary>The hot path's promise: a hook, exit or clone record costs exactly its event object.</summary>
public sealed class RecordDecoderAllocationTests
{
    private const int Records = 1_000;

    public static TheoryData<string> FixedSizeKinds => ["clone", "exit", "hook"];

    [Theory]
    [MemberData(nameof(FixedSizeKinds))]
    public void Decoding_a_fixed_size_record_allocates_only_the_event(string kind)
    {
        KernelEvent sample = kind switch
        {
            "clone" => SampleEvents.Clone,
            "exit" => SampleEvents.Exit,
            _ => SampleEvents.Hook,
        };
        var record = SampleEvents.Encode(sample);
        var decoder = new RecordDecoder(SampleEvents.Hooks, new DecodeCounters());
        for (var i = 0; i < 100; i++) decoder.Decode(record);

        var oneEvent = AllocatedBy(() => _ = sample with { });
        var decoding = AllocatedBy(() => decoder.Decode(record));

        Assert.Equal(oneEvent, decoding);
    }

    [Fact]
    public void Rejecting_a_flood_of_bad_records_allocates_nothing_between_reports()
    {
        var reports = new CapturingLogger();
        var decoder = new RecordDecoder(SampleEvents.Hooks, new DecodeCounters(), reports, TimeSpan.FromHours(1));
        var garbage = new byte[] { 9, 0, 1, 0, 40, 0, 0, 0 };
        decoder.Decode(garbage);

        Assert.Equal(0, AllocatedBy(() => decoder.Decode(garbage)));
        Assert.Single(reports);
    }

    /// <summary>Bytes allocated per call, measured over many calls so that one-off runtime costs do not count.</summary>
    private static long AllocatedBy(Action action)
    {
        action();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Records; i++) action();
        return (GC.GetAllocatedBytesForCurrentThread() - before) / Records;
    }
}
