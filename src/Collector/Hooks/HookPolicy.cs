using System.Collections.Immutable;
using Forkline.Contracts.Events;

namespace Forkline.Collector.Hooks;

/// <summary>
/// The hooks the collector attaches, with ids given out in order (id = index in Descriptors, the
/// decoder's lookup table). The credential-change family is always hooked at exit, because the
/// process actors keep credentials current from those events.
/// </summary>
public sealed class HookPolicy
{
    private HookPolicy(ImmutableArray<PolicyHook> hooks)
    {
        Hooks = hooks;
        var descriptors = ImmutableArray.CreateBuilder<HookDescriptor>(hooks.Length);
        foreach (var hook in hooks) descriptors.Add(hook.Descriptor);
        Descriptors = descriptors.MoveToImmutable();
    }

    public ImmutableArray<PolicyHook> Hooks { get; }

    /// <summary>Index = hook id, as the BPF records carry it.</summary>
    public ImmutableArray<HookDescriptor> Descriptors { get; }

    /// <summary>Only the credential-change family.</summary>
    public static HookPolicy CredentialsOnly { get; } = Create([]);

    /// <summary>Reads a JSON policy file (format: deploy/config/hooks.json).</summary>
    public static HookPolicy Load(string path) => Create(HookPolicyFile.Read(path), path);

    /// <summary>Validates the requested hooks and adds the credential family at exit where missing.</summary>
    public static HookPolicy Create(IEnumerable<HookSpec> requested, string source = "hook policy")
    {
        var specs = new List<HookSpec>(requested);
        ValidateUnique(specs, source);
        var credentialSyscalls = new HashSet<int>();
        foreach (var name in SyscallTable.CredentialFamily)
        {
            var credential = HookSpec.Syscall(name, HookPhase.Exit);
            credentialSyscalls.Add(credential.SyscallNumber);
            if (specs.Exists(spec => SameAttachPoint(spec, credential))) continue;
            var taken = specs.Exists(spec => spec.Name == name);
            specs.Add(taken ? credential with { Name = name + "_exit" } : credential);
        }

        var hooks = ImmutableArray.CreateBuilder<PolicyHook>(specs.Count);
        for (var id = 0; id < specs.Count; id++)
        {
            var spec = specs[id];
            var changesCredentials = spec.Kind == HookKind.Syscall && spec.Phase == HookPhase.Exit
                && credentialSyscalls.Contains(spec.SyscallNumber);
            hooks.Add(new PolicyHook(new HookDescriptor(id, spec.Name, spec.Kind, changesCredentials), spec));
        }
        return new HookPolicy(hooks.MoveToImmutable());
    }

    private static void ValidateUnique(List<HookSpec> specs, string source)
    {
        for (var i = 0; i < specs.Count; i++)
        {
            var spec = specs[i];
            if (spec.Kind == HookKind.Syscall && (spec.SyscallNumber < 0 || spec.SyscallNumber >= SyscallTable.MaxSyscallNumber))
                throw new HookPolicyException(
                    $"{source}: hook '{spec.Name}' has syscall number {spec.SyscallNumber} — use 0..{SyscallTable.MaxSyscallNumber - 1}");
            for (var j = 0; j < i; j++)
            {
                if (specs[j].Name == spec.Name)
                    throw new HookPolicyException($"{source}: two hooks are named '{spec.Name}' — give each hook its own name");
                if (SameAttachPoint(specs[j], spec))
                    throw new HookPolicyException(
                        $"{source}: hooks '{specs[j].Name}' and '{spec.Name}' attach to the same {Describe(spec)} — keep one");
            }
        }
    }

    private static bool SameAttachPoint(HookSpec a, HookSpec b) =>
        a.Kind == b.Kind && a.Phase == b.Phase && a.SyscallNumber == b.SyscallNumber && a.Symbol == b.Symbol;

    private static string Describe(HookSpec spec) => spec.Kind == HookKind.Kprobe
        ? $"kprobe {spec.Symbol} ({spec.Phase})"
        : $"syscall {spec.SyscallNumber} ({spec.Phase})";
}
