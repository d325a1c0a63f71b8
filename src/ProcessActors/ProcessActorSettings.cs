using System.Net;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;

namespace Forkline.ProcessActors;

/// <summary>
/// Tells whether the image a key names still runs on this host: a kernel fact the host reads (from /proc),
/// called off the actors' thread. False only when the process is surely gone.
/// </summary>
public delegate bool StillRunning(ProcessKey key);

/// <summary>
/// The host's name of a uid (Tetragon's user.name), null when it has none; called on the actors' threads at
/// each exec, fork and credential change, so thread-safe, without locks and without allocating.
/// </summary>
public delegate string? UserNameOf(uint uid);

/// <summary>How the process actors track, hold and emit processes. Immutable; validated at pipeline start.</summary>
public sealed record ProcessActorSettings
{
    /// <summary>AncestorDepth that attaches every ancestor up to init.</summary>
    public const int AncestorsUpToInit = int.MaxValue;

    /// <summary>The node part of every exec_id. Defaults to the host name.</summary>
    public string NodeName { get; init; } = Dns.GetHostName();

    /// <summary>
    /// How long an exited (or replaced) process stays after its last child released it, for late events; up to a
    /// tenth more (at most 0.5 s), so the ends of a burst are released together.
    /// </summary>
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

    /// <summary>
    /// Checks every live image this often (pid and start only), so a process whose exit record was lost
    /// does not stay live forever; null <see cref="LivenessProbe"/> turns it off (a replayed capture is not this host).
    /// </summary>
    public TimeSpan LivenessCheckInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long an image found gone waits before its exit is concluded: its real exit may still be on the
    /// way through the ring buffer, and then it wins.
    /// </summary>
    public TimeSpan LivenessConfirmDelay { get; init; } = TimeSpan.FromSeconds(2);

    public StillRunning? LivenessProbe { get; init; }

    /// <summary>
    /// Names the effective uid of processes in the host's own mount and user namespaces (Collector:UsernameMetadata
    /// unix); null: no names (the default, as Tetragon's --username-metadata=disabled).
    /// </summary>
    public UserNameOf? UserNames { get; init; }

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
        RequirePositive(LivenessCheckInterval, nameof(LivenessCheckInterval));
        RequireNonNegative(LivenessConfirmDelay, nameof(LivenessConfirmDelay));
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
