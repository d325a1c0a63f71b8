using Forkline.Collector.Decoding;

namespace Forkline.Collector.Tests;

public sealed class ByteTextTests
{
    [Theory]
    [InlineData(new byte[] { 0x2f, 0x62, 0x69, 0x6e }, "/bin")]
    [InlineData(new byte[] { 0xc3, 0xbc, 0xe6, 0x97, 0xa5 }, "ü日")]
    [InlineData(new byte[] { 0x61, 0xff, 0x62 }, "a\\xffb")]
    [InlineData(new byte[] { 0xe9, 0x74, 0xe9 }, "\\xe9t\\xe9")] // Latin-1 "été" is not UTF-8
    [InlineData(new byte[] { 0x61, 0xe2, 0x82 }, "a\\xe2\\x82")] // a sequence cut at the end (argument limit)
    [InlineData(new byte[] { 0xed, 0xa0, 0x80 }, "\\xed\\xa0\\x80")] // an encoded surrogate is not UTF-8 either
    [InlineData(new byte[] { 0x0a, 0x1b }, "\n\u001b")] // controls are valid UTF-8: the views escape them, not the decoder
    public void Valid_UTF8_is_decoded_and_each_byte_of_an_invalid_sequence_becomes_backslash_x_and_two_hex_digits(byte[] bytes, string expected)
    {
        Assert.Equal(expected, ByteText.Decode(bytes));
    }

    [Fact]
    public void Every_single_byte_that_is_not_UTF8_on_its_own_is_written_as_its_escape()
    {
        for (var value = 0x80; value <= 0xff; value++)
            Assert.Equal($"\\x{value:x2}", ByteText.Decode([(byte)value]));
    }
}
