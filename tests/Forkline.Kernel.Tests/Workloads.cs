using System.Diagnostics;

namespace Forkline.Kernel.Tests;

/// <summary>Compiles the C workloads under Workloads/ with gcc, once per test run, and starts them.</summary>
internal static class Workloads
{
    private static readonly string BuildDirectory = Directory.CreateTempSubdirectory("forkline-kernel-workloads-").FullName;
    private static readonly Dictionary<string, string> Built = [];

    public static string Path(string name)
    {
        lock (Built)
        {
            if (Built.TryGetValue(name, out var built)) return built;
            var source = System.IO.Path.Combine(AppContext.BaseDirectory, "Workloads", name + ".c");
            var binary = System.IO.Path.Combine(BuildDirectory, name);
            var (exitCode, output) = RunToEnd("gcc", "-O1", "-Wall", "-Wextra", "-Werror", "-pthread", "-o", binary, source);
            if (exitCode != 0)
                throw new InvalidOperationException($"gcc failed ({exitCode}) for {source}: {output} — install gcc (`dotnet pwsh ./build.ps1 deps`)");
            Built[name] = binary;
            return binary;
        }
    }

    public static Process Start(string fileName, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        return Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
    }

    public static async Task<string> RunToExitAsync(Process process, int expectedExitCode)
    {
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == expectedExitCode,
            $"{process.StartInfo.FileName} exited with {process.ExitCode}, expected {expectedExitCode}; stderr: {await errors}");
        return await output;
    }

    private static (int ExitCode, string Output) RunToEnd(string fileName, params string[] arguments)
    {
        using var process = Start(fileName, arguments);
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result + errors);
    }
}
