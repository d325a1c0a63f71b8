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

    [Fact]
    public void A_list_cleared_after_a_burst_gives_its_room_back_and_a_fuller_one_keeps_it()
    {
        var list = new List<int>();
        for (var i = 0; i < 20_000; i++) list.Add(i);
        var burst = list.Capacity;
        var kept = new List<int>(list[..6_000]);
        var room = kept.Capacity;

        list.Clear();
        list.TrimWhenSparse();
        kept.TrimWhenSparse();

        Assert.Equal(SparseCapacity.Floor, list.Capacity);
        Assert.True(burst > SparseCapacity.Floor);
        Assert.Equal(room, kept.Capacity);
    }

    [Fact]
    public void A_queue_that_drained_after_a_burst_gives_its_room_back_and_keeps_its_order()
    {
        var queue = new Queue<int>();
        for (var i = 0; i < 20_000; i++) queue.Enqueue(i);
        var burst = queue.Capacity;

        for (var i = 0; i < 19_900; i++)
        {
            Assert.Equal(i, queue.Dequeue());
            queue.TrimWhenSparse();
        }

        Assert.True(burst >= 20_000, $"the burst's room: {burst}");
        Assert.InRange(queue.Capacity, 100, SparseCapacity.Floor * 2);
        for (var i = 19_900; i < 20_000; i++) Assert.Equal(i, queue.Dequeue());
    }

    [Fact]
    public void A_priority_queue_that_drained_after_a_burst_gives_its_room_back_and_keeps_its_order()
    {
        var queue = new PriorityQueue<int, long>();
        for (var i = 20_000; i > 0; i--) queue.Enqueue(i, i);
        var burst = queue.Capacity;

        for (var i = 1; i <= 19_900; i++)
        {
            Assert.Equal(i, queue.Dequeue());
            queue.TrimWhenSparse();
        }

        Assert.True(burst >= 20_000, $"the burst's room: {burst}");
        Assert.InRange(queue.Capacity, 100, SparseCapacity.Floor * 2);
        for (var i = 19_901; i <= 20_000; i++) Assert.Equal(i, queue.Dequeue());
    }
}
