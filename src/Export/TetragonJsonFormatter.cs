using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Forkline.Contracts.Events;
using Forkline.Contracts.History;
using Forkline.Contracts.Snapshots;

namespace Forkline.Export;

/// <summary>
/// JSON lines in the shape of Tetragon's export (GetEventsResponse through protojson), so tools that
/// read Tetragon's export read Forkline's:
/// <c>{"process_exec":{"process":{..},"parent":{..},"ancestors":[..]},"node_name":"..","time":".."}</c>,
/// <c>process_exit</c> (status, signal name, exit time), <c>process_kprobe</c> for kprobe hooks and
/// <c>process_tracepoint</c> for syscall and tracepoint hooks, both with Tetragon's
/// <c>"action":"KPROBE_ACTION_POST"</c> (the event was posted, nothing enforced). Every field is one of
/// Tetragon's (api/v1/tetragon), so a strict protojson reader that rejects unknown fields reads every
/// line; a process or parent that was not known carries Tetragon's "miss" flag. The one extension is
/// <c>process_clone</c>, a fork that has not exec'd, written only when the caller asks for clones; a
/// replay's <c>forkline_gap</c> lines (<see cref="FormatGap"/>) are the other, written only when asked for.
/// 64-bit hook values are JSON strings, as protojson writes int64/uint64.
/// Writes straight into the caller's buffer; reuses its writer, so one thread at a time.
/// </summary>
public sealed class TetragonJsonFormatter : IEventFormatter
{
    private static readonly JsonEncodedText ProcessExecName = JsonEncodedText.Encode("process_exec");
    private static readonly JsonEncodedText ProcessExitName = JsonEncodedText.Encode("process_exit");
    private static readonly JsonEncodedText ProcessCloneName = JsonEncodedText.Encode("process_clone");
    private static readonly JsonEncodedText ProcessKprobeName = JsonEncodedText.Encode("process_kprobe");
    private static readonly JsonEncodedText ProcessTracepointName = JsonEncodedText.Encode("process_tracepoint");
    private static readonly JsonEncodedText ProcessName = JsonEncodedText.Encode("process");
    private static readonly JsonEncodedText ParentName = JsonEncodedText.Encode("parent");
    private static readonly JsonEncodedText AncestorsName = JsonEncodedText.Encode("ancestors");
    private static readonly JsonEncodedText NodeNameName = JsonEncodedText.Encode("node_name");
    private static readonly JsonEncodedText RateLimitInfoName = JsonEncodedText.Encode("rate_limit_info");
    private static readonly JsonEncodedText DroppedEventsName = JsonEncodedText.Encode("number_of_dropped_process_events");
    private static readonly JsonEncodedText TimeName = JsonEncodedText.Encode("time");
    private static readonly JsonEncodedText GapName = JsonEncodedText.Encode("forkline_gap");
    private static readonly JsonEncodedText GapFromName = JsonEncodedText.Encode("from");
    private static readonly JsonEncodedText GapToName = JsonEncodedText.Encode("to");
    private static readonly JsonEncodedText GapReasonName = JsonEncodedText.Encode("reason");
    private static readonly JsonEncodedText GapRunIdName = JsonEncodedText.Encode("run_id");
    private static readonly JsonEncodedText GapNextRunIdName = JsonEncodedText.Encode("next_run_id");
    private static readonly JsonEncodedText GapLostRecordsName = JsonEncodedText.Encode("lost_records");
    private static readonly JsonEncodedText SignalName = JsonEncodedText.Encode("signal");
    private static readonly JsonEncodedText StatusName = JsonEncodedText.Encode("status");
    private static readonly JsonEncodedText FunctionNameName = JsonEncodedText.Encode("function_name");
    private static readonly JsonEncodedText SubsysName = JsonEncodedText.Encode("subsys");
    private static readonly JsonEncodedText EventName = JsonEncodedText.Encode("event");
    private static readonly JsonEncodedText ArgsName = JsonEncodedText.Encode("args");
    private static readonly JsonEncodedText ReturnName = JsonEncodedText.Encode("return");
    private static readonly JsonEncodedText ActionName = JsonEncodedText.Encode("action");
    private static readonly JsonEncodedText ActionPost = JsonEncodedText.Encode("KPROBE_ACTION_POST");
    private static readonly JsonEncodedText PolicyNameName = JsonEncodedText.Encode("policy_name");
    private static readonly JsonEncodedText SizeArgName = JsonEncodedText.Encode("size_arg");
    private static readonly JsonEncodedText LongArgName = JsonEncodedText.Encode("long_arg");
    private static readonly JsonEncodedText RawSyscalls = JsonEncodedText.Encode("raw_syscalls");
    private static readonly JsonEncodedText SysEnter = JsonEncodedText.Encode("sys_enter");
    private static readonly JsonEncodedText SysExit = JsonEncodedText.Encode("sys_exit");

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // protojson does not HTML-escape; paths and arguments stay readable. Quotes, backslashes and
        // control characters are still escaped, so every event stays one line.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    private readonly Utf8JsonWriter _json = new(Stream.Null, WriterOptions);
    private readonly ProcessJsonWriter _process = new();
    private readonly FieldMask _fields;

