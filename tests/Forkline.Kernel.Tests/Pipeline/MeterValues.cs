using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Forkline.Kernel.Tests.Pipeline;

/// <summary>
/// The meters of one test's pipeline, and what they measure as an exporter sees it: a counter's series summed, a
/// gauge's and an observable instrument's as last measured. A series is read by its instrument's name and label values.
/// </summary>
public sealed class MeterValues : IMeterFactory
{
    private readonly Lock _creating = new();
    private readonly List<Meter> _meters = [];
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, long>> _series = new(StringComparer.Ordinal);

    public MeterValues()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope != this) return;
            _series.TryAdd(instrument.Name, new ConcurrentDictionary<string, long>(StringComparer.Ordinal));
            listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var series = _series[instrument.Name];
            var labels = Labels(tags);
            if (instrument is Counter<long> or UpDownCounter<long>) series.AddOrUpdate(labels, value, (_, sum) => sum + value);
            else series[labels] = value;
        });
        _listener.Start();
    }

    /// <summary>The value of <paramref name="name"/>'s series with <paramref name="labelValues"/> now; 0 if it was never measured.</summary>
    public long Value(string name, params string[] labelValues) => Of(name).GetValueOrDefault(string.Join(',', labelValues));

    /// <summary>The label values (comma-separated) of every series of <paramref name="name"/> measured so far.</summary>
    public SortedSet<string> Series(string name) => new(Of(name).Keys, StringComparer.Ordinal);

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
        lock (_creating) _meters.Add(meter);
        return meter;
    }

    public void Dispose()
    {
        _listener.Dispose();
        lock (_creating)
        {
            foreach (var meter in _meters) meter.Dispose();
            _meters.Clear();
        }
    }

    private ConcurrentDictionary<string, long> Of(string name)
    {
        _listener.RecordObservableInstruments();
        return _series.TryGetValue(name, out var series) ? series : throw new ArgumentException($"no instrument named {name} on these meters", nameof(name));
    }

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var values = new string?[tags.Length];
        for (var i = 0; i < tags.Length; i++) values[i] = tags[i].Value?.ToString();
        return string.Join(',', values);
    }
}
