using System.Net;
using Forkline.Contracts.Events;

namespace Forkline.ProcessActors;

/// <summary>How the process actors track, hold and emit processes. Immutable; validated at pipeline start.</summary>
public sealed record ProcessActorSettings
{
    /// <summary>AncestorDepth that attaches every ancestor up to init.</summary>
    public const int AncestorsUpToInit = int.MaxValue;

    /// <summary>The node part of every exec_id. Defaults to the host name.</summary>
    public string NodeName { get; init; } = Dns.GetHostName();

    /// <summary>How long an exited (or replaced) process stays after its last child released it, for late events.</summary>
    public TimeSpan ExitGracePeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Most events the out-of-order cache holds; past it the oldest gives up.</summary>
    public int EventCacheCapacity { get; init; } = 16_384;

    /// <summary>How long an event waits for its process or parent before it is emitted incomplete.</summary>
    public TimeSpan EventCacheMaxAge { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How often waiting events are retried and aged out.</summary>
    public TimeSpan EventCacheRetryInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Ancestors beyond the parent attached to every enriched event: 0 none, AncestorsUpToInit all.</summary>
    public int AncestorDepth { get; init; }

    /// <summary>Emit EnrichedClone for forks (and the exit of a fork that never exec'd).</summary>
    public bool EmitClones { get; init; }

    /// <summary>At most one TID != PID warning per interval; the counter counts every one.</summary>
    public TimeSpan MismatchWarningInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Turns event ktimes into UTC times.</summary>
    public BootClock BootClock { get; init; } = BootClock.Measure();

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(NodeName))
            throw new ArgumentException($"NodeName '{NodeName}' is empty: set it to the host name (it is part of every exec_id)", nameof(NodeName));
        RequireNonNegative(ExitGracePeriod, nameof(ExitGracePeriod));
        RequirePositive(EventCacheMaxAge, nameof(EventCacheMaxAge));
        RequirePositive(EventCacheRetryInterval, nameof(EventCacheRetryInterval));
        if (EventCacheCapacity < 1)
            throw new ArgumentOutOfRangeException(nameof(EventCacheCapacity), EventCacheCapacity, "EventCacheCapacity must be at least 1: out-of-order events need somewhere to wait");
        if (AncestorDepth < 0)
            throw new ArgumentOutOfRangeException(nameof(AncestorDepth), AncestorDepth, "AncestorDepth must be 0 (none), a depth, or AncestorsUpToInit");
        RequireNonNegative(MismatchWarningInterval, nameof(MismatchWarningInterval));
    }

    private static void RequireNonNegative(TimeSpan value, string name)
    {
        if (value < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must not be negative");
    }

    private static void RequirePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be greater than zero");
    }
}
