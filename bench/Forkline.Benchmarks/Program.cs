using BenchmarkDotNet.Running;

namespace Forkline.Benchmarks;

/// <summary>
/// `figures [name...]`: the quick measurements (every IQuickFigures in this assembly, or those named);
/// anything else goes to BenchmarkDotNet, e.g. `--filter *ProcessActors*`.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["figures", .. var names]) return await RunFigures(names);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }

    private static async Task<int> RunFigures(string[] names)
    {
        var all = typeof(Program).Assembly.GetTypes()
            .Where(type => typeof(IQuickFigures).IsAssignableFrom(type) && type is { IsAbstract: false, IsInterface: false })
            .Select(type => (IQuickFigures)Activator.CreateInstance(type)!)
            .ToList();
        var selected = names.Length == 0 ? all : all.Where(figures => names.Contains(figures.Name, StringComparer.OrdinalIgnoreCase)).ToList();
        if (selected.Count == 0)
        {
            Console.Error.WriteLine($"no figures named {string.Join(", ", names)}; known: {string.Join(", ", all.Select(f => f.Name))}");
            return 2;
        }
        foreach (var figures in selected) await figures.RunAsync(Console.Out);
        return 0;
    }
}

/// <summary>A quick measurement that prints its figures (for `figures NAME`); found by reflection.</summary>
public interface IQuickFigures
{
    string Name { get; }

    Task RunAsync(TextWriter output);
}
