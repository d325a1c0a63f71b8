namespace Forkline.Gateway.Tests.Support;

public static class AsyncSequences
{
    /// <summary>Named apart from ToListAsync, which both System.Linq.Async (transitive) and the BCL define.</summary>
    public static async Task<List<T>> CollectAsync<T>(this IAsyncEnumerable<T> source)
    {
        var items = new List<T>();
        await foreach (var item in source) items.Add(item);
        return items;
    }
}
