using Forkline.Client;
using Grpc.Core;

namespace Forkline.Configuration.Tests;

/// <summary>Swaps Console.Error: nothing else may run meanwhile and write there.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleErrorCollection
{
    public const string Name = "Console.Error";
}

/// <summary>A gateway command's error line echoes what a client or a traced process chose: it stays one escaped line.</summary>
[Collection(ConsoleErrorCollection.Name)]
public sealed class HostileErrorLineTests
{
    [Fact]
    public async Task A_refusal_that_echoes_hostile_text_is_one_escaped_line_on_stderr()
    {
        var errors = new StringWriter { NewLine = "\n" };
        var before = Console.Error;
        int exitCode;
        Console.SetError(errors);
        try
        {
            exitCode = await GatewayCommand.RunAsync("ps", GatewayClient.DefaultAddress, CancellationToken.None, (_, _) =>
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"binary regex '{HostileTextViewTests.HostileText}' is not usable")));
        }
        finally
        {
            Console.SetError(before);
        }

        Assert.Equal(GatewayCommand.BadInput, exitCode);
        Assert.Equal($"forkline ps: binary regex '{HostileTextViewTests.HostileTextEscaped}' is not usable\n", errors.ToString());
    }
}
