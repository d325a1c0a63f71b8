using System.Globalization;
using System.Runtime.InteropServices;

namespace Forkline.Collector.Decoding;

/// <summary>One line saying what was wrong with a rejected record, the values that made it so, and the fix.</summary>
internal static class BadRecordDescription
{
    private const string RebuildBoth =
        "the BPF object and the collector come from different builds: rebuild both (dotnet pwsh ./build.ps1 bpf build)";

    /// <param name="captureLocation">Where in a capture file the record sits; null for the ring buffer.</param>
    public static string Describe(DecodeError error, ReadOnlySpan<byte> record, int hookCount, string? captureLocation = null)
    {
        if (captureLocation is not null)
            return Line($"{captureLocation} is corrupted: {Describe(error, record, hookCount, RecordOrigin.Capture)}");
        return Describe(error, record, hookCount, RecordOrigin.RingBuffer);
    }

    private enum RecordOrigin { RingBuffer, Capture }

    private static string Describe(DecodeError error, ReadOnlySpan<byte> record, int hookCount, RecordOrigin origin)
    {
        // The capture header names the policy and format it was recorded with, so a record that does not fit
        // them was damaged after it was written; only from the ring can it mean mismatched builds.
        var fix = origin == RecordOrigin.Capture ? "the bytes changed after they were recorded" : RebuildBoth;
        if (record.Length < RecordDecoder.HeaderSize)
            return Line($"{(origin == RecordOrigin.Capture ? "record" : "ring-buffer record")} of {record.Length} bytes is shorter than the {RecordDecoder.HeaderSize}-byte header; skipped");

        var header = MemoryMarshal.Read<FlHeader>(record);
        var what = Line($"{(origin == RecordOrigin.Capture ? "record" : "ring-buffer record")} (kind {header.Kind}, version {header.Version}, size {header.Size}, {record.Length} bytes delivered, pid {header.Pid}, tid {header.Tid})");
        var layoutSize = RecordDecoder.LayoutSize(header.Kind);
        return error switch
        {
            DecodeError.UnsupportedVersion =>
                Line($"{what}: version {header.Version} is not the version {FlConstants.RecordVersion} this collector decodes; skipped — {fix}"),
            DecodeError.UnknownKind =>
                Line($"{what}: kind {header.Kind} is unknown (known: 1..{(int)FlKind.Max - 1}); skipped — {fix}"),
            DecodeError.SizeMismatch =>
                Line($"{what}: the declared size disagrees with the bytes delivered (or exceeds {RecordDecoder.MaxRecordSize}); skipped — {(origin == RecordOrigin.Capture ? fix : "the record is corrupt or was framed wrongly by the reader")}"),
            DecodeError.Truncated when header.Size > (uint)record.Length =>
                Line($"{what}: only {record.Length} of the {header.Size} declared bytes arrived; skipped"),
            DecodeError.Truncated =>
                Line($"{what}: shorter than the {layoutSize} bytes its layout needs; skipped — {fix}"),
            DecodeError.StringLengthOutOfRange => DescribeStringLengths(what, record),
            DecodeError.UnknownHook =>
                Line($"{what}: hook id {MemoryMarshal.Read<FlHookEvent>(record).HookId} is not in the loaded policy of {hookCount} hooks; skipped — {(origin == RecordOrigin.Capture ? fix : "the BPF hook-selection map and the policy are out of step: restart the collector")}"),
            DecodeError.UnknownHookPhase =>
                Line($"{what}: hook phase {MemoryMarshal.Read<FlHookEvent>(record).Phase} is neither enter (0) nor exit (1); skipped — {fix}"),
            _ => Line($"{what}: rejected ({error}); skipped"),
        };
    }

    private static string DescribeStringLengths(string what, ReadOnlySpan<byte> record)
    {
        var exec = MemoryMarshal.Read<FlExecEvent>(record);
        return Line(
            $"{what}: string lengths filename_len {exec.FilenameLen} (max {FlConstants.FilenameMax}), args_len {exec.ArgsLen} (max {FlConstants.ArgsMax}), cwd_len {exec.CwdLen} (max {FlConstants.CwdMax}) overrun their buffers; skipped — the record is corrupt");
    }

    private static string Line(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
