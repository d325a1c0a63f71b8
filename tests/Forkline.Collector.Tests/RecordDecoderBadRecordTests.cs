using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Forkline.Collector.Decoding;
using Forkline.Contracts.Events;
using FsCheck.Xunit;
using Forkline.Testing;

namespace Forkline.Collector.Tests;

public sealed class RecordDecoderBadRecordTests
{
    private const int KindOffset = 0, VersionOffset = 2, SizeOffset = 4;

    private readonly DecodeCounters _counters = new();
    private readonly CapturingLogger _reports = new();
    private readonly RecordDecoder _decoder;

    public RecordDecoderBadRecordTests() =>
        _decoder = new RecordDecoder(SampleEvents.Hooks, _counters, _reports, TimeSpan.FromHours(1));

    private static byte[][] ValidRecords => [.. SampleEvents.OneOfEachKind.Select(SampleEvents.Encode)];

    [Fact]
    public void Every_truncation_of_a_valid_record_is_rejected_as_truncated()
    {
        var truncations = 0;
        foreach (var record in ValidRecords)
        {
            for (var length = 0; length < record.Length; length++)
            {
                Assert.Null(_decoder.Decode(record.AsSpan(0, length)));
                truncations++;
            }
        }

        Assert.Equal(truncations, _counters.Get(DecodeError.Truncated));
        Assert.Equal(truncations, _counters.TotalRejected);
        Assert.Equal(0, _counters.Decoded);
    }

    [Property(MaxTest = 500)]
    public void Random_bytes_never_throw_and_are_counted_exactly_once(byte[] bytes)
    {
        var (decoder, counters) = FreshDecoder();

        var decoded = decoder.Decode(bytes);

        Assert.Equal(1, counters.Decoded + counters.TotalRejected);
        Assert.Equal(decoded is not null, counters.Decoded == 1);
        if (bytes.Length < Unsafe.SizeOf<FlHeader>()) Assert.Equal(1, counters.Get(DecodeError.Truncated));
    }

    [Property(MaxTest = 500)]
    public void Random_contents_behind_a_valid_header_decode_or_are_rejected_for_the_right_reason(byte kindChoice, int seed)
    {
        var kind = (FlKind)(1 + kindChoice % 4);
        var record = new byte[KernelLayoutSize(kind)];
        new Random(seed).NextBytes(record);
        WriteHeader(record, kind);
        var (decoder, counters) = FreshDecoder();

        var decoded = decoder.Decode(record);

        var expected = ExpectedError(kind, record);
        Assert.Equal(expected == DecodeError.None, decoded is not null);
        Assert.Equal(1, expected == DecodeError.None ? counters.Decoded : counters.Get(expected));
    }

    [Property(MaxTest = 1000)]
    public void Flipping_any_bit_of_a_valid_record_never_throws(byte recordChoice, ushort bitChoice)
    {
        var record = ValidRecords[recordChoice % 4];
        var bit = bitChoice % (record.Length * 8);
        record[bit / 8] ^= (byte)(1 << (bit % 8));
        var (decoder, counters) = FreshDecoder();

        var decoded = decoder.Decode(record);

        Assert.Equal(1, counters.Decoded + counters.TotalRejected);
        if (bit / 8 is >= VersionOffset and < SizeOffset) Assert.Equal(1, counters.Get(DecodeError.UnsupportedVersion));
        if (bit / 8 is >= SizeOffset and < SizeOffset + 4) Assert.Null(decoded);
    }

    [Property(MaxTest = 500)]
    public void A_declared_size_other_than_the_bytes_delivered_is_rejected(byte recordChoice, uint declaredSize)
    {
        var record = ValidRecords[recordChoice % 4];
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(SizeOffset), declaredSize);
        var (decoder, counters) = FreshDecoder();

        var decoded = decoder.Decode(record);

