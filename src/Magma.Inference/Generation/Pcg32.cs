namespace Magma.Inference.Generation;

/// <summary>
/// PCG-XSH-RR 32-bit generator (O'Neill 2014). A fixed, documented algorithm so a seed reproduces the same
/// samples on every runtime version, which System.Random does not promise.
/// </summary>
internal struct Pcg32
{
    private const ulong Multiplier = 6364136223846793005UL;
    private const ulong Increment = 1442695040888963407UL;
    private ulong _state;

    public Pcg32(ulong seed)
    {
        _state = 0;
        NextUInt();
        _state += seed;
        NextUInt();
    }

    public uint NextUInt()
    {
        ulong old = _state;
        _state = unchecked((old * Multiplier) + Increment);
        uint xorShifted = (uint)(((old >> 18) ^ old) >> 27);
        int rot = (int)(old >> 59);
        return (xorShifted >> rot) | (xorShifted << ((-rot) & 31));
    }

    /// <summary>Uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble()
    {
        ulong bits = ((ulong)NextUInt() << 21) ^ NextUInt();
        return (bits & ((1UL << 53) - 1)) * (1.0 / (1UL << 53));
    }
}
