using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Forkline.Contracts.Identity;

namespace Forkline.Export;

/// <summary>
/// Writes <see cref="ExecId.Encode"/>'s text (base64 of "node:startKtime:pid") straight into the JSON
/// writer: a rendered event names two exec_ids per process object, and ExecId.Encode allocates three
/// objects for each. The tests pin the output to ExecId.Encode byte for byte.
/// </summary>
internal static class ExecIdUtf8
{
    private const int StackLimit = 512;
    private const int NumbersAndColonsMaxBytes = 1 + 20 + 1 + 11;

    public static void Write(Utf8JsonWriter json, JsonEncodedText name, in ExecId id)
    {
        var node = id.Node ?? string.Empty;
        var plainMax = Encoding.UTF8.GetMaxByteCount(node.Length) + NumbersAndColonsMaxBytes;
        var bufferLength = Base64.GetMaxEncodedToUtf8Length(plainMax);
        byte[]? rented = null;
        Span<byte> buffer = bufferLength <= StackLimit
            ? stackalloc byte[StackLimit]
            : rented = ArrayPool<byte>.Shared.Rent(bufferLength);
        try
        {
            var plain = Encoding.UTF8.GetBytes(node, buffer);
            buffer[plain++] = (byte)':';
            id.StartKtime.TryFormat(buffer[plain..], out var written, default, System.Globalization.CultureInfo.InvariantCulture);
            plain += written;
            buffer[plain++] = (byte)':';
            id.Pid.TryFormat(buffer[plain..], out written, default, System.Globalization.CultureInfo.InvariantCulture);
            plain += written;
            Base64.EncodeToUtf8InPlace(buffer, plain, out var encoded);
            json.WriteString(name, buffer[..encoded]);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
