using System.CommandLine;
using Forkline.Export;
using Forkline.Gateway.Api;
using Grpc.Core;

namespace Forkline.Client;

/// <summary>
/// What every gateway command shares: the --gateway and --json options, and one way to fail:
/// a single line on stderr and exit code 1 (gateway or transport failure), 2 (bad input) or
/// 3 (no such process).
/// </summary>
public static class GatewayCommand
{
    public const int Failed = 1;
    public const int BadInput = 2;
    public const int NotFound = 3;

    public static Option<string> GatewayOption() => new("--gateway")
    {
        Description = $"The gateway's gRPC address (default: ${GatewayClient.AddressVariable}, else {GatewayClient.DefaultAddress})",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(GatewayClient.AddressVariable) is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : GatewayClient.DefaultAddress,
    };

    public static Option<string?> ContainerOption(string what) => new("--container") { Description = $"Only {what} in this container (its id, or a prefix such as docker ps's 12 digits)" };

    public static Option<string?> PodOption(string what) => new("--pod") { Description = $"Only {what} in the Kubernetes pod of this name (as the node's API server described it)" };

    public static Option<string?> PodNamespaceOption(string what) => new("--namespace") { Description = $"Only {what} in pods of this Kubernetes namespace" };

    public static Option<bool> ClonesOption() => new("--clones") { Description = "Also forks that have not exec'd (process_clone, Forkline's extension of Tetragon's events)" };

    public static Option<bool> JsonOption(string output) => new("--json") { Description = $"Print {output} instead of the human view" };

    /// <summary>The --host option; defaults to this machine, which is the node name a local collector reports.</summary>
    public static Option<string> HostOption() => new("--host")
    {
        Description = "The host (collector node name) to ask about (default: this machine's name)",
        DefaultValueFactory = _ => Environment.MachineName,
    };

    public static Option<string?> TimeOption(string name, string meaning) => new(name) { Description = $"{meaning}: {ApiTime.Forms}" };

    /// <summary>A time option's value; null when not given. A value that is not a time is bad input.</summary>
    public static DateTime? TimeOf(ParseResult parse, Option<string?> option) =>
        ApiInput.Time(parse.GetValue(option), option.Name, DateTime.UtcNow);

    /// <summary>Runs <paramref name="action"/> against the gateway and turns every failure into one line and an exit code.</summary>
    public static async Task<int> RunAsync(
        string command, string gatewayAddress, CancellationToken ct, Func<GatewayClient, CancellationToken, Task> action)
    {
        try
        {
            using var gateway = GatewayClient.Connect(gatewayAddress);
            await action(gateway, ct);
            return 0;
        }
        catch (ApiRequestException error)
        {
            return Fail(command, error.Message, BadInput);
        }
        catch (RpcException error) when (ct.IsCancellationRequested && error.StatusCode == StatusCode.Cancelled)
        {
            return 0;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return 0;
        }
        catch (RpcException error)
        {
            var (message, exitCode) = Describe(error, gatewayAddress);
            return Fail(command, message, exitCode);
        }
    }

    private static (string Message, int ExitCode) Describe(RpcException error, string gateway)
    {
        // A DebugException means the call never reached the API: the failure is in the connection.
        if (error.Status.DebugException is { } transport)
            return ($"gateway at {gateway} is not reachable: {Innermost(transport).Message} — start `forkline run` or pass --gateway " +
                    $"(the gRPC port, {GatewayClient.DefaultAddress} by default)", Failed);
        return error.StatusCode switch
        {
            StatusCode.InvalidArgument => (error.Status.Detail, BadInput),
            StatusCode.NotFound => (error.Status.Detail, NotFound),
            StatusCode.DeadlineExceeded => ($"gateway at {gateway} did not answer within {GatewayClient.QueryTimeout.TotalSeconds:0} s", Failed),
            StatusCode.Unimplemented => ($"gateway at {gateway} does not serve this Forkline API call ({error.Status.Detail}): is it a gateway of the same version?", Failed),
            _ => ($"gateway at {gateway} answered {error.StatusCode}: {error.Status.Detail}", Failed),
        };
    }

    private static Exception Innermost(Exception error)
    {
        while (error.InnerException is not null) error = error.InnerException;
        return error;
    }

    private static int Fail(string command, string message, int exitCode)
    {
        // The message can echo what a client or a traced process chose (a host, a pattern, an exec_id).
        Console.Error.WriteLine($"forkline {command}: {TerminalText.Escape(message)}");
        return exitCode;
    }
}
