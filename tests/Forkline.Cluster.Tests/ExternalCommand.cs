using System.Diagnostics;

namespace Forkline.Cluster.Tests;

/// <summary>What a finished command printed and how it ended.</summary>
public sealed record CommandResult(string Command, int ExitCode, string Output, string Errors)
{
    public override string ToString() => $"{Command} exited {ExitCode}\n--- stdout ---\n{Output}\n--- stderr ---\n{Errors}";
}

/// <summary>Runs a program to its end and collects its output, for tests that drive real command lines.</summary>
public static class ExternalCommand
{
    public static async Task<CommandResult> RunAsync(string file, IReadOnlyList<string> arguments, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        var command = $"{file} {string.Join(' ', arguments)}";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {command}");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{command} did not finish within {timeout.TotalSeconds} s");
        }
        return new CommandResult(command, process.ExitCode, await output, await errors);
    }
}
