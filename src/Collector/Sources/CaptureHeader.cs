using System.Text;
using Forkline.Contracts.Events;

namespace Forkline.Collector.Sources;

/// <summary>
/// The start of a capture file: what a replay needs to decode and place its records.
/// File layout (little-endian): "FKLCAP01", u16 format version, i64 wall-minus-boot ns, node name,
/// u16 hook count, per hook {i32 id, name, u8 kind, u8 changes-credentials}; strings are u16 length +
/// UTF-8. Then records, each a u32 length, a u32 CRC-32C of the length's four bytes and the record's
/// (format 2; format 1 has no checksum), and the raw ring-buffer bytes (bpf/forkline.h layouts).
/// </summary>
public sealed record CaptureHeader(string NodeName, long WallMinusBootNs, IReadOnlyList<HookDescriptor> Hooks)
{
    /// <summary>The format this forkline writes; it reads this one and <see cref="UncheckedFormatVersion"/>.</summary>
    public const ushort FormatVersion = 2;

    /// <summary>Records without a checksum (captures of forkline before format 2): read as they are.</summary>
    public const ushort UncheckedFormatVersion = 1;

    /// <summary>Bytes before each record's own: its length, then (format 2) its checksum.</summary>
    public const int RecordPrefixBytes = 2 * sizeof(uint);

    /// <summary>The format of the file this header was read from; a capture is always written in <see cref="FormatVersion"/>.</summary>
    public ushort Format { get; init; } = FormatVersion;

    /// <summary>Bound on one record's length prefix: anything larger is a corrupt file, not a record.</summary>
    public const int MaxRecordLength = 1 << 24;

    private static ReadOnlySpan<byte> Magic => "FKLCAP01"u8;

    internal void WriteTo(Stream output)
    {
        using var writer = new BinaryWriter(output, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(FormatVersion);
        writer.Write(WallMinusBootNs);
        WriteString(writer, NodeName);
        writer.Write(checked((ushort)Hooks.Count));
        foreach (var hook in Hooks)
        {
            writer.Write(hook.Id);
            WriteString(writer, hook.Name);
            writer.Write((byte)hook.Kind);
            writer.Write(hook.ChangesCredentials);
        }
    }

    /// <summary>Reads and checks a header; InvalidDataException says what is wrong with which file.</summary>
    internal static CaptureHeader ReadFrom(Stream input, string source)
    {
        try
        {
            using var reader = new BinaryReader(input, Encoding.UTF8, leaveOpen: true);
            Span<byte> magic = stackalloc byte[Magic.Length];
            reader.BaseStream.ReadExactly(magic);
            if (!magic.SequenceEqual(Magic))
                throw new InvalidDataException($"{source} is not a Forkline capture: it starts with \"{Encoding.ASCII.GetString(magic)}\", not \"FKLCAP01\"");
            var version = reader.ReadUInt16();
            if (version is not (FormatVersion or UncheckedFormatVersion))
                throw new InvalidDataException($"{source} is capture format {version}; this forkline reads formats {UncheckedFormatVersion} and {FormatVersion} — replay it with the forkline version that recorded it");
            var wallMinusBootNs = reader.ReadInt64();
            var node = ReadString(reader);
            var hooks = new HookDescriptor[reader.ReadUInt16()];
            for (var i = 0; i < hooks.Length; i++)
            {
                hooks[i] = new HookDescriptor(reader.ReadInt32(), ReadString(reader), (HookKind)reader.ReadByte(), reader.ReadBoolean());
                if (hooks[i].Id != i)
                    throw new InvalidDataException($"{source}: hook #{i} ('{hooks[i].Name}') has id {hooks[i].Id}; the header lists hooks in id order, so the file is corrupt");
            }
            return new CaptureHeader(node, wallMinusBootNs, hooks) { Format = version };
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{source} ends inside its capture header: the recording was cut before any record was written");
        }
    }

    private static void WriteString(BinaryWriter writer, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        writer.Write(checked((ushort)bytes.Length));
        writer.Write(bytes);
    }

    private static string ReadString(BinaryReader reader)
    {
        var length = reader.ReadUInt16();
        var bytes = reader.ReadBytes(length);
        return bytes.Length == length ? Encoding.UTF8.GetString(bytes) : throw new EndOfStreamException();
    }
}
