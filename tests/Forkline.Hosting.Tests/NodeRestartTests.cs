using Forkline.Hosting;

namespace Forkline.Hosting.Tests;

/// <summary>What each command starts with: a node the variables it needs before its runtime starts, a client command nothing.</summary>
public sealed class NodeRestartTests
{
    [Theory]
    [InlineData("run")]
    [InlineData("collector")]
    [InlineData("collector-node")]
    public void A_host_agent_starts_with_the_arena_limit_and_without_tiered_compilation(string command) =>
        Assert.Equal([(NativeHeap.ArenaMaxVariable, "2"), (NodeRestart.TieredCompilationVariable, "0")], NodeRestart.VariablesFor(command, glibc: true));

    [Fact]
    public void A_gateway_keeps_tiered_compilation_and_limits_the_arenas() =>
        Assert.Equal([(NativeHeap.ArenaMaxVariable, "2")], NodeRestart.VariablesFor("gateway", glibc: true));

    [Fact]
    public void Without_glibc_there_is_no_arena_limit_to_set() =>
        Assert.Equal([(NodeRestart.TieredCompilationVariable, "0")], NodeRestart.VariablesFor("run", glibc: false));

    [Theory]
    [InlineData("ps")]
    [InlineData("replay")]
    [InlineData("--help")]
    public void A_client_command_starts_as_it_is(string command) =>
        Assert.Empty(NodeRestart.VariablesFor(command, glibc: true));
}
