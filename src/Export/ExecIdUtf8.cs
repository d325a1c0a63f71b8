using System.Buffers;
using System.Text.Json;
using Forkline.Contracts.Identity;

namespace Forkline.Export;

/// <summary>
/// Writes <see cref="ExecId.Encode"/>'s text straight into the JSON writer: a rendered event names two exec_ids per
/// process object, and a string for each would be two allocations per process object.
/// </summary>
internal static class ExecIdUtf8
{
    public static void Write(Utf8JsonWriter json, JsonEncodedText name, in ExecId id)
    {
        var length = id.MaxEncodedUtf8Length;
        byte[]? rented = null;
        Span<byte> buffer = length <= ExecId.EncodeStackLimit
            ? stackalloc byte[ExecId.EncodeStackLimit]
            : rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            json.WriteString(name, buffer[..id.WriteEncodedUtf8(buffer)]);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
