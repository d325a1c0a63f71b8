using Forkline.Contracts.Collections;

namespace Forkline.Gateway.Tests;

public sealed class SparseCapacityTests
{
    [Fact]
    public void A_map_that_emptied_after_a_burst_gives_its_room_back()
    {
        var map = new Dictionary<int, int>();
        for (var i = 0; i < 20_000; i++) map[i] = i;
        var burst = map.Capacity;

        for (var i = 0; i < 19_900; i++)
        {
            map.Remove(i);
            map.TrimWhenSparse();
        }

        Assert.True(burst >= 20_000, $"the burst's room: {burst}");
        Assert.InRange(map.Capacity, 100, SparseCapacity.Floor * 2);
        for (var i = 19_900; i < 20_000; i++) Assert.Equal(i, map[i]);
    }

    [Fact]
    public void A_set_more_than_a_quarter_full_keeps_its_room()
    {
        var set = new HashSet<int>();
        for (var i = 0; i < 20_000; i++) set.Add(i);
        var room = set.Capacity;

        for (var i = 0; i < 10_000; i++)
        {
            set.Remove(i);
            set.TrimWhenSparse();
        }

        Assert.Equal(room, set.Capacity);
        Assert.Equal(10_000, set.Count);
    }

    [Fact]
    public void A_small_map_is_left_alone()
    {
        var map = new Dictionary<int, int>();
        for (var i = 0; i < 500; i++) map[i] = i;
        var room = map.Capacity;

        for (var i = 0; i < 499; i++)
        {
            map.Remove(i);
            map.TrimWhenSparse();
        }

        Assert.Equal(room, map.Capacity);
    }
}
