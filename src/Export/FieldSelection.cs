using System.Collections.Frozen;

namespace Forkline.Export;

/// <summary>The fields of a Tetragon process object, as bits of a mask.</summary>
[Flags]
public enum ProcessFields : uint
{
    None = 0,
    ExecId = 1 << 0,
    Pid = 1 << 1,
    Uid = 1 << 2,
    Cwd = 1 << 3,
    Binary = 1 << 4,
    Arguments = 1 << 5,
    Flags = 1 << 6,
    StartTime = 1 << 7,
    Auid = 1 << 8,
    ParentExecId = 1 << 9,
    Cap = 1 << 10,
    Ns = 1 << 11,
    Tid = 1 << 12,
    ProcessCredentials = 1 << 13,
    Pod = 1 << 14,
    Docker = 1 << 15,
    BinaryProperties = 1 << 16,
    InInitTree = 1 << 17,
    User = 1 << 18,
    All = (1 << 19) - 1,
}

public enum FieldSelectionMode
{
    /// <summary>Only the listed fields are written.</summary>
    Include,

    /// <summary>Every field but the listed ones is written.</summary>
    Exclude,
}

/// <summary>
/// Which process fields the JSON export writes, like Tetragon's field filters. A field is a process
/// field name ("binary"), a role ("process", "parent", "ancestors": the whole object), or both
/// ("parent.exec_id"). A bare field name applies to all three roles. Event fields (node_name, time,
/// status, signal, hook fields) are always written.
/// Include "process.binary" writes only the process's binary (no parent, no ancestors); exclude
/// "ancestors" drops the ancestor list.
/// </summary>
public sealed record FieldSelection(FieldSelectionMode Mode, IReadOnlyList<string> Fields)
{
    public static FieldSelection Include(params string[] fields) => new(FieldSelectionMode.Include, fields);

    public static FieldSelection Exclude(params string[] fields) => new(FieldSelectionMode.Exclude, fields);
}

/// <summary>A <see cref="FieldSelection"/> resolved to one mask per process role.</summary>
public sealed class FieldMask
{
    private static readonly FrozenDictionary<string, ProcessFields> FieldsByName = new Dictionary<string, ProcessFields>
    {
        ["exec_id"] = ProcessFields.ExecId,
        ["pid"] = ProcessFields.Pid,
        ["uid"] = ProcessFields.Uid,
        ["cwd"] = ProcessFields.Cwd,
        ["binary"] = ProcessFields.Binary,
        ["arguments"] = ProcessFields.Arguments,
        ["flags"] = ProcessFields.Flags,
        ["start_time"] = ProcessFields.StartTime,
        ["auid"] = ProcessFields.Auid,
        ["parent_exec_id"] = ProcessFields.ParentExecId,
        ["cap"] = ProcessFields.Cap,
        ["ns"] = ProcessFields.Ns,
        ["tid"] = ProcessFields.Tid,
        ["process_credentials"] = ProcessFields.ProcessCredentials,
        ["pod"] = ProcessFields.Pod,
        ["docker"] = ProcessFields.Docker,
        ["binary_properties"] = ProcessFields.BinaryProperties,
        ["in_init_tree"] = ProcessFields.InInitTree,
        ["user"] = ProcessFields.User,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly string[] Roles = ["process", "parent", "ancestors"];

    public static readonly FieldMask All = new(ProcessFields.All, ProcessFields.All, ProcessFields.All);

    private FieldMask(ProcessFields process, ProcessFields parent, ProcessFields ancestors)
    {
        Process = process;
        Parent = parent;
        Ancestors = ancestors;
    }

    /// <summary>Fields of "process"; None leaves the object out.</summary>
    public ProcessFields Process { get; }

    /// <summary>Fields of "parent"; None leaves the object out.</summary>
    public ProcessFields Parent { get; }

    /// <summary>Fields of each of "ancestors"; None leaves the list out.</summary>
    public ProcessFields Ancestors { get; }

    /// <exception cref="ArgumentException">A field that is not a process field or role; the message lists the known ones.</exception>
    public static FieldMask From(FieldSelection? selection)
    {
        if (selection is null) return All;
        var include = selection.Mode == FieldSelectionMode.Include;
        Span<ProcessFields> masks = stackalloc ProcessFields[Roles.Length];
        masks.Fill(include ? ProcessFields.None : ProcessFields.All);

        foreach (var entry in selection.Fields)
        {
            var (roles, fields) = Parse(entry.Trim());
            for (var role = 0; role < Roles.Length; role++)
            {
                if ((roles & (1 << role)) == 0) continue;
                masks[role] = include ? masks[role] | fields : masks[role] & ~fields;
            }
        }
        return new FieldMask(masks[0], masks[1], masks[2]);
    }

    private static (int Roles, ProcessFields Fields) Parse(string entry)
    {
        const int allRoles = 0b111;
        var dot = entry.IndexOf('.');
        var roleName = dot < 0 ? entry : entry[..dot];
        var role = Array.IndexOf(Roles, roleName);
        if (dot < 0)
        {
            if (role >= 0) return (1 << role, ProcessFields.All);
            return (allRoles, FieldNamed(entry, entry));
        }
        if (role < 0)
            throw new ArgumentException(
                $"field filter '{entry}': '{roleName}' is not a process role — prefix a field with one of {string.Join(", ", Roles)}, or give the field alone");
        return (1 << role, FieldNamed(entry[(dot + 1)..], entry));
    }

    private static ProcessFields FieldNamed(string name, string entry) =>
        FieldsByName.TryGetValue(name, out var field)
            ? field
            : throw new ArgumentException(
                $"field filter '{entry}': unknown field '{name}' — use one of {string.Join(", ", FieldsByName.Keys.Order(StringComparer.Ordinal))}, optionally prefixed with process., parent. or ancestors.");
}
