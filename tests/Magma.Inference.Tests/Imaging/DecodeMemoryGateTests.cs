using Magma.Inference.Imaging;

namespace Magma.Inference.Tests.Imaging;

public sealed class DecodeMemoryGateTests
{
    [Fact]
    public void Decodes_wait_while_the_ones_in_flight_hold_the_capacity()
    {
        var gate = new DecodeMemoryGate(100);
        Assert.True(gate.TryEnter(60, out DecodeMemoryGate.Lease first));
        Assert.False(gate.TryEnter(60, out _));
        Assert.True(gate.TryEnter(40, out DecodeMemoryGate.Lease second));
        Assert.Equal(100, gate.InUse);
        first.Dispose();
        first.Dispose(); // once only
        Assert.Equal(40, gate.InUse);
        Assert.True(gate.TryEnter(60, out DecodeMemoryGate.Lease third));
        second.Dispose();
        third.Dispose();
        Assert.Equal(0, gate.InUse);
    }

    [Fact]
    public void A_decode_larger_than_the_capacity_runs_alone()
    {
        var gate = new DecodeMemoryGate(100);
        Assert.True(gate.TryEnter(250, out DecodeMemoryGate.Lease big));
        Assert.False(gate.TryEnter(1, out _));
        big.Dispose();
        using DecodeMemoryGate.Lease next = gate.Enter(10);
        Assert.Equal(10, gate.InUse);
    }

    [Fact]
    public async Task A_waiting_decode_proceeds_when_memory_is_released()
    {
        var gate = new DecodeMemoryGate(100);
        DecodeMemoryGate.Lease first = gate.Enter(80);
        Task<long> waiting = Task.Run(() =>
        {
            using DecodeMemoryGate.Lease l = gate.Enter(80);
            return gate.InUse;
        });
        first.Dispose();
        Assert.Equal(80, await waiting);
        Assert.Equal(0, gate.InUse);
    }
}