        var expected = declaredSize == record.Length ? DecodeError.None
            : declaredSize > record.Length && declaredSize <= RecordDecoder.MaxRecordSize ? DecodeError.Truncated
            : DecodeError.SizeMismatch;
        Assert.Equal(expected == DecodeError.None, decoded is not null);
        Assert.Equal(1, expected == DecodeError.None ? counters.Decoded : counters.Get(expected));
    }

    [Fact]
    public void Huge_declared_sizes_are_a_size_mismatch_not_a_truncation()
    {
        foreach (var record in ValidRecords)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(SizeOffset), uint.MaxValue);
            Assert.Null(_decoder.Decode(record));
        }

        Assert.Equal(4, _counters.Get(DecodeError.SizeMismatch));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(0xffff)]
    public void An_unknown_kind_is_rejected_and_reported_with_its_value(ushort kind)
    {
        var record = ValidRecords[0];
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(KindOffset), kind);

        Assert.Null(_decoder.Decode(record));

        Assert.Equal(1, _counters.Get(DecodeError.UnknownKind));
        Assert.Contains($"kind {kind} is unknown", Assert.Single(_reports));
    }

    [Fact]
    public void A_record_of_another_version_is_rejected_with_the_fix()
    {
        var record = ValidRecords[1];
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(VersionOffset), 2);

        Assert.Null(_decoder.Decode(record));

        Assert.Equal(1, _counters.Get(DecodeError.UnsupportedVersion));
        var report = Assert.Single(_reports);
        Assert.Contains("version 2 is not the version 1", report);
        Assert.Contains("rebuild both", report);
    }

    [Fact]
    public void A_hook_id_outside_the_policy_is_rejected()
    {
        var hook = SampleEvents.Hook with { Hook = new HookDescriptor(SampleEvents.Hooks.Count, "unloaded", HookKind.Syscall, false) };

        Assert.Null(_decoder.Decode(SampleEvents.Encode(hook)));

        Assert.Equal(1, _counters.Get(DecodeError.UnknownHook));
        Assert.Contains($"hook id {SampleEvents.Hooks.Count} is not in the loaded policy of {SampleEvents.Hooks.Count} hooks", Assert.Single(_reports));
    }

    [Fact]
    public void A_hook_phase_other_than_enter_or_exit_is_rejected()
    {
        var record = SampleEvents.Encode(SampleEvents.Hook);
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(HookPhaseOffset), 2);

        Assert.Null(_decoder.Decode(record));

        Assert.Equal(1, _counters.Get(DecodeError.UnknownHookPhase));
    }

    [Theory]
    [InlineData(nameof(FlExecEvent.FilenameLen), FlConstants.FilenameMax + 1)]
    [InlineData(nameof(FlExecEvent.ArgsLen), FlConstants.ArgsMax + 1)]
    [InlineData(nameof(FlExecEvent.CwdLen), ushort.MaxValue)]
    public void An_exec_string_length_beyond_its_buffer_is_rejected(string field, int length)
    {
        var record = SampleEvents.Encode(SampleEvents.Exec);
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(ExecFieldOffset(field)), (ushort)length);

        Assert.Null(_decoder.Decode(record));

        Assert.Equal(1, _counters.Get(DecodeError.StringLengthOutOfRange));
        Assert.Contains("overrun their buffers", Assert.Single(_reports));
    }

    [Fact]
    public void A_record_longer_than_the_known_layout_decodes_its_known_part()
    {
        var longer = new byte[RecordEncoder.ExitRecordSize + 16];
        RecordEncoder.WriteExit(longer, SampleEvents.Exit);
        BinaryPrimitives.WriteUInt32LittleEndian(longer.AsSpan(SizeOffset), (uint)longer.Length);

        EventAssert.Equal(SampleEvents.Exit, _decoder.Decode(longer));
    }

    [Fact]
    public void A_record_shorter_than_its_layout_is_truncated_even_when_its_size_agrees()
    {
        var record = SampleEvents.Encode(SampleEvents.Hook)[..(RecordEncoder.HookRecordSize - 8)];
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(SizeOffset), (uint)record.Length);

        Assert.Null(_decoder.Decode(record));

        Assert.Equal(1, _counters.Get(DecodeError.Truncated));
        Assert.Contains($"shorter than the {RecordEncoder.HookRecordSize} bytes its layout needs", Assert.Single(_reports));
    }

    [Fact]
    public void A_flood_of_bad_records_is_reported_once_per_interval_but_counted_in_full()
    {
        for (var i = 0; i < 100; i++) _decoder.Decode(new byte[3]);

        Assert.Equal(100, _counters.Get(DecodeError.Truncated));
        Assert.Contains("3 bytes is shorter than the 24-byte header", Assert.Single(_reports));
    }

    [Fact]
    public void A_policy_whose_ids_do_not_match_their_positions_is_refused()
    {
        IReadOnlyList<HookDescriptor> shuffled = [SampleEvents.Hooks[1], SampleEvents.Hooks[0]];

        var error = Assert.Throws<ArgumentException>(() => new RecordDecoder(shuffled, new DecodeCounters()));

        Assert.Contains("has id 1 but sits at index 0", error.Message);
    }

    /// <summary>FsCheck runs a property many times in one test instance, so each run needs its own counters.</summary>
    private static (RecordDecoder Decoder, DecodeCounters Counters) FreshDecoder()
    {
        var counters = new DecodeCounters();
        return (new RecordDecoder(SampleEvents.Hooks, counters), counters);
    }

    private static int HookPhaseOffset => (int)Marshal.OffsetOf<FlHookEvent>(nameof(FlHookEvent.Phase));

    private static int ExecFieldOffset(string field) => (int)Marshal.OffsetOf<FlExecEvent>(field);

    private static int KernelLayoutSize(FlKind kind) => kind switch
    {
        FlKind.Clone => RecordEncoder.CloneRecordSize,
        FlKind.Exec => RecordEncoder.ExecRecordSize,
        FlKind.Exit => RecordEncoder.ExitRecordSize,
        _ => RecordEncoder.HookRecordSize,
    };

    private static void WriteHeader(byte[] record, FlKind kind)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(KindOffset), (ushort)kind);
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(VersionOffset), FlConstants.RecordVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(SizeOffset), (uint)record.Length);
    }

    /// <summary>What the decoder must conclude about random field values behind a sound header.</summary>
    private static DecodeError ExpectedError(FlKind kind, byte[] record)
    {
        int U16(string field) => BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(ExecFieldOffset(field)));
        switch (kind)
        {
            case FlKind.Exec:
                return U16(nameof(FlExecEvent.FilenameLen)) > FlConstants.FilenameMax
                       || U16(nameof(FlExecEvent.ArgsLen)) > FlConstants.ArgsMax
                       || U16(nameof(FlExecEvent.CwdLen)) > FlConstants.CwdMax
                    ? DecodeError.StringLengthOutOfRange
                    : DecodeError.None;
            case FlKind.Hook:
                var hookId = BinaryPrimitives.ReadUInt32LittleEndian(
                    record.AsSpan((int)Marshal.OffsetOf<FlHookEvent>(nameof(FlHookEvent.HookId))));
                if (hookId >= SampleEvents.Hooks.Count) return DecodeError.UnknownHook;
                return BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(HookPhaseOffset)) > 1 ? DecodeError.UnknownHookPhase : DecodeError.None;
            default:
                return DecodeError.None;
        }
    }
}
