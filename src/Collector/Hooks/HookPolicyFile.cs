using System.Text.Json;
using System.Text.Json.Serialization;
using Forkline.Contracts.Events;

namespace Forkline.Collector.Hooks;

/// <summary>
/// The JSON form of a hook policy:
/// { "hooks": [ { "name": "connect", "kind": "syscall", "syscall": "connect" or 42, "phase": "enter" },
///              { "name": "commit_creds", "kind": "kprobe", "symbol": "commit_creds", "phase": "enter" } ] }
/// kind defaults to "syscall", phase to "enter", name to the syscall or symbol.
/// </summary>
internal static class HookPolicyFile
{
    public static List<HookSpec> Read(string path)
    {
        HookPolicyDocument? document;
        try
        {
            using var stream = File.OpenRead(path);
            document = JsonSerializer.Deserialize(stream, HookPolicyJsonContext.Default.HookPolicyDocument);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HookPolicyException($"cannot read hook policy {path}: {e.Message} — pass an existing file with --hooks");
        }
        catch (JsonException e)
        {
            throw new HookPolicyException($"hook policy {path} is not valid: {e.Message} — see deploy/config/hooks.json for the format");
        }

        var specs = new List<HookSpec>();
        var entries = document?.Hooks ?? [];
        for (var index = 0; index < entries.Count; index++)
            specs.Add(ToSpec(entries[index], $"hook policy {path}, entry {index}"));
        return specs;
    }

    private static HookSpec ToSpec(HookEntryDocument entry, string where)
    {
        var phase = entry.Phase switch
        {
            null or "enter" => HookPhase.Enter,
            "exit" => HookPhase.Exit,
            var other => throw new HookPolicyException($"{where}: phase '{other}' — use \"enter\" or \"exit\""),
        };
        switch (entry.Kind)
        {
            case null or "syscall":
                return SyscallSpec(entry, phase, where);
            case "kprobe":
                if (string.IsNullOrEmpty(entry.Symbol))
                    throw new HookPolicyException($"{where}: a kprobe hook needs \"symbol\" (the kernel function to probe)");
                return HookSpec.Kprobe(entry.Symbol, phase, entry.Name);
            default:
                throw new HookPolicyException($"{where}: kind '{entry.Kind}' — use \"syscall\" or \"kprobe\"");
        }
    }

    private static HookSpec SyscallSpec(HookEntryDocument entry, HookPhase phase, string where)
    {
        switch (entry.Syscall.ValueKind)
        {
            case JsonValueKind.String:
                var syscallName = entry.Syscall.GetString()!;
                try
                {
                    return HookSpec.Syscall(syscallName, phase, entry.Name);
                }
                catch (HookPolicyException e)
                {
                    throw new HookPolicyException($"{where} ('{entry.Name ?? syscallName}'): {e.Message}");
                }
            case JsonValueKind.Number when entry.Syscall.TryGetInt32(out var number):
                return new HookSpec(entry.Name ?? $"syscall_{number}", HookKind.Syscall, phase, number, null);
            default:
                throw new HookPolicyException(
                    $"{where}{(entry.Name is null ? "" : $" ('{entry.Name}')")}: \"syscall\" must be a syscall name or number, got {entry.Syscall.ValueKind}");
        }
    }
}

internal sealed class HookPolicyDocument
{
    public List<HookEntryDocument>? Hooks { get; set; }
}

internal sealed class HookEntryDocument
{
    public string? Name { get; set; }
    public string? Kind { get; set; }
    public JsonElement Syscall { get; set; }
    public string? Phase { get; set; }
    public string? Symbol { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(HookPolicyDocument))]
internal sealed partial class HookPolicyJsonContext : JsonSerializerContext;