    /// <param name="fields">Which process fields to write; null writes all.</param>
    public TetragonJsonFormatter(FieldMask? fields = null)
    {
        _fields = fields ?? FieldMask.All;
    }

    public void Format(EnrichedEvent enriched, IBufferWriter<byte> output)
    {
        _json.Reset(output);
        _json.WriteStartObject();
        switch (enriched)
        {
            case EnrichedExec:
                WriteLineageEvent(ProcessExecName, enriched, exec: true);
                break;
            case EnrichedClone:
                WriteLineageEvent(ProcessCloneName, enriched, exec: false);
                break;
            case EnrichedExit exit:
                WriteExit(exit);
                break;
            case EnrichedHook hook:
                WriteHook(hook);
                break;
            default:
                throw new ArgumentException($"no JSON shape for enriched event {enriched.GetType().Name} (kind {enriched.Kind})", nameof(enriched));
        }
        _json.WriteString(NodeNameName, enriched.Node);
        ProcessJsonWriter.WriteTimestamp(_json, TimeName, enriched.Time);
        _json.WriteEndObject();
        _json.Flush();

        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
    }

    /// <summary>
    /// Tetragon's notice that events were dropped before they reached this reader: a GetEventsResponse
    /// with <c>rate_limit_info.number_of_dropped_process_events</c> (a uint64, a string in protojson).
    /// </summary>
    public void FormatDropped(long dropped, string node, DateTime time, IBufferWriter<byte> output)
    {
        _json.Reset(output);
        _json.WriteStartObject();
        _json.WriteStartObject(RateLimitInfoName);
        Span<char> digits = stackalloc char[20];
        dropped.TryFormat(digits, out var length, default, System.Globalization.CultureInfo.InvariantCulture);
        _json.WriteString(DroppedEventsName, digits[..length]);
        _json.WriteEndObject();
        _json.WriteString(NodeNameName, node);
        ProcessJsonWriter.WriteTimestamp(_json, TimeName, time);
        _json.WriteEndObject();
        _json.Flush();
        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
    }

    /// <summary>
    /// A stretch of the host's history Forkline did not see, as a line of its own:
    /// <c>{"forkline_gap":{"from":..,"to":..,"reason":"collector_crashed","run_id":..,"next_run_id":..,"lost_records":"N"},"node_name":..,"time":..}</c>
    /// (time = the gap's end; empty strings and a zero count left out, as protojson does). forkline_gap
    /// is not a field of Tetragon's GetEventsResponse, so a strict Tetragon reader rejects the line.
    /// </summary>
    public void FormatGap(HostGap gap, IBufferWriter<byte> output)
    {
        _json.Reset(output);
        _json.WriteStartObject();
        _json.WriteStartObject(GapName);
        ProcessJsonWriter.WriteTimestamp(_json, GapFromName, gap.From);
        ProcessJsonWriter.WriteTimestamp(_json, GapToName, gap.To);
        _json.WriteString(GapReasonName, HostGap.NameOf(gap.Reason));
        if (gap.RunId.Length > 0) _json.WriteString(GapRunIdName, gap.RunId);
        if (gap.NextRunId.Length > 0) _json.WriteString(GapNextRunIdName, gap.NextRunId);
        if (gap.LostRecords > 0) _json.WriteString(GapLostRecordsName, gap.LostRecords.ToString(CultureInfo.InvariantCulture));
        _json.WriteEndObject();
        _json.WriteString(NodeNameName, gap.Host);
        ProcessJsonWriter.WriteTimestamp(_json, TimeName, gap.To);
        _json.WriteEndObject();
        _json.Flush();
        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
    }

    private void WriteLineageEvent(JsonEncodedText name, EnrichedEvent enriched, bool exec)
    {
        _json.WriteStartObject(name);
        WriteProcessAndParent(enriched, thread: null, exec);
        WriteAncestors(enriched);
        _json.WriteEndObject();
    }

    private void WriteExit(EnrichedExit exit)
    {
        _json.WriteStartObject(ProcessExitName);
        WriteProcessAndParent(exit, thread: null, exec: false);
        if (exit.Process.Exit is { } ending)
        {
            if (ending.Signal != 0) _json.WriteString(SignalName, LinuxNames.SignalName(ending.Signal));
            // protojson would leave a 0 status out; Forkline writes it so a clean exit is explicit, and leaves it
            // out of a concluded end (ended unseen: restart, ring loss), whose exit code nobody knows.
            if (!ending.Concluded) _json.WriteNumber(StatusName, ending.Status);
            ProcessJsonWriter.WriteTimestamp(_json, TimeName, ending.Time);
        }
        WriteAncestors(exit);
        _json.WriteEndObject();
    }

