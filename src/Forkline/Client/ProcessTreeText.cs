using Forkline.Contracts.Api;
using Forkline.Export;

namespace Forkline.Client;

/// <summary>
/// Draws processes as a tree by parent_exec_id, children in start order:
/// <code>
/// 1 /sbin/init
/// ├─ 812 /usr/sbin/sshd -D
/// │  └─ 2211 -bash
/// └─ 950 /usr/sbin/cron
/// </code>
/// Processes whose parent is not in the set are roots.
/// </summary>
public static class ProcessTreeText
{
    /// <param name="marked">A process to point out (the subject of a lineage), or null.</param>
    public static void Write(TextWriter output, IReadOnlyCollection<Process> processes, string? marked = null)
    {
        var byExecId = new Dictionary<string, Process>(processes.Count);
        foreach (var process in processes) byExecId.TryAdd(process.ExecId, process);
        var children = new Dictionary<string, List<Process>>();
        var roots = new List<Process>();
        foreach (var process in byExecId.Values)
        {
            if (process.ParentExecId.Length > 0 && process.ParentExecId != process.ExecId && byExecId.ContainsKey(process.ParentExecId))
            {
                if (!children.TryGetValue(process.ParentExecId, out var siblings)) children[process.ParentExecId] = siblings = [];
                siblings.Add(process);
            }
            else
            {
                roots.Add(process);
            }
        }

        // An explicit stack instead of recursion: real trees can be deep (fork bombs, build systems).
        var pending = new Stack<(Process Process, string Indent, string Branch)>();
        foreach (var root in LatestFirst(roots)) pending.Push((root, "", ""));
        while (pending.Count > 0)
        {
            var (process, indent, branch) = pending.Pop();
            var mark = process.ExecId == marked ? "  ◀" : "";
            var state = process.Live ? "" : $"  [{ProcessText.State(process)}]";
            output.WriteLine($"{indent}{branch}{process.Pid} {ProcessText.Command(process)}{state}{mark}  {TerminalText.Escape(process.ExecId)}");
            if (!children.Remove(process.ExecId, out var below)) continue;
            var childIndent = indent + branch switch { "├─ " => "│  ", "└─ " => "   ", _ => "" };
            var ordered = LatestFirst(below);
            for (var i = 0; i < ordered.Count; i++)
                pending.Push((ordered[i], childIndent, i == 0 ? "└─ " : "├─ "));
        }
    }

    /// <summary>Latest first, so that popping from the stack draws the earliest first.</summary>
    private static List<Process> LatestFirst(List<Process> processes) => processes
        .OrderByDescending(p => p.StartTime?.ToDateTime() ?? DateTime.MinValue)
        .ThenByDescending(p => p.Pid)
        .ToList();
}
