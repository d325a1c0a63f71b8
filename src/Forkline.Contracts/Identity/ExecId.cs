using System.Buffers;
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

    private const int NumbersAndColonsMaxBytes = 1 + 20 + 1 + 11;

    /// <summary>What an id whose <see cref="MaxEncodedUtf8Length"/> is at most this takes on the stack to be encoded.</summary>
    public const int EncodeStackLimit = 512;

    /// <summary>The room <see cref="WriteEncodedUtf8"/> needs: the encoded text, and the plain text it is encoded from in place.</summary>
    public int MaxEncodedUtf8Length =>
        Base64.GetMaxEncodedToUtf8Length(Encoding.UTF8.GetMaxByteCount((Node ?? string.Empty).Length) + NumbersAndColonsMaxBytes);

    /// <summary>
    /// Writes <see cref="Encode"/>'s text as UTF-8 (ASCII) into <paramref name="destination"/>, at least
    /// <see cref="MaxEncodedUtf8Length"/> bytes long, and returns its length: allocates nothing (the JSON export writes
    /// two exec_ids per process object straight from it).
    /// </summary>
    public int WriteEncodedUtf8(Span<byte> destination)
    {
        var plain = Encoding.UTF8.GetBytes(Node ?? string.Empty, destination);
        destination[plain++] = (byte)':';
        StartKtime.TryFormat(destination[plain..], out var written, default, CultureInfo.InvariantCulture);
        plain += written;
        destination[plain++] = (byte)':';
        Pid.TryFormat(destination[plain..], out written, default, CultureInfo.InvariantCulture);
        plain += written;
        Base64.EncodeToUtf8InPlace(destination, plain, out var encoded);
        return encoded;
    }

    public string Encode()
    {
        var length = MaxEncodedUtf8Length;
        byte[]? rented = null;
        Span<byte> buffer = length <= EncodeStackLimit ? stackalloc byte[EncodeStackLimit] : rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            return Encoding.ASCII.GetString(buffer[..WriteEncodedUtf8(buffer)]);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
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
