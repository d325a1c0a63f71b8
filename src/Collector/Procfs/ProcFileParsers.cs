using System.Globalization;
using System.Text;
using Forkline.Collector.Containers;
using Forkline.Collector.Decoding;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;

namespace Forkline.Collector.Procfs;

/// <summary>The fields of /proc/pid/stat the bootstrap needs (proc(5) numbering in the comments).</summary>
internal readonly record struct ProcStat(string Comm, char State, int Ppid, uint Flags, int Threads, ulong StartTicks)
{
    /// <summary>PF_KTHREAD from include/linux/sched.h.</summary>
    private const uint KernelThreadFlag = 0x00200000;

    public bool IsKernelThread => (Flags & KernelThreadFlag) != 0;

    public bool IsZombie => State == 'Z';

    /// <summary>
    /// "pid (comm) state ppid ...": comm may hold spaces and parentheses, so the fields start after
    /// the last ')'. Throws FormatException naming the bad field.
    /// </summary>
    public static ProcStat Parse(ReadOnlySpan<byte> content)
    {
        var open = content.IndexOf((byte)'(');
        var close = content.LastIndexOf((byte)')');
        if (open < 0 || close < open || close + 2 > content.Length)
            throw new FormatException($"no '(comm)' in \"{Encoding.UTF8.GetString(content)}\"");
        var comm = ByteText.Decode(content[(open + 1)..close]);
        var fields = Encoding.ASCII.GetString(content[(close + 2)..]).Split(' ');
        // fields[0] is field 3 (state), so field n is fields[n - 3].
        const int Last = 22 - 3;
        if (fields.Length <= Last)
            throw new FormatException($"{fields.Length + 2} fields, starttime is field 22");
        return new ProcStat(
            comm,
            fields[0].Length == 1 ? fields[0][0] : throw new FormatException($"state \"{fields[0]}\" is not one letter"),
            ParseField<int>(fields, 4, "ppid"),
            ParseField<uint>(fields, 9, "flags"),
            ParseField<int>(fields, 20, "num_threads"),
            ParseField<ulong>(fields, 22, "starttime"));
    }

    private static T ParseField<T>(string[] fields, int number, string name) where T : IParsable<T> =>
        T.TryParse(fields[number - 3], CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new FormatException($"field {number} ({name}) is \"{fields[number - 3]}\", not a number");
}

/// <summary>Credentials and capabilities from /proc/pid/status.</summary>
internal static class ProcStatus
{
    public static (Credentials Credentials, Capabilities Capabilities) Parse(ReadOnlySpan<byte> content)
    {
        uint[]? uids = null, gids = null;
        ulong? inheritable = null, permitted = null, effective = null;
        foreach (var line in Encoding.UTF8.GetString(content).Split('\n'))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0) continue;
            var value = line.AsSpan(colon + 1).Trim();
            switch (line[..colon])
            {
                case "Uid": uids = ParseIds(value, "Uid"); break;
                case "Gid": gids = ParseIds(value, "Gid"); break;
                case "CapInh": inheritable = ParseMask(value, "CapInh"); break;
                case "CapPrm": permitted = ParseMask(value, "CapPrm"); break;
                case "CapEff": effective = ParseMask(value, "CapEff"); break;
            }
        }
        if (uids is null || gids is null || inheritable is null || permitted is null || effective is null)
            throw new FormatException("one of the Uid:, Gid:, CapInh:, CapPrm:, CapEff: lines is missing");
        // Uid:/Gid: list real, effective, saved set, filesystem.
        return (new Credentials(uids[0], gids[0], uids[1], gids[1], uids[2], gids[2], uids[3], gids[3]),
                new Capabilities(permitted.Value, effective.Value, inheritable.Value));
    }

    private static uint[] ParseIds(ReadOnlySpan<char> value, string name)
    {
        var ids = new uint[4];
        var count = 0;
        foreach (var range in value.SplitAny(" \t"))
        {
            var part = value[range];
            if (part.IsEmpty) continue;
            if (count == ids.Length || !uint.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out ids[count]))
                throw new FormatException($"{name}: \"{value}\" is not four ids");
            count++;
        }
        return count == ids.Length ? ids : throw new FormatException($"{name}: \"{value}\" is not four ids");
    }

    private static ulong ParseMask(ReadOnlySpan<char> value, string name) =>
        ulong.TryParse(value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var mask)
            ? mask
            : throw new FormatException($"{name}: \"{value}\" is not a hex mask");
}

/// <summary>Small one-value /proc files.</summary>
internal static class ProcValues
{
    /// <summary>"mnt:[4026531841]" -> 4026531841.</summary>
    public static uint ParseNamespaceLink(ReadOnlySpan<byte> link)
    {
        var open = link.IndexOf((byte)'[');
        var close = link.LastIndexOf((byte)']');
        return open >= 0 && close > open
               && uint.TryParse(link[(open + 1)..close], NumberStyles.None, CultureInfo.InvariantCulture, out var inode)
            ? inode
            : throw new FormatException($"namespace link \"{Encoding.UTF8.GetString(link)}\" is not \"type:[inode]\"");
    }

    /// <summary>/proc/pid/loginuid: decimal; 4294967295 when unset.</summary>
    public static uint ParseLoginUid(ReadOnlySpan<byte> content) =>
        uint.TryParse(content.Trim((byte)'\n'), NumberStyles.None, CultureInfo.InvariantCulture, out var auid)
            ? auid
            : throw new FormatException($"loginuid \"{Encoding.UTF8.GetString(content)}\" is not a number");

    /// <summary>The cgroup v2 path from /proc/pid/cgroup ("0::/system.slice/x.service"), or null on a v1-only host.</summary>
    public static string? UnifiedCgroupPath(ReadOnlySpan<byte> content)
    {
        foreach (var line in Encoding.UTF8.GetString(content).Split('\n'))
        {
            if (line.StartsWith("0::", StringComparison.Ordinal)) return line[3..];
        }
        return null;
    }

    /// <summary>
    /// The container of a process from /proc/pid/cgroup, looked up like the BPF side does: in the cgroup v2
    /// path first, then in the v1 memory controller's ("4:memory:/docker/&lt;id&gt;").
    /// </summary>
    public static ContainerIdentity? Container(ReadOnlySpan<byte> content)
    {
        string? memory = null;
        foreach (var line in Encoding.UTF8.GetString(content).Split('\n'))
        {
            var fields = line.Split(':', 3);
            if (fields.Length != 3) continue;
            if (fields[1].Length == 0 && ContainerCgroupNames.ParsePath(fields[2]) is { } unified) return unified;
            if (fields[1].Split(',').Contains("memory")) memory = fields[2];
        }
        return memory is null ? null : ContainerCgroupNames.ParsePath(memory);
    }

    /// <summary>The pid in the process's own pid namespace: the last of /proc/pid/status "NSpid:" (0 when the line is missing).</summary>
    public static int NamespacePid(ReadOnlySpan<byte> status)
    {
        foreach (var line in Encoding.UTF8.GetString(status).Split('\n'))
        {
            if (!line.StartsWith("NSpid:", StringComparison.Ordinal)) continue;
            var last = line.AsSpan("NSpid:".Length).Trim();
            last = last[(last.LastIndexOfAny(' ', '\t') + 1)..];
            return int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                ? pid
                : throw new FormatException($"NSpid: \"{line}\" does not end in a pid");
        }
        return 0;
    }
}
