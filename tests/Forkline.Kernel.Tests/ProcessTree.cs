using Forkline.Contracts.Events;

namespace Forkline.Kernel.Tests;

/// <summary>Picks a test's own processes out of a busy host's events.</summary>
internal static class ProcessTree
{
    /// <summary>rootPid and every pid forked (or exec'd) with a parent already in the set, to a fixed point.</summary>
    public static HashSet<int> Subtree(IReadOnlyList<KernelEvent> events, int rootPid)
    {
        var pids = new HashSet<int> { rootPid };
        bool grew;
        do
        {
            grew = false;
            foreach (var kernelEvent in events)
            {
                var parent = kernelEvent switch
                {
                    CloneEvent clone => clone.Parent.Pid,
                    ExecEvent exec => exec.Parent.Pid,
                    _ => -1,
                };
                if (pids.Contains(parent) && pids.Add(kernelEvent.Pid)) grew = true;
            }
        }
        while (grew);
        return pids;
    }

    public static List<KernelEvent> Of(IReadOnlyList<KernelEvent> events, HashSet<int> pids) =>
        events.Where(kernelEvent => pids.Contains(kernelEvent.Pid)).ToList();
}
