using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Forkline.Contracts.Identity;

/// <summary>
/// Fleet-wide identity of one process image: node name, start ktime and pid.
/// Encoded as Tetragon does, so existing consumers can decode it: base64("node:startKtime:pid").
/// </summary>
public readonly record struct ExecId(string Node, ulong StartKtime, int Pid)
{
    public ProcessKey Key => new(Pid, StartKtime);

    public static ExecId For(string node, ProcessKey key) => new(node, key.StartKtime, key.Pid);

    public string Encode()
    {
        var plain = string.Create(CultureInfo.InvariantCulture, $"{Node}:{StartKtime}:{Pid}");
        return Convert.ToBase64String(Encoding.UTF8.GetBytes(plain));
    }

    public override string ToString() => Encode();

    /// <summary>Decodes an encoded exec_id; the node name may itself contain ':'.</summary>
    public static bool TryDecode(string? encoded, out ExecId execId)
    {
        execId = default;
        if (string.IsNullOrEmpty(encoded) || encoded.Length > 4096) return false;
        var bytes = new byte[Base64.GetMaxDecodedFromUtf8Length(encoded.Length)];
        if (!Convert.TryFromBase64String(encoded, bytes, out var written)) return false;
        var plain = Encoding.UTF8.GetString(bytes, 0, written);
        var lastColon = plain.LastIndexOf(':');
        if (lastColon <= 0) return false;
        var middleColon = plain.LastIndexOf(':', lastColon - 1);
        if (middleColon <= 0) return false;
        if (!int.TryParse(plain.AsSpan(lastColon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) return false;
        if (!ulong.TryParse(plain.AsSpan(middleColon + 1, lastColon - middleColon - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var start)) return false;
        execId = new ExecId(plain[..middleColon], start, pid);
        return true;
    }

    public static ExecId Decode(string encoded) =>
        TryDecode(encoded, out var id)
            ? id
            : throw new FormatException($"'{encoded}' is not an exec_id (base64 of \"node:startKtime:pid\")");
}
