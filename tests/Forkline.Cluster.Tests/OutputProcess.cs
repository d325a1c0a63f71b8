using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Forkline.Cluster.Tests;

/// <summary>A running command whose stdout and stderr lines are kept apart as they come.</summary>
internal sealed class OutputProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _errors = new();

    private OutputProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, line) => { if (line.Data is not null) _output.Enqueue(line.Data); };
        _process.ErrorDataReceived += (_, line) => { if (line.Data is not null) _errors.Enqueue(line.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public IReadOnlyCollection<string> OutputLines => _output;

    public string ErrorText => string.Join('\n', _errors);

    public int Id => _process.Id;

    public static OutputProcess Start(string file, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>()) start.Environment[name] = value;
        return new OutputProcess(Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}"));
    }

    public async Task<Match> WaitForErrorLineAsync(Regex pattern, TimeSpan within)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < within)
        {
            foreach (var line in _errors)
                if (pattern.Match(line) is { Success: true } match) return match;
            if (_process.HasExited) break;
            await Task.Delay(100);
        }
        throw new TimeoutException($"{_process.StartInfo.FileName} printed no line matching {pattern} (exited: {_process.HasExited}); stderr:\n{ErrorText}");
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Waits for a command that ends on its own, and for its last stdout and stderr lines; its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan within)
    {
        await _process.WaitForExitAsync().WaitAsync(within);
        // Without a timeout this also waits until the last stdout and stderr lines were read.
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>SIGINT, as Ctrl-C: the command stops in order and flushes what it prints.</summary>
    public async Task InterruptAsync(TimeSpan within)
    {
        if (_process.HasExited) return;
        await ExternalCommand.RunAsync("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], within);
        using var deadline = new CancellationTokenSource(within);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        // Without a timeout this also waits until the last stdout and stderr lines were read.
        _process.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
