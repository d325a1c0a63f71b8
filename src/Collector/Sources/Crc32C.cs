using System.Buffers.Binary;
using System.Numerics;

namespace Forkline.Collector.Sources;

/// <summary>CRC-32C (Castagnoli), as iSCSI and ext4 use it: the processor's crc32 instruction, eight bytes at a time.</summary>
internal static class Crc32C
{
    /// <summary>The checksum of <paramref name="first"/> followed by <paramref name="second"/>.</summary>
    public static uint Of(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second) => ~Append(Append(uint.MaxValue, first), second);

    private static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= sizeof(ulong))
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }
        foreach (var b in data) crc = BitOperations.Crc32C(crc, b);
        return crc;
    }
}
