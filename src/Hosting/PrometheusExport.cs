using System.Diagnostics.Metrics;
using Prometheus;

namespace Forkline.Hosting;

/// <summary>
/// A node's metrics as the node's libraries make them and as Prometheus reads them. Each library creates its
/// instruments (System.Diagnostics.Metrics) on its own meter, made by <see cref="Meters"/>; this export copies
/// what they measure into <see cref="Registry"/> (served on /metrics) under the instrument's name, with its
/// description as help and its tags as labels: counters stay counters, observable counters are counters set to
/// the observed total, gauges, up-down counters and observable gauges are gauges.
/// <para>
/// Only meters made by <see cref="Meters"/> are this node's: several nodes in one process (tests) each export their own.
/// A series appears at its first measurement, so a library records 0 for the series it shows from the start.
/// Once a series exists, a measurement allocates nothing and takes no lock (the series of an instrument are an
/// array, replaced under a lock only when a new combination of label values first appears). An observable
/// gauge shows, after each observation, the series its callback reported, and no others.
/// </para>
/// </summary>
public sealed class PrometheusExport : IDisposable
{
    static PrometheusExport()
    {
        // prometheus-net's own adapter publishes every meter of the process into its default registry, as gauges
        // named after the meter and the instrument; a node's meters are exported by the node, under their own names.
        Prometheus.Metrics.ConfigureMeterAdapter(adapter =>
            adapter.InstrumentFilterPredicate = instrument => instrument.Meter.Scope is not NodeMeterFactory);
    }

    private readonly NodeMeterFactory _meters = new();
    private readonly MeterListener _listener = new();
    private readonly IMetricFactory _prometheus;
    private readonly Lock _publishing = new();
    private readonly Lock _observing = new();
    private ExportedInstrument[] _instruments = [];

