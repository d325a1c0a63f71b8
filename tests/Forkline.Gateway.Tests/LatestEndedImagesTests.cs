using Forkline.Contracts.Identity;
using Forkline.Gateway.HostTree;

namespace Forkline.Gateway.Tests;

public sealed class LatestEndedImagesTests
{
    private static readonly DateTime Boot = new(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void Each_pid_keeps_its_latest_image_and_past_the_bound_the_oldest_noted_goes_unless_a_later_image_of_its_pid_came_since()
    {
        var memory = new LatestEndedImages(3);
        memory.Note(Image(pid: 10, ktime: 200));
        memory.Note(Image(pid: 10, ktime: 100));
        Assert.True(memory.TryGet(10, out var kept) && kept.Image.StartKtime == 200);

        memory.Note(Image(pid: 20, ktime: 300));
        memory.Note(Image(pid: 10, ktime: 400));
        memory.Note(Image(pid: 30, ktime: 500));

        // The first note of pid 10 left the queue; its later image stays.
        Assert.True(memory.TryGet(10, out var later) && later.Image.StartKtime == 400);
        Assert.True(memory.TryGet(20, out _));
        memory.Note(Image(pid: 40, ktime: 600));
        Assert.False(memory.TryGet(20, out _));
        Assert.Equal(3, memory.Count);

        var rebuilt = new LatestEndedImages(3);
        foreach (var ended in memory.InOrder) rebuilt.Note(ended);
        Assert.Equal(memory.InOrder, rebuilt.InOrder);
    }

    private static EndedImage Image(int pid, ulong ktime) => new(new ExecId("node-a", ktime, pid), Boot.AddTicks((long)ktime));
}
