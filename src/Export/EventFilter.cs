using System.Collections.Frozen;
using System.Globalization;
using Forkline.Contracts.Events;
using Forkline.Contracts.Snapshots;

namespace Forkline.Export;

/// <summary>A namespace a process must be in: kind and inode number, e.g. "mnt:4026531841".</summary>
public readonly record struct NamespaceMatch(NamespaceKind Kind, uint Inum)
{
    /// <summary>Parses "kind:inum" or "kind=inum" (kind as in /proc/&lt;pid&gt;/ns: mnt, pid, net, ...).</summary>
    /// <exception cref="FormatException">The text is not of that form; the message shows the expected form.</exception>
    public static NamespaceMatch Parse(string text)
    {
        var separator = text.AsSpan().IndexOfAny(':', '=');
        if (separator > 0 &&
            NamespaceKinds.TryParse(text.AsSpan(0, separator).Trim(), out var kind) &&
            uint.TryParse(text.AsSpan(separator + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var inum))
            return new NamespaceMatch(kind, inum);
        throw new FormatException(
            $"namespace filter '{text}' is not 'kind:inum' — kind is one of {string.Join(", ", NamespaceKinds.Names)}, inum the number in `readlink /proc/<pid>/ns/<kind>`, e.g. mnt:4026531841");
    }
}

/// <summary>
/// What to export. Every criterion given must hold (AND); within one criterion any value may match (OR).
/// Empty criteria match everything, except event types: by default exec, exit and hook events are
/// exported and clone-only processes are not (ask for "clone").
/// </summary>
public sealed record EventFilterOptions
{
    /// <summary>
    /// "exec", "exit", "clone", "hook" (every hook), a hook kind ("syscall", "tracepoint", "kprobe"),
    /// Tetragon's event names ("process_exec", "process_exit", "process_kprobe", "process_tracepoint"),
    /// or a hook's name from the hook policy (e.g. "setuid"). Reserved words are case-insensitive.
    /// </summary>
    public IReadOnlyCollection<string> EventTypes { get; init; } = [];

    /// <summary>Regular expressions (.NET syntax, no backreferences or lookarounds) matched against the binary path.</summary>
    public IReadOnlyCollection<string> BinaryRegex { get; init; } = [];

    /// <summary>Process ids (the thread-group id; a thread's events match by their process's pid).</summary>
    public IReadOnlyCollection<int> Pids { get; init; } = [];

    /// <summary>Namespaces; a thread's hook event is matched with that thread's own namespaces.</summary>
    public IReadOnlyCollection<NamespaceMatch> Namespaces { get; init; } = [];

    /// <summary>Container ids, whole or a prefix of at least a few digits (docker ps prints 12).</summary>
    public IReadOnlyCollection<string> Containers { get; init; } = [];

    /// <summary>Kubernetes pod names (in any namespace unless <see cref="PodNamespaces"/> says).</summary>
    public IReadOnlyCollection<string> Pods { get; init; } = [];

    /// <summary>Kubernetes namespaces the process's pod is in.</summary>
    public IReadOnlyCollection<string> PodNamespaces { get; init; } = [];
}

/// <summary>
/// An <see cref="EventFilterOptions"/> compiled once: kinds as bit masks, pids and hook names as
/// frozen sets, the binary patterns as one <see cref="BinaryPattern"/>. Immutable, so any thread may call
/// <see cref="Matches"/>; it allocates nothing.
/// </summary>
public sealed class EventFilter
{
    private const int AllHookKinds = 1 << (int)HookKind.Syscall | 1 << (int)HookKind.Tracepoint | 1 << (int)HookKind.Kprobe;

    public static readonly EventFilter Default = Create(new EventFilterOptions());

    private readonly int _kinds;
    private readonly int _hookKinds;
    private readonly FrozenSet<string> _hookNames;
    private readonly FrozenSet<int>? _pids;
    private readonly BinaryPattern? _binary;
    private readonly NamespaceMatch[] _namespaces;
    private readonly string[] _containers;
    private readonly string[] _pods;
    private readonly string[] _podNamespaces;

    private EventFilter(int kinds, int hookKinds, FrozenSet<string> hookNames, FrozenSet<int>? pids, BinaryPattern? binary, NamespaceMatch[] namespaces,
        string[] containers, string[] pods, string[] podNamespaces)
    {
        _containers = containers;
        _pods = pods;
        _podNamespaces = podNamespaces;
        _kinds = kinds;
        _hookKinds = hookKinds;
        _hookNames = hookNames;
        _pids = pids;
        _binary = binary;
        _namespaces = namespaces;
    }

    /// <exception cref="ArgumentException">A binary pattern that does not compile; the message names it.</exception>
    public static EventFilter Create(EventFilterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var kinds = 0;
        var hookKinds = 0;
        var hookNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var type in options.EventTypes)
            AddEventType(type.Trim(), ref kinds, ref hookKinds, hookNames);
        if (options.EventTypes.Count == 0)
        {
            kinds = KindBit(EnrichedKind.Exec) | KindBit(EnrichedKind.Exit);
            hookKinds = AllHookKinds;
        }
        return new EventFilter(
            kinds,
            hookKinds,
            hookNames.ToFrozenSet(StringComparer.Ordinal),
            options.Pids.Count == 0 ? null : options.Pids.ToFrozenSet(),
            BinaryPattern.AnyOf(options.BinaryRegex),
            options.Namespaces.ToArray(),
            NonEmpty(options.Containers),
            NonEmpty(options.Pods),
            NonEmpty(options.PodNamespaces));
    }

    private static string[] NonEmpty(IReadOnlyCollection<string> values) =>
        values.Select(value => value.Trim()).Where(value => value.Length > 0).ToArray();

    public bool Matches(EnrichedEvent enriched)
    {
        if (!MatchesType(enriched)) return false;
        if (_pids is not null && !_pids.Contains(enriched.Process.Pid)) return false;
        if (_binary is not null && !_binary.Matches(enriched.Process.Binary)) return false;
        if (_containers.Length > 0 && !MatchesContainer(enriched.Process.Container)) return false;
        if (_pods.Length > 0 && !AnyOf(_pods, enriched.Process.Container?.Pod?.Name)) return false;
        if (_podNamespaces.Length > 0 && !AnyOf(_podNamespaces, enriched.Process.Container?.Pod?.Namespace)) return false;
        return _namespaces.Length == 0 || MatchesNamespace(enriched);
    }

    private bool MatchesContainer(Contracts.Identity.ContainerIdentity? container)
    {
        if (container is null) return false;
        foreach (var id in _containers)
            if (container.MatchesId(id)) return true;
        return false;
    }

    private static bool AnyOf(string[] wanted, string? value)
    {
        if (value is null) return false;
        foreach (var one in wanted)
            if (one == value) return true;
        return false;
    }

    private bool MatchesType(EnrichedEvent enriched)
    {
        // The exit of a fork that never exec'd pairs with its clone event: without clones it is left out
        // too, so every exported exit has its exec.
        if (enriched.Kind == EnrichedKind.Exit && (enriched.Process.Flags & ProcessFlags.CloneOnly) != 0)
            return (_kinds & KindBit(EnrichedKind.Clone)) != 0;
        if ((_kinds & KindBit(enriched.Kind)) != 0) return true;
        if (enriched is not EnrichedHook hook) return false;
        var descriptor = hook.Hook.Hook;
        return (_hookKinds & 1 << (int)descriptor.Kind) != 0 || _hookNames.Contains(descriptor.Name);
    }

    private bool MatchesNamespace(EnrichedEvent enriched)
    {
        var namespaces = enriched is EnrichedHook { Thread: { } thread } ? thread.Namespaces : enriched.Process.Namespaces;
        foreach (var wanted in _namespaces)
        {
            if (NamespaceKinds.Inum(namespaces, wanted.Kind) == wanted.Inum) return true;
        }
        return false;
    }

    private static int KindBit(EnrichedKind kind) => 1 << (int)kind;

    private static void AddEventType(string type, ref int kinds, ref int hookKinds, HashSet<string> hookNames)
    {
        switch (type.ToLowerInvariant())
        {
            case "exec" or "process_exec": kinds |= KindBit(EnrichedKind.Exec); break;
            case "exit" or "process_exit": kinds |= KindBit(EnrichedKind.Exit); break;
            case "clone" or "process_clone": kinds |= KindBit(EnrichedKind.Clone); break;
            case "hook": kinds |= KindBit(EnrichedKind.Hook); break;
            case "kprobe" or "process_kprobe": hookKinds |= 1 << (int)HookKind.Kprobe; break;
            case "syscall": hookKinds |= 1 << (int)HookKind.Syscall; break;
            case "tracepoint": hookKinds |= 1 << (int)HookKind.Tracepoint; break;
            // Tetragon exports syscall hooks as tracepoints too.
            case "process_tracepoint": hookKinds |= 1 << (int)HookKind.Tracepoint | 1 << (int)HookKind.Syscall; break;
            default: hookNames.Add(type); break;
        }
    }
}
