using System.Buffers;
using System.Globalization;
using System.Text;

namespace Forkline.Collector.Decoding;

/// <summary>
/// The one rule for bytes from the kernel or /proc that are not UTF-8 (paths, arguments, comm): each
/// byte of an invalid sequence becomes the four characters <c>\xNN</c> (lowercase hex), so it stays
/// visible and the original bytes can be told, and the same characters reach JSON, the API, the
/// history and the text views. Valid UTF-8 is decoded as it is. (Tetragon writes U+FFFD instead,
/// which loses the byte.)
/// </summary>
public static class ByteText
{
    public static string Decode(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return Encoding.UTF8.GetString(bytes);
        var text = new StringBuilder(bytes.Length + 8);
        Span<char> decoded = stackalloc char[2];
        while (!bytes.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(bytes, out var rune, out var consumed);
            if (status == OperationStatus.Done)
            {
                text.Append(decoded[..rune.EncodeToUtf16(decoded)]);
            }
            else
            {
                foreach (var invalid in bytes[..consumed])
                    text.Append("\\x").Append(invalid.ToString("x2", CultureInfo.InvariantCulture));
            }
            bytes = bytes[consumed..];
        }
        return text.ToString();
    }
}
