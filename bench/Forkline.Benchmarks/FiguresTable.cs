using System.Globalization;

namespace Forkline.Benchmarks;

/// <summary>
/// The compact summary a figures run ends with: figure, value, target, met?. Each figure is also
/// printed when it is added, so a run that fails later still shows what it measured.
/// </summary>
public sealed class FiguresTable(TextWriter output)
{
    private readonly List<(string Figure, string Value, string Target, string Met)> _rows = [];

    /// <param name="hasTarget">False for a figure printed for context only (its row shows no target).</param>
    /// <param name="orEqual">A lower-is-better target is met at the target itself too (at most); without it, only below.</param>
    public void Add(string figure, double value, string unit, double target, bool higherIsBetter, bool hasTarget = true, bool orEqual = false)
    {
        var format = value >= 100 ? "N0" : "N2";
        var shown = value.ToString(format, CultureInfo.InvariantCulture) + " " + unit;
        output.WriteLine($"{figure}: {shown}");
        if (!hasTarget)
        {
            _rows.Add((figure, shown, "-", "-"));
            return;
        }
        var met = higherIsBetter ? value >= target : orEqual ? value <= target : value < target;
        // Whole targets print as before ("< 5 ms"); fractional ones keep their digits ("<= 0.5 x").
        var targetFormat = target == Math.Floor(target) ? "N0" : "0.###";
        var wanted = (higherIsBetter ? ">= " : orEqual ? "<= " : "< ") + target.ToString(targetFormat, CultureInfo.InvariantCulture) + " " + unit;
        _rows.Add((figure, shown, wanted, met ? "yes" : "NO"));
    }

    public void Print()
    {
        var header = (Figure: "figure", Value: "value", Target: "target", Met: "met?");
        var figureWidth = Math.Max(header.Figure.Length, _rows.Max(r => r.Figure.Length));
        var valueWidth = Math.Max(header.Value.Length, _rows.Max(r => r.Value.Length));
        var targetWidth = Math.Max(header.Target.Length, _rows.Max(r => r.Target.Length));
        output.WriteLine($"{header.Figure.PadRight(figureWidth)}  {header.Value.PadLeft(valueWidth)}  {header.Target.PadLeft(targetWidth)}  {header.Met}");
        foreach (var row in _rows)
            output.WriteLine($"{row.Figure.PadRight(figureWidth)}  {row.Value.PadLeft(valueWidth)}  {row.Target.PadLeft(targetWidth)}  {row.Met}");
    }
}
