using Forkline.Contracts.Events;
using Forkline.Contracts.History;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using static Forkline.Export.Tests.ExportAssert;
using static Forkline.Export.Tests.SampleEvents;

namespace Forkline.Export.Tests.Tetragon;

/// <summary>Every kind of line the JSON export writes by default reads under Tetragon's definitions, strictly.</summary>
public sealed class StrictTetragonReadingTests
{
    private const string ContainerId = "3f9a2b1c0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";

    private static readonly HookDescriptor SyscallTracepointHook = new(Id: 4, Name: "sched/sched_process_fork", Kind: HookKind.Tracepoint, ChangesCredentials: false);

    public static TheoryData<string> EventKinds() =>
    [
        "exec", "exec of a containerized set-user-ID memfd", "exec without parent (incomplete)", "exit", "exit by signal",
        "syscall enter", "syscall exit", "syscall of a thread", "kprobe", "kprobe return", "tracepoint",
        "exit of a process never known", "syscall of a process never known", "exec of a process whose user the collector named",
    ];

    [Theory]
    [MemberData(nameof(EventKinds))]
    public void Line_reads_with_a_strict_tetragon_reader(string kind)
    {
        var line = Line(new TetragonJsonFormatter(), Event(kind));

        Assert.Empty(StrictProtojson.Problems(line));
    }

    [Fact]
    public void The_notice_of_events_dropped_for_a_slow_stream_reads_as_rate_limit_info()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();

        new TetragonJsonFormatter().FormatDropped(12_345, "gateway-1", EventTime, buffer);

        var line = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        Assert.Empty(StrictProtojson.Problems(line));
        Assert.Equal("{\"rate_limit_info\":{\"number_of_dropped_process_events\":\"12345\"},\"node_name\":\"gateway-1\",\"time\":\"2024-05-01T12:00:01.250Z\"}\n", line);
    }

    [Fact]
    public void Every_field_selection_still_reads()
    {
        foreach (var field in new[] { "process", "parent.binary", "ancestors", "docker", "pod", "binary_properties", "in_init_tree", "user" })
        {
            var include = new TetragonJsonFormatter(FieldMask.From(FieldSelection.Include(field)));
            var exclude = new TetragonJsonFormatter(FieldMask.From(FieldSelection.Exclude(field)));
            Assert.Empty(StrictProtojson.Problems(Line(include, Event("exec of a containerized set-user-ID memfd"))));
            Assert.Empty(StrictProtojson.Problems(Line(exclude, Event("exec of a containerized set-user-ID memfd"))));
        }
    }

    [Fact]
    public void Process_clone_is_an_extension_a_strict_tetragon_reader_rejects()
    {
        var line = Line(new TetragonJsonFormatter(), Clone());

        Assert.Contains(StrictProtojson.Problems(line), problem => problem.Contains("unknown field \"process_clone\"", StringComparison.Ordinal));
    }

    [Fact]
    public void A_history_gap_is_a_line_of_its_own_that_a_strict_tetragon_reader_rejects()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var gap = new HostGap(Node, EventTime, EventTime.AddMinutes(2), HostGapReason.CollectorCrashed, "run-1", "run-2", 0);

        new TetragonJsonFormatter().FormatGap(gap, buffer);

        var line = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        Assert.Equal(
            $"{{\"forkline_gap\":{{\"from\":\"2024-05-01T12:00:01.250Z\",\"to\":\"2024-05-01T12:02:01.250Z\",\"reason\":\"collector_crashed\",\"run_id\":\"run-1\",\"next_run_id\":\"run-2\"}},\"node_name\":\"{Node}\",\"time\":\"2024-05-01T12:02:01.250Z\"}}\n",
            line);
        Assert.Contains(StrictProtojson.Problems(line), problem => problem.Contains("unknown field \"forkline_gap\"", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"process_tracepoint":{"return":{"long_arg":"1"}}}""", "unknown field \"return\" in ProcessTracepoint")]
    [InlineData("""{"process_exec":{},"incomplete":true}""", "unknown field \"incomplete\"")]
    [InlineData("""{"process_kprobe":{"action":"POST"}}""", "one of KprobeAction's names")]
    [InlineData("""{"process_exec":{},"process_exit":{}}""", "oneof event")]
    [InlineData("""{"process_exit":{"status":-1}}""", "32-bit unsigned")]
    [InlineData("""{"process_exec":{"process":{"cap":{"permitted":["CAP_DAC_OVERRIDE"]}}}}""", "CapabilitiesType")]
    [InlineData("""{"time":"2024-05-01 12:00:00"}""", "RFC 3339")]
    [InlineData("""{"node_name":"a","node_name":"b"}""", "twice")]
    [InlineData("""{"process_kprobe":{"args":[{"size_arg":"1","long_arg":"2"}]}}""", "oneof arg")]
    public void The_reader_rejects_what_protojson_rejects(string line, string expected)
    {
        Assert.Contains(StrictProtojson.Problems(line), problem => problem.Contains(expected, StringComparison.Ordinal));
    }

    private static EnrichedEvent Event(string kind) => kind switch
    {
        "exec" => Exec(),
        "exec of a containerized set-user-ID memfd" => Exec(Sleep with
        {
            Credentials = new Credentials(1000, 1000, 0, 1000, 0, 1000, 0, 1000),
            Container = new ContainerIdentity(ContainerId, "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"),
            Details = new ExecDetails(1 << 4, new UserNamespaceOwner(1, 0, 0), 1, new ExecutedFile(0x8000 | 0x800 | 0x1ed, 0, 0, Inode: 1_048_583, Links: 0)),
            InInitTree = true,
        }),
        "exec without parent (incomplete)" => new EnrichedExec(Node, EventTime, 3_000, Sleep with { Flags = Sleep.Flags | ProcessFlags.Incomplete }, null, null),
        "exit" => Exit(status: 3),
        "exit by signal" => Exit(signal: 9),
        "syscall enter" => Hook(SetuidHook),
        "syscall exit" => Hook(SetuidHook, phase: HookPhase.Exit, returned: -1),
        "syscall of a thread" => Hook(SetuidHook, tid: 301, credentials: User),
        "kprobe" => Hook(CommitCredsHook),
        "kprobe return" => Hook(CommitCredsHook, phase: HookPhase.Exit, returned: -13),
        "tracepoint" => Hook(SyscallTracepointHook),
        "exit of a process never known" => ExitOfUnknown(),
        "syscall of a process never known" => HookOfUnknown(SetuidHook),
        "exec of a process whose user the collector named" => Exec(Sleep with { UserName = "alice" }),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no sample event of this kind"),
    };
}
