using Forkline.Gateway.HostTree;

namespace Forkline.Gateway.Tests;

public sealed class RecentSetTests
{
    [Fact]
    public void Adding_past_the_bound_forgets_the_oldest_and_only_it()
    {
        var recent = new RecentSet<int>(3);
        foreach (var item in new[] { 1, 2, 3, 4 }) Assert.True(recent.Add(item));

        Assert.False(recent.Contains(1));
        Assert.Equal([2, 3, 4], recent.InOrder);
        Assert.Equal(3, recent.Count);
        Assert.False(recent.Add(3));
        Assert.Equal([2, 3, 4], recent.InOrder);
    }
}