    // Fields in each message's field-number order. A kprobe's return value has ProcessKprobe's "return";
    // ProcessTracepoint has none, so a syscall's comes second in the args, where the raw_syscalls/sys_exit
    // tracepoint has its "ret" field.
    private void WriteHook(EnrichedHook hook)
    {
        var call = hook.Hook;
        var isKprobe = call.Hook.Kind == HookKind.Kprobe;
        _json.WriteStartObject(isKprobe ? ProcessKprobeName : ProcessTracepointName);
        WriteProcessAndParent(hook, hook.Thread, exec: false);
        if (isKprobe)
        {
            _json.WriteString(FunctionNameName, call.Hook.Name);
            WriteArguments(call);
            if (call.Phase == HookPhase.Exit)
            {
                _json.WriteStartObject(ReturnName);
                WriteInt64String(LongArgName, call.Return);
                _json.WriteEndObject();
            }
            _json.WriteString(ActionName, ActionPost);
            _json.WriteString(PolicyNameName, call.Hook.Name);
        }
        else
        {
            WriteTracepointName(call);
            WriteArguments(call);
            _json.WriteString(PolicyNameName, call.Hook.Name);
            _json.WriteString(ActionName, ActionPost);
        }
        WriteAncestors(hook);
        _json.WriteEndObject();
    }

    // Syscall hooks attach to the raw sys_enter / sys_exit tracepoints (the hook's name is the policy
    // entry's, which may differ from the syscall's). A tracepoint hook is named "subsys:event" or
    // "subsys/event".
    private void WriteTracepointName(HookEvent call)
    {
        if (call.Hook.Kind == HookKind.Syscall)
        {
            _json.WriteString(SubsysName, RawSyscalls);
            _json.WriteString(EventName, call.Phase == HookPhase.Enter ? SysEnter : SysExit);
            return;
        }
        var name = call.Hook.Name.AsSpan();
        var separator = name.IndexOfAny(':', '/');
        if (separator > 0) _json.WriteString(SubsysName, name[..separator]);
        _json.WriteString(EventName, name[(separator + 1)..]);
    }

    // Raw syscall tracepoints carry the syscall number first (as Tetragon's raw_syscalls "id"), at exit
    // the return value next ("ret"), then the six raw argument registers; their types are not known
    // here, so each is a uint64.
    private void WriteArguments(HookEvent call)
    {
        _json.WriteStartArray(ArgsName);
        if (call.Hook.Kind == HookKind.Syscall)
        {
            _json.WriteStartObject();
            WriteInt64String(LongArgName, call.SyscallNr);
            _json.WriteEndObject();
            if (call.Phase == HookPhase.Exit)
            {
                _json.WriteStartObject();
                WriteInt64String(LongArgName, call.Return);
                _json.WriteEndObject();
            }
        }
        var arguments = call.Arguments;
        Span<byte> digits = stackalloc byte[20];
        for (var i = 0; i < HookArguments.Count; i++)
        {
            _json.WriteStartObject();
            arguments[i].TryFormat(digits, out var length, default, CultureInfo.InvariantCulture);
            _json.WriteString(SizeArgName, digits[..length]);
            _json.WriteEndObject();
        }
        _json.WriteEndArray();
    }

    private void WriteInt64String(JsonEncodedText name, long value)
    {
        Span<byte> digits = stackalloc byte[20];
        value.TryFormat(digits, out var length, default, CultureInfo.InvariantCulture);
        _json.WriteString(name, digits[..length]);
    }

    private void WriteProcessAndParent(EnrichedEvent enriched, ThreadSnapshot? thread, bool exec)
    {
        if (_fields.Process != ProcessFields.None)
            _process.Write(_json, ProcessName, enriched.Process, thread, _fields.Process, exec);
        if (_fields.Parent != ProcessFields.None && enriched.Parent is { } parent)
            _process.Write(_json, ParentName, parent, thread: null, _fields.Parent);
    }

    // Tetragon's ancestors are those beyond the immediate parent; a process's own chain starts with
    // its parent, so that entry is skipped rather than written twice.
    private void WriteAncestors(EnrichedEvent enriched)
    {
        var chain = enriched.Ancestors;
        if (chain is not null && enriched.Parent is { } parent && chain.Process.ExecId == parent.ExecId) chain = chain.Next;
        if (chain is null || _fields.Ancestors == ProcessFields.None) return;
        _json.WriteStartArray(AncestorsName);
        for (; chain is not null; chain = chain.Next)
            _process.WriteInArray(_json, chain.Process, _fields.Ancestors);
        _json.WriteEndArray();
    }
}
