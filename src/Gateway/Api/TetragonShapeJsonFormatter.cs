using System.Buffers;
using System.Text;
using System.Text.Json;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;

namespace Forkline.Gateway.Api;

/// <summary>
/// The API's own rendering of Tetragon's export shape ({"process_exec":{"process":..,"parent":..},
/// "node_name":..,"time":..}), covering the process fields the gateway keeps. It stands in until
/// the export project's complete formatter is wired in through <see cref="IEventJsonFormatter"/>.
/// </summary>
public sealed class TetragonShapeJsonFormatter : IEventJsonFormatter
{
    public string Format(EnrichedEvent enriched)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject(EventKey(enriched));
            WriteProcess(json, "process", enriched.Process, enriched.Node, ThreadOf(enriched));
            if (enriched.Parent is { } parent) WriteProcess(json, "parent", parent, enriched.Node, thread: null);
            switch (enriched)
            {
                case EnrichedExit { Process.Exit: { } exit }:
                    if (exit.Signal != 0) json.WriteString("signal", SignalNames.Of(exit.Signal));
                    json.WriteNumber("status", exit.Status);
                    json.WriteString("time", exit.Time.AsUtc());
                    break;
                case EnrichedHook hook:
                    WriteHook(json, hook.Hook);
                    break;
            }
            json.WriteEndObject();
            json.WriteString("node_name", enriched.Node);
            json.WriteString("time", enriched.Time.AsUtc());
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string EventKey(EnrichedEvent enriched) => enriched switch
    {
        EnrichedExec => "process_exec",
        EnrichedExit => "process_exit",
        EnrichedClone => "process_clone",
        EnrichedHook { Hook.Hook.Kind: HookKind.Kprobe } => "process_kprobe",
        _ => "process_tracepoint",
    };

    private static ThreadSnapshot? ThreadOf(EnrichedEvent enriched) => (enriched as EnrichedHook)?.Thread;

    private static void WriteProcess(Utf8JsonWriter json, string name, ProcessSnapshot process, string node, ThreadSnapshot? thread)
    {
        json.WriteStartObject(name);
        json.WriteString("exec_id", process.ExecId.Encode());
        json.WriteNumber("pid", process.Pid);
        json.WriteNumber("uid", thread?.Credentials.Uid ?? process.Credentials.Uid);
        json.WriteString("cwd", process.Cwd);
        json.WriteString("binary", process.Binary);
        json.WriteString("arguments", string.Join(' ', process.Arguments));
        json.WriteString("flags", FlagsText(process.Flags));
        json.WriteString("start_time", process.StartTime.AsUtc());
        json.WriteNumber("auid", process.Auid);
        json.WriteString("node_name", node);
        if (process.ParentExecId != default(ExecId)) json.WriteString("parent_exec_id", process.ParentExecId.Encode());
        json.WriteNumber("tid", thread?.Tid ?? process.Pid);
        json.WriteEndObject();
    }

    private static void WriteHook(Utf8JsonWriter json, HookEvent hook)
    {
        json.WriteString(hook.Hook.Kind == HookKind.Kprobe ? "function_name" : "event", hook.Hook.Name);
        json.WriteStartArray("args");
        for (var i = 0; i < HookArguments.Count; i++)
        {
            json.WriteStartObject();
            json.WriteNumber("uint64_arg", hook.Arguments[i]);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        if (hook.Phase == HookPhase.Exit)
        {
            json.WriteStartObject("return");
            json.WriteNumber("long_arg", hook.Return);
            json.WriteEndObject();
        }
    }

    // Tetragon's flag words, space separated, in its order.
    private static string FlagsText(ProcessFlags flags)
    {
        var words = new List<string>(4);
        if ((flags & ProcessFlags.Exec) != 0) words.Add("execve");
        if ((flags & ProcessFlags.Procfs) != 0) words.Add("procFS");
        if ((flags & ProcessFlags.CloneOnly) != 0) words.Add("clone");
        if ((flags & ProcessFlags.FilenameTruncated) != 0) words.Add("truncFilename");
        if ((flags & ProcessFlags.ArgsTruncated) != 0) words.Add("truncArgs");
        if ((flags & ProcessFlags.CwdTruncated) != 0) words.Add("truncCwd");
        return string.Join(' ', words);
    }
}
