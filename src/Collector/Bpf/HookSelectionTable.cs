using Forkline.Collector.Decoding;
using Forkline.Collector.Hooks;
using Forkline.Contracts.Events;

namespace Forkline.Collector.Bpf;

/// <summary>
/// The contents of fl_hook_sel for a policy: per syscall number, which hook (id + 1; 0 = none)
/// fires at entry and at exit. Changing the hooked set needs no recompile, only this map.
/// </summary>
internal sealed class HookSelectionTable
{
    private readonly Dictionary<uint, FlHookSel> _bySyscall = [];

    private HookSelectionTable()
    {
    }

    public bool HasEnterHooks { get; private set; }

    public static HookSelectionTable From(HookPolicy policy)
    {
        var table = new HookSelectionTable();
        foreach (var hook in policy.Hooks)
        {
            if (hook.Spec.Kind != HookKind.Syscall) continue;
            var syscall = (uint)hook.Spec.SyscallNumber;
            table._bySyscall.TryGetValue(syscall, out var selection);
            var selected = (uint)hook.Descriptor.Id + 1;
            if (hook.Spec.Phase == HookPhase.Enter)
            {
                selection.HookIdEnter = selected;
                table.HasEnterHooks = true;
            }
            else
            {
                selection.HookIdExit = selected;
            }
            table._bySyscall[syscall] = selection;
        }
        return table;
    }

    public void WriteTo(BpfMap map)
    {
        foreach (var (syscall, selection) in _bySyscall) map.Update(syscall, selection);
    }
}
