using Forkline.Client;
using Forkline.Contracts.Api;
using Forkline.Export;
using Forkline.Export.Tests;

namespace Forkline.Configuration.Tests;

/// <summary>
/// A text view cuts a long command at <see cref="ProcessText.CommandWidth"/> characters; the cut must fall
/// between escapes, so what is shown still reads back (<see cref="CEscapes"/>) to the start of the command.
/// </summary>
public sealed class CommandCutTests
{
    private const string Binary = "/bin/true";

    // Each escape form a command can hold, with the character it stands for: the terminal rule's two-character
    // escapes, \xNN for C0, C1 and DEL, \uNNNN for a bidirectional override, and \" inside a quoted argument.
    public static TheoryData<string, string> EscapeForms => new()
    {
        { "\\", "\\\\" },
        { "\"", "\\\"" },
        { "\n", "\\n" },
        { "\r", "\\r" },
        { "\t", "\\t" },
        { "\u001b", "\\x1b" },
        { "\u009b", "\\x9b" },
        { "\u007f", "\\x7f" },
        { "\u202e", "\\u202e" },
    };

    [Theory]
    [MemberData(nameof(EscapeForms))]
    public void A_cut_that_would_fall_inside_an_escape_falls_before_it(string character, string escape)
    {
        var cutAt = ProcessText.CommandWidth - 1;
        for (var into = 1; into < escape.Length; into++)
        {
            // The escape starts `into` characters before the cut, so a cut at the width splits it.
            var start = cutAt - into;
            var prefix = $"{Binary} \"";
            var argument = new string('a', start - prefix.Length) + character + new string('b', 50);
            var full = $"{Binary} {ArgumentLine.Format([Binary, argument])}";
            Assert.Equal(start, full.IndexOf(escape, prefix.Length, StringComparison.Ordinal));

            var shown = ProcessText.Command(Process(argument));

            Assert.Equal(string.Concat(full.AsSpan(0, start), "…"), shown);
            Assert.StartsWith(CEscapes.Unescape(shown[..^1]), CEscapes.Unescape(full), StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(EscapeForms))]
    public void An_escape_that_ends_at_the_cut_is_kept_whole(string character, string escape)
    {
        var start = ProcessText.CommandWidth - 1 - escape.Length;
        var prefix = $"{Binary} \"";
        var argument = new string('a', start - prefix.Length) + character + new string('b', 50);

        var shown = ProcessText.Command(Process(argument));

        Assert.EndsWith(escape + "…", shown, StringComparison.Ordinal);
        Assert.Equal(ProcessText.CommandWidth, shown.Length);
    }

    [Fact]
    public void A_cut_never_splits_a_surrogate_pair()
    {
        var start = ProcessText.CommandWidth - 2;
        var argument = new string('a', start - (Binary.Length + 1)) + "😀" + new string('b', 50);

        var shown = ProcessText.Command(Process(argument));

        Assert.Equal($"{Binary} {new string('a', start - (Binary.Length + 1))}…", shown);
    }

    private static Process Process(string argument) => new()
    {
        ExecId = "Y3V0OjE=",
        Host = "node-a",
        Pid = 4242,
        Binary = Binary,
        Arguments = ArgumentLine.Format([Binary, argument]),
        Live = true,
    };
}
