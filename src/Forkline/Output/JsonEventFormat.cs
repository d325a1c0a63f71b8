using System.Text.Json;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;

namespace Forkline.Output;

/// <summary>
/// One JSON object per line per raw kernel event, written with Utf8JsonWriter (no reflection):
/// {"kind":"exec","time":"...","ktime":1,"pid":2,"tid":2,"filename":"/bin/true",...}
/// </summary>
public sealed class JsonEventFormat : IRawEventFormat
{
    private static readonly byte[] Newline = "\n"u8.ToArray();
    private readonly BootClock _clock;
    private readonly Stream _output;
    private readonly Utf8JsonWriter _json;

    public JsonEventFormat(BootClock clock, Stream output)
    {
        _clock = clock;
        _output = output;
        _json = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true });
    }

    public void Flush() => _output.Flush();

    public void Write(KernelEvent kernelEvent)
    {
        _json.Reset(_output);
        _json.WriteStartObject();
        switch (kernelEvent)
        {
            case ExecEvent exec:
                Head("exec", exec);
                WriteKey("parent", exec.Parent);
                WriteKey("replaced", exec.Replaced);
                _json.WriteString("filename", exec.Filename);
                _json.WriteStartArray("args");
                foreach (var argument in exec.Arguments) _json.WriteStringValue(argument);
                _json.WriteEndArray();
                _json.WriteString("cwd", exec.Cwd);
                WriteCredentials(exec.Credentials);
                WriteCapabilities(exec.Capabilities);
                WriteNamespaces(exec.Namespaces);
                _json.WriteNumber("auid", exec.Auid);
                _json.WriteNumber("cgroup_id", exec.CgroupId);
                _json.WriteString("flags", exec.Flags.ToString());
                break;
            case CloneEvent clone:
                Head("clone", clone);
                WriteKey("parent", clone.Parent);
                WriteCredentials(clone.Credentials);
                _json.WriteNumber("auid", clone.Auid);
                _json.WriteNumber("cgroup_id", clone.CgroupId);
                break;
            case ExitEvent exit:
                Head("exit", exit);
                _json.WriteNumber("start_ktime", exit.StartKtime);
                _json.WriteNumber("status", exit.Status);
                _json.WriteNumber("signal", exit.Signal);
                _json.WriteNumber("wait_status", exit.ExitCode);
                _json.WriteNumber("last_tid", exit.LastTid);
                break;
            case HookEvent hook:
                Head("hook", hook);
                _json.WriteNumber("start_ktime", hook.StartKtime);
                _json.WriteString("hook", hook.Hook.Name);
                _json.WriteNumber("hook_id", hook.Hook.Id);
                _json.WriteString("phase", hook.Phase == HookPhase.Enter ? "enter" : "exit");
                _json.WriteNumber("syscall", hook.SyscallNr);
                if (hook.Phase == HookPhase.Exit) _json.WriteNumber("ret", hook.Return);
                _json.WriteStartArray("args");
                for (var i = 0; i < HookArguments.Count; i++) _json.WriteNumberValue(hook.Arguments[i]);
                _json.WriteEndArray();
                WriteCredentials(hook.Credentials);
                WriteCapabilities(hook.Capabilities);
                WriteNamespaces(hook.Namespaces);
                break;
            default:
                Head("unknown", kernelEvent);
                break;
        }
        _json.WriteEndObject();
        _json.Flush();
        _output.Write(Newline);
    }

    private void Head(string kind, KernelEvent kernelEvent)
    {
        _json.WriteString("kind", kind);
        _json.WriteString("time", _clock.ToUtc(kernelEvent.Ktime));
        _json.WriteNumber("ktime", kernelEvent.Ktime);
        _json.WriteNumber("pid", kernelEvent.Pid);
        _json.WriteNumber("tid", kernelEvent.Tid);
    }

    private void WriteKey(string name, ProcessKey key)
    {
        _json.WriteStartObject(name);
        _json.WriteNumber("pid", key.Pid);
        _json.WriteNumber("start_ktime", key.StartKtime);
        _json.WriteEndObject();
    }

    private void WriteCredentials(Credentials c)
    {
        _json.WriteStartObject("creds");
        _json.WriteNumber("uid", c.Uid);
        _json.WriteNumber("gid", c.Gid);
        _json.WriteNumber("euid", c.Euid);
        _json.WriteNumber("egid", c.Egid);
        _json.WriteNumber("suid", c.Suid);
        _json.WriteNumber("sgid", c.Sgid);
        _json.WriteNumber("fsuid", c.Fsuid);
        _json.WriteNumber("fsgid", c.Fsgid);
        _json.WriteEndObject();
    }

    private void WriteCapabilities(Capabilities c)
    {
        _json.WriteStartObject("caps");
        _json.WriteNumber("permitted", c.Permitted);
        _json.WriteNumber("effective", c.Effective);
        _json.WriteNumber("inheritable", c.Inheritable);
        _json.WriteEndObject();
    }

    private void WriteNamespaces(Namespaces n)
    {
        _json.WriteStartObject("ns");
        _json.WriteNumber("uts", n.Uts);
        _json.WriteNumber("ipc", n.Ipc);
        _json.WriteNumber("mnt", n.Mnt);
        _json.WriteNumber("pid", n.Pid);
        _json.WriteNumber("pid_for_children", n.PidForChildren);
        _json.WriteNumber("net", n.Net);
        _json.WriteNumber("time", n.Time);
        _json.WriteNumber("time_for_children", n.TimeForChildren);
        _json.WriteNumber("cgroup", n.Cgroup);
        _json.WriteNumber("user", n.User);
        _json.WriteEndObject();
    }
}
