using Forkline.Collector.Decoding;
using Forkline.Collector.Native;

namespace Forkline.Collector.Bpf;

/// <summary>Sums one per-CPU counter map indexed by record kind (fl_produced, fl_lost) over every CPU.</summary>
internal sealed class KindCounterReader
{
    private readonly BpfMap _map;
    private readonly ulong[] _perCpu;
    private readonly ulong[] _perKind = new ulong[(int)FlKind.Max];

    public KindCounterReader(BpfMap map)
    {
        var cpus = LibBpf.NumPossibleCpus();
        if (cpus <= 0)
            throw new BpfException($"libbpf_num_possible_cpus failed: {Errno.Describe(cpus)} — mount sysfs (/sys/devices/system/cpu/possible)", cpus);
        _map = map;
        _perCpu = new ulong[cpus];
    }

    /// <summary>Current totals; the span is reused by the next call.</summary>
    public ReadOnlySpan<ulong> Read()
    {
        for (uint kind = 0; kind < _perKind.Length; kind++)
        {
            _map.Lookup(kind, _perCpu.AsSpan());
            ulong total = 0;
            foreach (var count in _perCpu) total += count;
            _perKind[kind] = total;
        }
        return _perKind;
    }
}