    public PrometheusExport(CollectorRegistry registry)
    {
        Registry = registry;
        _prometheus = Prometheus.Metrics.WithCustomRegistry(registry);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope != _meters) return;
            var exported = new ExportedInstrument(instrument, _prometheus);
            lock (_publishing) Volatile.Write(ref _instruments, [.. _instruments, exported]);
            listener.EnableMeasurementEvents(instrument, exported);
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((ExportedInstrument)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((ExportedInstrument)state!).Record(value, tags));
        _listener.Start();
        registry.AddBeforeCollectCallback(Observe);
    }

    /// <summary>What the node's libraries create their meters with.</summary>
    public IMeterFactory Meters => _meters;

    public CollectorRegistry Registry { get; }

    /// <summary>
    /// The value /metrics shows for <paramref name="name"/> with <paramref name="labelValues"/> (in the order of the
    /// instrument's tags); 0 for a series not measured yet.
    /// </summary>
    public double Value(string name, params string[] labelValues)
    {
        Observe();
        var named = false;
        // Two libraries may count under one name (forkline_exits_concluded_total): one metric, whichever measured the series.
        foreach (var instrument in Volatile.Read(ref _instruments))
        {
            if (instrument.Name != name) continue;
            named = true;
            if (instrument.Value(labelValues) is { } value) return value;
        }
        return named ? 0 : throw new ArgumentException($"no instrument named {name} on this node's meters", nameof(name));
    }

    /// <summary>Writes <see cref="Registry"/> as Prometheus text (a scrape: the observable instruments are asked first).</summary>
    public Task WriteAsync(Stream destination, CancellationToken ct) => Registry.CollectAndExportAsTextAsync(destination, ct);

    /// <summary>Serves <see cref="Registry"/> as Prometheus text on http://hostname:port/metrics until disposed (a node without the API's /metrics).</summary>
    public IMetricServer StartServer(int port, string hostname = "localhost")
    {
        if (port is < 0 or > 65535)
            throw new ArgumentOutOfRangeException(nameof(port), port, "metrics port must be 0..65535");
        return new MetricServer(hostname, port, "metrics/", Registry).Start();
    }

    /// <summary>Asks the observable instruments for their values: before every scrape, one scrape at a time.</summary>
    private void Observe()
    {
        lock (_observing)
        {
            var instruments = Volatile.Read(ref _instruments);
            foreach (var instrument in instruments) instrument.BeginObservation();
            _listener.RecordObservableInstruments();
            foreach (var instrument in instruments) instrument.EndObservation();
        }
    }

    public void Dispose()
    {
        _listener.Dispose();
        _meters.Dispose();
    }

    /// <summary>One instrument's Prometheus metric and its series.</summary>
    private sealed class ExportedInstrument(Instrument instrument, IMetricFactory prometheus)
    {
        private readonly Lock _adding = new();
        private readonly Kind _kind = KindOf(instrument);
        private Series[] _series = [];
        private Collector? _metric;
        private string[] _labelNames = [];

        private enum Kind { Counter, ObservedCounter, UpDownCounter, Gauge, ObservedGauge }

        public string Name => instrument.Name;

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var series = Find(tags) ?? Add(tags);
            switch (_kind)
            {
                case Kind.Counter: series.Counter!.Inc(value); break;
                case Kind.ObservedCounter: series.Counter!.IncTo(value); break;
                case Kind.UpDownCounter: series.Gauge!.Inc(value); break;
                case Kind.Gauge: series.Gauge!.Set(value); break;
                case Kind.ObservedGauge: series.Gauge!.Set(value); series.Observed = true; break;
            }
        }

        /// <summary>The value of the series with <paramref name="labelValues"/>; null when it has not been measured.</summary>
        public double? Value(string[] labelValues)
        {
            foreach (var series in Volatile.Read(ref _series))
                if (series.LabelValues.AsSpan().SequenceEqual(labelValues)) return series.Counter?.Value ?? series.Gauge!.Value;
            return null;
        }

        public void BeginObservation()
        {
            if (_kind != Kind.ObservedGauge) return;
            foreach (var series in Volatile.Read(ref _series)) series.Observed = false;
        }

        /// <summary>An observable gauge's series its callback no longer reported are gone (a host whose entity moved).</summary>
        public void EndObservation()
        {
            if (_kind != Kind.ObservedGauge || _metric is not Gauge gauge) return;
            lock (_adding)
            {
                var kept = new List<Series>(_series.Length);
                foreach (var series in _series)
                {
                    if (series.Observed || series.LabelValues.Length == 0) kept.Add(series);
                    else gauge.RemoveLabelled(series.LabelValues);
                }
                if (kept.Count != _series.Length) Volatile.Write(ref _series, [.. kept]);
            }
        }

        private Series? Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var series in Volatile.Read(ref _series))
                if (Matches(series, tags)) return series;
            return null;
        }

        private bool Matches(Series series, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var values = series.LabelValues;
            if (values.Length != tags.Length) return false;
            for (var i = 0; i < values.Length; i++)
            {
                if (tags[i].Value is not string value || !(ReferenceEquals(value, values[i]) || value == values[i])) return false;
                if (!(ReferenceEquals(tags[i].Key, _labelNames[i]) || tags[i].Key == _labelNames[i])) return false;
            }
            return true;
        }

        private Series Add(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            lock (_adding)
            {
                if (Find(tags) is { } raced) return raced;
                var names = new string[tags.Length];
                var values = new string[tags.Length];
                for (var i = 0; i < tags.Length; i++)
                {
                    names[i] = tags[i].Key;
                    values[i] = tags[i].Value as string
                        ?? throw new ArgumentException($"{instrument.Name}: the tag {tags[i].Key} is not a string ({tags[i].Value?.GetType().Name ?? "null"}); labels are strings");
                }
                _metric ??= Create(names);
                if (!names.AsSpan().SequenceEqual(_labelNames))
                    throw new ArgumentException($"{instrument.Name}: tags ({string.Join(", ", names)}) are not its labels ({string.Join(", ", _labelNames)}), in that order");
                var series = _metric switch
                {
                    Counter counter => new Series(values, names.Length == 0 ? counter : counter.WithLabels(values), null),
                    Gauge gauge => new Series(values, null, names.Length == 0 ? gauge : gauge.WithLabels(values)),
                    _ => throw new InvalidOperationException($"{instrument.Name}: neither a counter nor a gauge"),
                };
                Volatile.Write(ref _series, [.. _series, series]);
                return series;
            }
        }

        private Collector Create(string[] labelNames)
        {
            _labelNames = labelNames;
            var help = instrument.Description ?? "";
            return _kind is Kind.Counter or Kind.ObservedCounter
                ? prometheus.CreateCounter(instrument.Name, help, new CounterConfiguration { LabelNames = labelNames })
                : prometheus.CreateGauge(instrument.Name, help, new GaugeConfiguration { LabelNames = labelNames });
        }

        private static Kind KindOf(Instrument instrument) => instrument switch
        {
            Counter<long> or Counter<double> => Kind.Counter,
            ObservableCounter<long> or ObservableCounter<double> => Kind.ObservedCounter,
            UpDownCounter<long> or UpDownCounter<double> => Kind.UpDownCounter,
            Gauge<long> or Gauge<double> => Kind.Gauge,
            ObservableGauge<long> or ObservableGauge<double> or ObservableUpDownCounter<long> or ObservableUpDownCounter<double> => Kind.ObservedGauge,
            _ => throw new ArgumentException($"{instrument.Name}: a {instrument.GetType().Name} is not exported (long or double counters, gauges and up-down counters are)"),
        };
    }

    /// <summary>One combination of label values: its counter or gauge child.</summary>
    private sealed class Series(string[] labelValues, ICounter? counter, IGauge? gauge)
    {
        public string[] LabelValues { get; } = labelValues;
        public ICounter? Counter { get; } = counter;
        public IGauge? Gauge { get; } = gauge;

        /// <summary>Reported by the latest observation (observable gauges).</summary>
        public bool Observed { get; set; }
    }

    /// <summary>The meters of one node: created with this factory as their scope, which is how the export tells them apart.</summary>
    private sealed class NodeMeterFactory : IMeterFactory
    {
        private readonly Lock _creating = new();
        private readonly List<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
            lock (_creating) _meters.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            lock (_creating)
            {
                foreach (var meter in _meters) meter.Dispose();
                _meters.Clear();
            }
        }
    }
}
