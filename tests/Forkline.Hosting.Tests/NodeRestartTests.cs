using Forkline.Hosting;

namespace Forkline.Hosting.Tests;

/// <summary>What each command starts with: a node the variables it needs before its runtime starts, a client command nothing.</summary>
public sealed class NodeRestartTests
{
    [Theory]
    [InlineData("run")]
    [InlineData("collector")]
    [InlineData("collector-node")]
    [InlineData("gateway")]
    public void A_node_starts_with_the_arena_limit_and_its_tiered_compilation_settings(string command) =>
        Assert.Equal([(NativeHeap.ArenaMaxVariable, "2"), (NodeRestart.CallCountThresholdVariable, "300"), (NodeRestart.CallCountingDelayVariable, "0")],
            NodeRestart.VariablesFor(command, glibc: true));

    [Fact]
    public void Without_glibc_there_is_no_arena_limit_to_set() =>
        Assert.Equal([(NodeRestart.CallCountThresholdVariable, "300"), (NodeRestart.CallCountingDelayVariable, "0")], NodeRestart.VariablesFor("run", glibc: false));

    [Theory]
    [InlineData("ps")]
    [InlineData("replay")]
    [InlineData("--help")]
    public void A_client_command_starts_as_it_is(string command) =>
        Assert.Empty(NodeRestart.VariablesFor(command, glibc: true));
}
