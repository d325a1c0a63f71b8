using Forkline.Export;
using Forkline.Contracts.Snapshots;

namespace Forkline.Gateway.Api;

/// <summary>
/// Checks of request values shared by both transports. Each failure is an InvalidArgument whose
/// message names the parameter, quotes the value and says what would be accepted.
/// </summary>
public static class ApiInput
{
    public const int DefaultDescendantDepth = 3;
    public const int MaxDescendantDepth = 64;
    public const int DefaultListLimit = 1000;
    // A reply of 10,000 processes is a few MB; more is paged (ListProcessesResponse.more).
    public const int MaxListLimit = 10_000;

    // Long enough for any exec_id the gateway issues, short enough to keep error lines readable.
    private const int QuotedValueLimit = 120;

    public static string ExecId(string? execId, string parameter = "exec_id")
    {
        if (string.IsNullOrWhiteSpace(execId))
            throw ApiRequestException.Invalid($"{parameter} is required: pass an exec_id as printed by `forkline ps`");
        if (!Contracts.Identity.ExecId.TryDecode(execId, out _))
            throw ApiRequestException.Invalid(
                $"{parameter} '{Quote(execId)}' is malformed: expected base64 of \"node:startKtime:pid\" as printed by `forkline ps`");
        return execId;
    }

    public static int DescendantDepth(int? depth)
    {
        var value = depth ?? DefaultDescendantDepth;
        if (value < 0)
            throw ApiRequestException.Invalid(
                $"depth {value} is negative: pass 0 for no descendants or the number of generations to return (at most {MaxDescendantDepth})");
        if (value > MaxDescendantDepth)
            throw ApiRequestException.Invalid($"depth {value} is larger than the maximum {MaxDescendantDepth}");
        return value;
    }

    public static string Host(string? host)
    {
        if (string.IsNullOrWhiteSpace(host))
            throw ApiRequestException.Invalid("host is required: pass the collector's node name");
        return host;
    }

    /// <summary>Null for "no filter"; otherwise a pattern known to compile for the linear-time engine (<see cref="BinaryPattern"/>).</summary>
    public static string? BinaryRegex(string? pattern)
    {
        try
        {
            BinaryPattern.Parse(pattern);
        }
        catch (ArgumentException error)
        {
            throw ApiRequestException.Invalid(error.Message);
        }
        return string.IsNullOrEmpty(pattern) ? null : pattern;
    }

    public static int? Pid(int? pid)
    {
        if (pid < 0) throw ApiRequestException.Invalid($"pid {pid} is negative: pass a process id (0 or more)");
        return pid;
    }

    /// <summary>0 means the default, as an unset proto3 field reads.</summary>
    public static int ListLimit(int limit)
    {
        if (limit == 0) return DefaultListLimit;
        if (limit < 0 || limit > MaxListLimit)
            throw ApiRequestException.Invalid($"limit {limit} is out of range: pass 1 to {MaxListLimit}");
        return limit;
    }

    public static void Window(DateTime? from, DateTime? to, string fromName, string toName)
    {
        if (from is { } start && to is { } end && start > end)
            throw ApiRequestException.Invalid(
                $"impossible time window: {fromName} {start:O} is after {toName} {end:O}; swap them or widen the window");
    }

    /// <summary>Null for an absent value; otherwise the time it names (see <see cref="ApiTime"/>).</summary>
    public static DateTime? Time(string? text, string parameter, DateTime nowUtc)
    {
        if (string.IsNullOrEmpty(text)) return null;
        return ApiTime.TryParse(text, nowUtc, out var utc) ? utc : throw ApiRequestException.Invalid(ApiTime.NotATime(parameter, text));
    }

    /// <summary>An event type by name: exec, exit, clone or hook.</summary>
    public static EnrichedKind EventType(string name, string parameter) => name.Trim().ToLowerInvariant() switch
    {
        "exec" => EnrichedKind.Exec,
        "exit" => EnrichedKind.Exit,
        "clone" => EnrichedKind.Clone,
        "hook" => EnrichedKind.Hook,
        _ => throw ApiRequestException.Invalid($"{parameter} '{Quote(name)}' is not an event type: use exec, exit, clone or hook"),
    };

    public static string Quote(string value) =>
        value.Length <= QuotedValueLimit ? value : string.Concat(value.AsSpan(0, QuotedValueLimit), "…");
}
