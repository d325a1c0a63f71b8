using Forkline.Export;

namespace Forkline.Export.Tests;

public sealed class TerminalTextTests
{
    [Theory]
    [InlineData("/usr/bin/sleep", "/usr/bin/sleep")]
    [InlineData("a\nb", "a\\nb")]
    [InlineData("a\r\tb", "a\\r\\tb")]
    [InlineData("\u001b[2J", "\\x1b[2J")]
    [InlineData("\u001b]0;title\u0007", "\\x1b]0;title\\x07")]
    [InlineData("\u009b31m\u007f", "\\x9b31m\\x7f")]
    [InlineData("doc\u202egpj.exe", "doc\\u202egpj.exe")]
    [InlineData("C:\\x1b", "C:\\\\x1b")]
    [InlineData("ü日本", "ü日本")]
    public void Controls_bidi_overrides_and_backslashes_are_escaped_and_the_rest_kept(string text, string expected)
    {
        Assert.Equal(expected, TerminalText.Escape(text));
    }

    [Theory]
    [InlineData("x\n15:00:00.000 exec pid=1 /bin/fake")]
    [InlineData("\\x1b is not \u001b")]
    [InlineData("\\\\\n\\n\u0000\u0085\u2066")]
    [InlineData("bytes \\xff\\xfe were not UTF-8")]
    public void Escaped_text_reads_back_to_the_original(string text)
    {
        var escaped = TerminalText.Escape(text);

        Assert.DoesNotContain(escaped, character => char.IsControl(character));
        Assert.Equal(text, CEscapes.Unescape(escaped));
    }

    [Fact]
    public void An_argument_line_keeps_its_escapes_and_only_raw_controls_are_escaped()
    {
        Assert.Equal("-c \"a\\\\\"b\"", TerminalText.EscapeArgumentLine("-c \"a\\\\\"b\""));
        Assert.Equal("old row\\nforged", TerminalText.EscapeArgumentLine("old row\nforged"));
    }
}
