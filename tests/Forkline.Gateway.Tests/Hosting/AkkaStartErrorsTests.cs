using Forkline.Hosting;
using Forkline.Testing;
using Microsoft.Extensions.Logging;

namespace Forkline.Gateway.Tests.Hosting;

/// <summary>Akka's errors while a node starts wait for the start to end: written out if it started, dropped if its one line reports a failure.</summary>
public sealed class AkkaStartErrorsTests
{
    private readonly CapturingLogger _written = new();

    [Fact]
    public void Errors_while_starting_are_written_once_the_start_ended_and_later_ones_at_once()
    {
        var errors = new AkkaStartErrors(_written);
        var remoting = errors.CreateLogger("remoting (akka://forkline)");

        remoting.LogError("while starting");
        remoting.LogWarning("a warning while starting");
        Assert.Equal(["a warning while starting"], _written);

        errors.Release();
        remoting.LogError("after the start");

        Assert.Equal(["a warning while starting", "while starting", "after the start"], _written);
    }

    [Fact]
    public void Errors_of_a_failed_start_and_of_the_stop_after_it_are_dropped_and_other_levels_written()
    {
        var errors = new AkkaStartErrors(_written);
        var transport = errors.CreateLogger("Akka.Remote.Transport.DotNetty.TcpTransport");

        transport.LogError(new InvalidOperationException("Cannot assign requested address"), "Failed to bind to 192.0.2.1:0");
        errors.Drop();
        transport.LogError("Remoting system has been terminated abruptly");
        transport.LogInformation("Remoting shut down");

        Assert.Equal(["Remoting shut down"], _written);
    }
}
