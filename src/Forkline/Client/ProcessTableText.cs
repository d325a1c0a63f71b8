using Forkline.Contracts.Api;
using Forkline.Export;

namespace Forkline.Client;

/// <summary>`forkline ps`'s table: one line per process, oldest first, the command (and its container) last.</summary>
public static class ProcessTableText
{
    public static void Write(TextWriter output, string host, ListProcessesResponse response)
    {
        if (response.Processes.Count == 0)
        {
            output.WriteLine($"no processes known for host '{TerminalText.Escape(host)}' (a host is named by its collector's node name; see --host)");
            return;
        }
        var execIdWidth = Math.Max("EXEC_ID".Length, response.Processes.Max(p => p.ExecId.Length));
        output.WriteLine($"{"PID",7} {"PPID",7} {"UID",6} {"STARTED",-24} {"STATE",-18} {"EXEC_ID".PadRight(execIdWidth)} COMMAND");
        foreach (var process in response.Processes.OrderBy(p => p.StartTime?.ToDateTime()).ThenBy(p => p.Pid))
        {
            output.WriteLine(
                $"{process.Pid,7} {ProcessText.ParentPid(process),7} {(process.HasUid ? process.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-"),6} {ProcessText.Time(process.StartTime),-24} " +
                $"{ProcessText.State(process),-18} {TerminalText.Escape(process.ExecId).PadRight(execIdWidth)} {ProcessText.Command(process)}");
        }
    }
}
