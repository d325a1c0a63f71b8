using System.Collections.Immutable;
using Forkline.Export;

namespace Forkline.Export.Tests;

public sealed class ArgumentLineTests
{
    [Theory]
    [InlineData(new[] { "sleep", "0.2" }, "0.2")]
    [InlineData(new[] { "sh", "-c", "sleep 0.2" }, "-c \"sleep 0.2\"")]
    [InlineData(new[] { "sh", "-c", "for i in \"$@\"; do echo $i; done", "sh", "a b" }, "-c \"for i in \\\"$@\\\"; do echo $i; done\" sh \"a b\"")]
    [InlineData(new[] { "printf", "", "x" }, "\"\" x")]
    [InlineData(new[] { "sed", "s/\\n//" }, "\"s/\\\\n//\"")]
    [InlineData(new[] { "true", "x\n15:00:00.000 exec pid=1 /bin/fake" }, "\"x\\n15:00:00.000 exec pid=1 /bin/fake\"")]
    [InlineData(new[] { "cat", "ü日本" }, "ü日本")]
    public void Arguments_after_argv0_are_bare_when_plain_and_quoted_with_escapes_otherwise(string[] argv, string expected)
    {
        Assert.Equal(expected, ArgumentLine.Format([.. argv]));
    }

    [Fact]
    public void No_arguments_after_argv0_make_an_empty_line()
    {
        Assert.Equal("", ArgumentLine.Format(["sleep"]));
        Assert.Equal("", ArgumentLine.Format([]));
    }

    public static TheoryData<string[]> HostileArgv => new()
    {
        new[] { "x", "", "" },
        new[] { "x", "\"", "\"\"", "\\", "\\\"" },
        new[] { "x", " ", "a b", " lead", "trail " },
        new[] { "x", "a\" \"b", "\"quoted\"" },
        new[] { "x", "\u001b[2J", "\u001b]0;title\u0007", "\r\n", "\u202e" },
        new[] { "x", "bytes \\xff were not UTF-8", "\\x1b", "'single'" },
    };

    [Theory]
    [MemberData(nameof(HostileArgv))]
    public void The_line_splits_back_into_exactly_the_original_arguments(string[] argv)
    {
        var line = ArgumentLine.Format([.. argv]);

        Assert.DoesNotContain(line, character => char.IsControl(character));
        Assert.Equal(argv[1..], CEscapes.SplitArguments(line));
    }

    [Fact]
    public void The_binary_and_its_arguments_quote_the_same_way_so_a_path_with_spaces_is_not_taken_for_arguments()
    {
        var command = new ArgumentLine().Command("/tmp/evil -c \"x\"", ImmutableArray.Create("evil", "y")).ToString();

        Assert.Equal("\"/tmp/evil -c \\\"x\\\"\" y", command);
        Assert.Equal(["/tmp/evil -c \"x\"", "y"], CEscapes.SplitArguments(command));
        Assert.Equal("\"\"", ArgumentLine.Quote(""));
    }
}
